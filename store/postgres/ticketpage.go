package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

var _ core.TicketPageReader = (*tx)(nil)

// entriesSQL returns the queries of a ticket's entries and of their
// attachments (metadata only), both on the ticket id $1.
func entriesSQL(withInternal bool) (entries, attachments string) {
	filter := ""
	if !withInternal {
		filter = ` AND NOT e.internal`
	}
	entries = `SELECT ` + entryColumns + ` FROM entries e
		WHERE e.ticket_id = $1` + filter + ` ORDER BY e.created_at, e.id`
	attachments = `SELECT ` + sqlrows.EntryAttachmentColumns + `
		FROM entries e JOIN attachments a ON a.entry_id = e.id
		WHERE e.ticket_id = $1` + filter + ` ORDER BY a.id`
	return entries, attachments
}

// The reads of a ticket page that depend on the ticket's row find it by
// its id ($1) in a subquery, so that they go in the batch of the ticket's
// own read instead of waiting for its answer; each subquery is one lookup
// in the primary key, and the lists still use tickets_customer_activity.
const (
	pageAssigneeSQL = `SELECT ` + sqlrows.AgentColumns + ` FROM agents
		WHERE username = (SELECT assignee FROM tickets WHERE id = $1)`
	pageSameCustomer = ` AND customer = (SELECT customer FROM tickets WHERE id = $1) AND t.id <> $1`
	pageSameAssignee = ` AND assignee IS NOT DISTINCT FROM (SELECT assignee FROM tickets WHERE id = $1)`
)

// pageListSQL returns a list of a ticket page (core.TicketPageQuery):
// ListTickets' query for q about the customer of ticket $1 (id), and with
// sameAssignee about its assignee too.
func pageListSQL(q core.TicketQuery, id string, sameAssignee bool) (string, []any) {
	q.Customer, q.Exclude, q.Assignee, q.Unassigned = "", "", "", false
	p := params{args: []any{id}}
	where := ticketWhere(q, false, &p) + pageSameCustomer
	if sameAssignee {
		where += pageSameAssignee
	}
	return `SELECT ` + ticketListColumns + ` FROM tickets t` + where + listOrder(q, &p), p.args
}

// TicketPage reads the parts of a ticket page in one batch, with the
// ticket's own read, the viewer's session when asked for (and, as the
// first statement of a transaction, its BEGIN): one round trip where the
// separate calls take one each (core.TicketPageReader).
func (t *tx) TicketPage(ctx context.Context, q core.TicketPageQuery) (core.TicketPage, error) {
	what := "ticket page " + q.ID
	var (
		p        core.TicketPage
		found    bool
		es       []core.Entry
		as       []sqlrows.EntryAttachment
		assignee []core.Agent
	)
	ticket := `SELECT ` + ticketListColumns + `, t.version FROM tickets t WHERE id = $1`
	if t.write {
		ticket += ` FOR UPDATE` // as Ticket in an Update
	}
	id := []any{q.ID}
	reads := []read{{ticket, id, func(rows pgx.Rows) error {
		defer rows.Close()
		var s sqlrows.TicketRow
		if rows.Next() {
			if err := rows.Scan(append(s.Dest(), &p.Version)...); err != nil {
				return err
			}
			p.Ticket, found = s.Ticket(), true
		}
		rows.Close()
		return rows.Err()
	}}}
	entries, attachments := entriesSQL(q.WithInternal)
	reads = append(reads, read{entries, id, collect(&es, scanEntry)},
		read{attachments, id, collect(&as, rowScan(sqlrows.ScanEntryAttachment))})
	if q.Assignee {
		reads = append(reads, read{pageAssigneeSQL, id, collect(&assignee, scanAgent)})
	}
	if q.CustomerTickets.Limit > 0 {
		query, args := pageListSQL(q.CustomerTickets, q.ID, false)
		reads = append(reads, read{query, args, collect(&p.CustomerTickets, scanTicket)})
	}
	if q.MergeCandidates.Limit > 0 {
		query, args := pageListSQL(q.MergeCandidates, q.ID, true)
		reads = append(reads, read{query, args, collect(&p.MergeCandidates, scanTicket)})
	}
	if q.SessionHash != "" {
		reads = append(reads, read{sessionAgentSQL, []any{q.SessionHash}, func(rows pgx.Rows) error {
			defer rows.Close()
			var tr sqlrows.TokenRow
			var ar sqlrows.AgentRow
			if rows.Next() {
				if err := rows.Scan(append(tr.Dest(), ar.Dest()...)...); err != nil {
					return err
				}
				sess, a := tr.Session(), ar.Agent()
				p.Session, p.SessionAgent = &sess, &a
			}
			rows.Close()
			return rows.Err()
		}})
	}
	if err := readBatch(ctx, t, what, reads...); err != nil {
		return core.TicketPage{}, err
	}
	if !found {
		return core.TicketPage{}, fmt.Errorf("ticket %s: %w", q.ID, core.ErrNotFound)
	}
	if !q.Version {
		p.Version = 0
	}
	sqlrows.Attach(es, as)
	p.Entries = es
	if len(assignee) == 1 {
		p.Assignee = &assignee[0]
	}
	return p, nil
}
