package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
)

// pendingColumns are what a mail service needs of a pending mail queued
// without a listing: GET /api/fetchMails lists tens of thousands at a
// time, so PendingMails leaves out the delivery bookkeeping that scanMail
// reads.
const pendingColumns = `id, created_at, automatic, personal,
	ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to, refs`

// scanPending scans pendingColumns.
func scanPending(row pgx.CollectableRow) (core.OutMail, error) {
	var m core.OutMail
	var createdAt int64
	var refs string
	if err := row.Scan(&m.ID, &createdAt, &m.Automatic, &m.Personal,
		&m.TicketID, &m.From, &m.To, &m.ReplyTo, &m.Subject, &m.Body, &m.MessageID, &m.InReplyTo, &refs); err != nil {
		return core.OutMail{}, err
	}
	if refs != "" {
		m.References = strings.Split(refs, "\n")
	}
	m.State = core.MailPending
	m.CreatedAt = fromNanos(createdAt)
	return m, nil
}

// scanListed scans id, to_addr and listing; a mail without a listing
// comes with its id only.
func scanListed(row pgx.CollectableRow) (core.OutMail, error) {
	m := core.OutMail{State: core.MailPending}
	var listing *string
	if err := row.Scan(&m.ID, &m.To, &listing); err != nil {
		return core.OutMail{}, err
	}
	if listing != nil && *listing != "" {
		m.Listing = *listing
	} else {
		m.To = ""
	}
	return m, nil
}

// PendingMails fills what a mail service needs: of a mail queued with a
// listing, ID, To, Listing and State; of any other, ID, TicketID, From,
// To, ReplyTo, Subject, Body, MessageID, InReplyTo, References, Automatic,
// Personal, State and CreatedAt. The delivery bookkeeping (SentAt,
// Attempts, NextTry, LastError) stays zero. It reads the listings first
// and the mails without one in a second query, which is needed only for
// mails queued before the outbox kept listings.
func (t *tx) PendingMails(ctx context.Context, afterID int64, limit int) ([]core.OutMail, error) {
	ms, err := queryAll(ctx, t, "pending mails", scanListed, `SELECT id, to_addr, listing FROM outbox
		WHERE state = 'pending' AND id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, m := range ms {
		if m.Listing == "" {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return ms, nil
	}
	full, err := queryAll(ctx, t, fmt.Sprintf("%d pending mails without a listing", len(ids)), scanPending,
		`SELECT `+pendingColumns+` FROM outbox WHERE state = 'pending' AND id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, err
	}
	// Merge by id; a mail sent or deleted between the two queries is
	// left out.
	out := ms[:0]
	for _, m := range ms {
		if m.Listing == "" {
			if len(full) == 0 || full[0].ID != m.ID {
				continue
			}
			m, full = full[0], full[1:]
		}
		out = append(out, m)
	}
	return out, nil
}
