package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
)

// pendingColumns are what a mail service needs of a pending mail: GET
// /api/fetchMails lists tens of thousands at a time, so PendingMails
// leaves out the delivery bookkeeping that scanMail reads.
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

// PendingMails fills what a mail service needs: ID, TicketID, From, To,
// ReplyTo, Subject, Body, MessageID, InReplyTo, References, Automatic,
// Personal, State and CreatedAt; the delivery bookkeeping (SentAt,
// Attempts, NextTry, LastError) stays zero.
func (t *tx) PendingMails(ctx context.Context, afterID int64, limit int) ([]core.OutMail, error) {
	return queryAll(ctx, t, "pending mails", scanPending, `SELECT `+pendingColumns+` FROM outbox
		WHERE state = 'pending' AND id > $1 ORDER BY id LIMIT $2`, afterID, limit)
}
