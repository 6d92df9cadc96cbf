package sqlrows

import "trivialtickets/core"

// TicketColumns are the columns that a new ticket is written with, in the
// order of the values CreateTicket gives.
const TicketColumns = `id, subject, customer, customer_name, status, assignee, merged_into,
	root_message_id, last_message_id, created_at, updated_at, mailbox`

// TicketListColumns are TicketColumns and the workspace's columns (which
// the triggers of migration 0007 keep) of tickets t: every read of a
// ticket selects them, and TicketRow scans them.
const TicketListColumns = `t.id, t.subject, t.customer, t.customer_name, t.status, t.assignee, t.merged_into,
	t.root_message_id, t.last_message_id, t.created_at, t.updated_at,
	t.activity_at, t.customer_at, t.replied_at, t.seen_at, t.mailbox`

// TicketRow holds the scan targets of TicketListColumns.
type TicketRow struct {
	t                    core.Ticket
	status               string
	assignee             *string // NULL: unassigned
	createdAt, updatedAt int64
	activityAt           int64
	customerAt           int64
	repliedAt            int64
	seenAt               int64
}

// Dest returns the scan targets, in the order of TicketListColumns.
func (s *TicketRow) Dest() []any {
	return []any{&s.t.ID, &s.t.Subject, &s.t.Customer, &s.t.CustomerName, &s.status, &s.assignee,
		&s.t.MergedInto, &s.t.RootMessageID, &s.t.LastMessageID, &s.createdAt, &s.updatedAt,
		&s.activityAt, &s.customerAt, &s.repliedAt, &s.seenAt, &s.t.Mailbox}
}

// Ticket returns the ticket scanned.
func (s *TicketRow) Ticket() core.Ticket {
	t := s.t
	t.Status = core.Status(s.status)
	if s.assignee != nil {
		t.Assignee = *s.assignee
	}
	t.CreatedAt = FromNanos(s.createdAt)
	t.UpdatedAt = FromNanos(s.updatedAt)
	t.ActivityAt = FromNanos(s.activityAt)
	t.CustomerAt = FromNanos(s.customerAt)
	t.RepliedAt = FromNanos(s.repliedAt)
	t.SeenAt = FromNanos(s.seenAt)
	return t
}

// ScanTicket scans a row of TicketListColumns.
func ScanTicket(scan Scan) (core.Ticket, error) {
	var s TicketRow
	return scanInto(scan, s.Dest(), s.Ticket)
}
