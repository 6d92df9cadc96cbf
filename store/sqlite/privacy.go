package sqlite

import (
	"context"
	"fmt"
	"time"

	"trivialtickets/core"
)

// Retention and a customer's data. Every delete is a plain row delete per
// table (children first), never a cascade alone, so that whatever follows
// the rows of a table follows these deletes too.

func (t *tx) ExpiredTickets(ctx context.Context, closedBefore time.Time, limit int) ([]string, error) {
	const what = "expired tickets"
	cutoff := nanos(closedBefore)
	rows, err := t.query(ctx, what, `SELECT t.id FROM tickets t
		WHERE t.status = 'closed' AND t.updated_at < ?
		AND NOT EXISTS (SELECT 1 FROM tickets m WHERE m.id = t.merged_into
			AND NOT (m.status = 'closed' AND m.updated_at < ?))
		ORDER BY t.updated_at, t.id LIMIT ?`, cutoff, cutoff, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ids, nil
}

func (t *tx) DeleteTickets(ctx context.Context, ids []string) (core.Deleted, error) {
	var d core.Deleted
	for _, id := range ids {
		err := t.deleteSteps(ctx, "delete ticket "+id, id, []deleteStep{
			{&d.Attachments, `DELETE FROM attachments WHERE entry_id IN (SELECT id FROM entries WHERE ticket_id = ?)`},
			{&d.Entries, `DELETE FROM entries WHERE ticket_id = ?`},
			{&d.MessageIDs, `DELETE FROM message_ids WHERE ticket_id = ?`},
			{&d.Mails, `DELETE FROM outbox WHERE ticket_id = ?`},
			{&d.Tickets, `DELETE FROM tickets WHERE id = ?`},
		})
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

// deleteStep is one DELETE statement and the counter of its rows.
type deleteStep struct {
	n     *int
	query string
}

// deleteSteps runs each delete with arg and adds the rows it deleted to
// its counter.
func (t *tx) deleteSteps(ctx context.Context, what string, arg any, steps []deleteStep) error {
	for _, s := range steps {
		n, err := t.exec(ctx, what, s.query, arg)
		if err != nil {
			return err
		}
		*s.n += int(n)
	}
	return nil
}

func (t *tx) CustomerTickets(ctx context.Context, addr string) ([]core.Ticket, error) {
	what := "tickets of " + addr
	rows, err := t.query(ctx, what, `SELECT `+ticketListColumns+` FROM tickets t
		WHERE lower(customer) = lower(?) ORDER BY created_at, id`, addr)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []core.Ticket
	for rows.Next() {
		var s ticketScan
		if err := rows.Scan(s.dest()...); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		ts = append(ts, s.ticket())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ts, nil
}

func (t *tx) AuthorEntries(ctx context.Context, addr string) ([]core.Entry, error) {
	what := "entries written by " + addr
	rows, err := t.query(ctx, what, `SELECT `+entryColumns+` FROM entries e
		WHERE e.author_kind = 'customer' AND lower(e.author) = lower(?)
		ORDER BY e.ticket_id, e.created_at, e.id`, addr)
	if err != nil {
		return nil, err
	}
	var es []core.Entry
	for rows.Next() {
		var s entryScan
		if err := rows.Scan(s.dest()...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		es = append(es, s.entry())
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for i := range es {
		as, err := t.entryAttachments(ctx, es[i].ID)
		if err != nil {
			return nil, err
		}
		es[i].Attachments = as
	}
	return es, nil
}

// entryAttachments returns the attachment metadata of one entry.
func (t *tx) entryAttachments(ctx context.Context, entryID int64) ([]core.Attachment, error) {
	what := fmt.Sprintf("attachments of entry %d", entryID)
	rows, err := t.query(ctx, what, `SELECT id, filename, content_type, size, content_id
		FROM attachments WHERE entry_id = ? ORDER BY id`, entryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []core.Attachment
	for rows.Next() {
		var a core.Attachment
		if err := rows.Scan(&a.ID, &a.Filename, &a.ContentType, &a.Size, &a.ContentID); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return as, nil
}

func (t *tx) DeleteEntries(ctx context.Context, ids []int64) (core.Deleted, error) {
	var d core.Deleted
	for _, id := range ids {
		err := t.deleteSteps(ctx, fmt.Sprintf("delete entry %d", id), id, []deleteStep{
			{&d.Attachments, `DELETE FROM attachments WHERE entry_id = ?`},
			{&d.MessageIDs, `DELETE FROM message_ids WHERE message_id =
				(SELECT message_id FROM entries WHERE id = ? AND message_id <> '')`},
			{&d.Entries, `DELETE FROM entries WHERE id = ?`},
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
