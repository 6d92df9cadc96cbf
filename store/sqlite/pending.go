package sqlite

import (
	"context"
	"fmt"
	"strings"

	"trivialtickets/core"
)

// The pending mails are what GET /api/fetchMails lists, tens of thousands
// at a time, so PendingMails reads them the cheap way. The driver takes
// SQLite's mutex a few times for every column of every row and copies
// every text column into an allocation of its own: with all eighteen
// columns of the outbox that was most of the time of a fetch. So the query
// selects only what a mail service needs and joins the text columns into
// one, separated by the byte 0xFF, which UTF-8 never uses: three columns
// and one allocation per row. A mail whose text holds that byte anyway
// (stored from invalid UTF-8) splits into too many parts and is read again
// column by column.

// pendingSep separates the joined columns of pendingQuery.
const pendingSep = "\xff"

// pendingFields is how many fields pendingQuery joins.
const pendingFields = 11

// pendingQuery selects id, created_at and, joined, the flags automatic and
// personal ("0" or "1") and the text columns in the order of
// pendingMail.fields.
const pendingQuery = `SELECT id, created_at, concat_ws(x'ff', automatic <> 0, personal <> 0,
	ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to, refs)
	FROM outbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?`

// pendingByID selects the same as pendingQuery for one mail, the columns
// apart.
const pendingByID = `SELECT id, created_at, automatic <> 0, personal <> 0,
	ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to, refs
	FROM outbox WHERE id = ? AND state = 'pending'`

// pendingMail is a mail being read, with the places of its fields.
type pendingMail struct {
	m                   core.OutMail
	createdAt           int64
	automatic, personal string
	refs                string
}

// fields are the places of the joined fields, in pendingQuery's order.
func (p *pendingMail) fields() [pendingFields]*string {
	m := &p.m
	return [...]*string{&p.automatic, &p.personal, &m.TicketID, &m.From, &m.To, &m.ReplyTo, &m.Subject, &m.Body,
		&m.MessageID, &m.InReplyTo, &p.refs}
}

// mail is the finished mail.
func (p *pendingMail) mail() core.OutMail {
	m := p.m
	m.Automatic, m.Personal = p.automatic == "1", p.personal == "1"
	if p.refs != "" {
		m.References = strings.Split(p.refs, "\n")
	}
	m.State = core.MailPending
	m.CreatedAt = fromNanos(p.createdAt)
	return m
}

// split fills the fields from the joined column; it reports false when
// the column does not have exactly pendingFields parts.
func (p *pendingMail) split(joined string) bool {
	if strings.Count(joined, pendingSep) != pendingFields-1 {
		return false
	}
	for _, f := range p.fields() {
		*f, joined, _ = strings.Cut(joined, pendingSep)
	}
	return true
}

// PendingMails fills what a mail service needs: ID, TicketID, From, To,
// ReplyTo, Subject, Body, MessageID, InReplyTo, References, Automatic,
// Personal, State and CreatedAt; the delivery bookkeeping (SentAt,
// Attempts, NextTry, LastError) stays zero.
func (t *tx) PendingMails(ctx context.Context, afterID int64, limit int) ([]core.OutMail, error) {
	const what = "pending mails"
	rows, err := t.query(ctx, what, pendingQuery, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ms := make([]core.OutMail, 0, min(limit, 1024))
	var again []int // indexes in ms of mails to read column by column
	var joined string
	for rows.Next() {
		var p pendingMail
		if err := rows.Scan(&p.m.ID, &p.createdAt, &joined); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if !p.split(joined) {
			again = append(again, len(ms))
		}
		ms = append(ms, p.mail())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	rows.Close()
	for _, i := range again {
		if ms[i], err = t.pendingMail(ctx, ms[i].ID); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// pendingMail reads one pending mail column by column.
func (t *tx) pendingMail(ctx context.Context, id int64) (core.OutMail, error) {
	var p pendingMail
	dest := []any{&p.m.ID, &p.createdAt}
	for _, f := range p.fields() {
		dest = append(dest, f)
	}
	if err := t.queryRow(ctx, fmt.Sprintf("pending mail %d", id), dest, pendingByID, id); err != nil {
		return core.OutMail{}, err
	}
	return p.mail(), nil
}
