package sqlite

import (
	"context"
	"fmt"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// Retention and a customer's data. Every delete is a plain row delete per
// table (children first), never a cascade alone, so that whatever follows
// the rows of a table follows these deletes too.

func (t *tx) ExpiredTickets(ctx context.Context, closedBefore time.Time, limit int) ([]string, error) {
	const what = "expired tickets"
	cutoff := nanos(closedBefore)
	return queryAll(ctx, t, what, sqlrows.ScanValue[string], `SELECT t.id FROM tickets t
		WHERE t.status = 'closed' AND t.updated_at < ?
		AND NOT EXISTS (SELECT 1 FROM tickets m WHERE m.id = t.merged_into
			AND NOT (m.status = 'closed' AND m.updated_at < ?))
		ORDER BY t.updated_at, t.id LIMIT ?`, cutoff, cutoff, limit)
}

func (t *tx) DeleteTickets(ctx context.Context, ids []string) (core.Deleted, error) {
	var d core.Deleted
	for _, id := range ids {
		err := t.deleteSteps(ctx, "delete ticket "+id, id, []deleteStep{
			{N: &d.Attachments, Query: `DELETE FROM attachments WHERE entry_id IN (SELECT id FROM entries WHERE ticket_id = ?)`},
			{N: &d.Entries, Query: `DELETE FROM entries WHERE ticket_id = ?`},
			{N: &d.MessageIDs, Query: `DELETE FROM message_ids WHERE ticket_id = ?`},
			{N: &d.Mails, Query: `DELETE FROM outbox WHERE ticket_id = ?`},
			{N: &d.Tickets, Query: `DELETE FROM tickets WHERE id = ?`},
		})
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

// deleteStep is one DELETE statement and the counter of its rows.
type deleteStep = sqlrows.DeleteStep

// deleteSteps runs each delete with arg and adds the rows it deleted to
// its counter.
func (t *tx) deleteSteps(ctx context.Context, what string, arg any, steps []deleteStep) error {
	return sqlrows.Delete(ctx, t.exec, what, arg, steps)
}

func (t *tx) CustomerTickets(ctx context.Context, addr string) ([]core.Ticket, error) {
	return queryAll(ctx, t, "tickets of "+addr, sqlrows.ScanTicket, `SELECT `+ticketListColumns+` FROM tickets t
		WHERE lower(customer) = lower(?) ORDER BY created_at, id`, addr)
}

func (t *tx) AuthorEntries(ctx context.Context, addr string) ([]core.Entry, error) {
	what := "entries written by " + addr
	es, err := queryAll(ctx, t, what, sqlrows.ScanEntry, `SELECT `+entryColumns+` FROM entries e
		WHERE e.author_kind = 'customer' AND lower(e.author) = lower(?)
		ORDER BY e.ticket_id, e.created_at, e.id`, addr)
	if err != nil {
		return nil, err
	}
	for i := range es {
		es[i].Attachments, err = queryAll(ctx, t, what+": attachments", sqlrows.ScanAttachment,
			`SELECT `+sqlrows.AttachmentColumns+` FROM attachments a WHERE a.entry_id = ? ORDER BY a.id`, es[i].ID)
		if err != nil {
			return nil, err
		}
	}
	return es, nil
}

func (t *tx) DeleteEntries(ctx context.Context, ids []int64) (core.Deleted, error) {
	var d core.Deleted
	for _, id := range ids {
		err := t.deleteSteps(ctx, fmt.Sprintf("delete entry %d", id), id, []deleteStep{
			{N: &d.Attachments, Query: `DELETE FROM attachments WHERE entry_id = ?`},
			{N: &d.MessageIDs, Query: `DELETE FROM message_ids WHERE message_id =
				(SELECT message_id FROM entries WHERE id = ? AND message_id <> '')`},
			{N: &d.Entries, Query: `DELETE FROM entries WHERE id = ?`},
		})
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

func (t *tx) MailsTo(ctx context.Context, addr string) ([]core.OutMail, error) {
	return t.mails(ctx, "mails to "+addr, `SELECT `+mailColumns+` FROM outbox
		WHERE lower(to_addr) = lower(?) ORDER BY id`, addr)
}

func (t *tx) DeleteMailsTo(ctx context.Context, addr string) (int, error) {
	n, err := t.exec(ctx, "delete mails to "+addr, `DELETE FROM outbox WHERE lower(to_addr) = lower(?)`, addr)
	return int(n), err
}

func (t *tx) DeleteLoginThrottlesNaming(ctx context.Context, addr string) (int, error) {
	n, err := t.exec(ctx, "delete login records naming "+addr,
		`DELETE FROM login_throttles WHERE instr(lower(key), lower(?)) > 0`, addr)
	return int(n), err
}

func (t *tx) InboundFrom(ctx context.Context, sender string) ([]core.QueuedInbound, error) {
	return queryAll(ctx, t, "inbound messages of "+sender, sqlrows.ScanInbound, `SELECT `+sqlrows.InboundColumns+`
		FROM inbound_queue WHERE sender = ? ORDER BY id`, sender)
}
