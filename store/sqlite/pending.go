package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"trivialtickets/core"
)

// The pending mails are what GET /api/fetchMails lists, tens of thousands
// at a time, so PendingMails reads them the cheap way. The driver takes
// SQLite's mutex a few times for every column of every row and copies
// every text column into an allocation of its own, so the query reads two
// columns: the id and one text that joins, separated by the byte 0xFF
// (which UTF-8 never uses), either the mail's recipient and its listing
// (made when it was queued) or, for a mail queued without one, every
// field a mail service needs. The first field says which: "l" or "f". A
// mail whose text holds the byte 0xFF anyway (stored from invalid UTF-8)
// splits into the wrong number of parts and is read again column by
// column.

// pendingSep separates the joined fields of pendingQuery.
const pendingSep = "\xff"

// The kinds of pendingQuery's joined text, with the number of fields of
// each (the kind included).
const (
	listedKind, listedFields = "l", 3
	fieldsKind, fieldsFields = "f", 13
)

// pendingQuery selects the id and the joined text of the pending mails
// after an id: the kind and then, for a listed mail, to_addr and listing,
// for any other, created_at, the flags automatic and personal ("0" or "1")
// and the text columns in the order of pendingMail.fields.
const pendingQuery = `SELECT id, CASE WHEN listing IS NULL
	THEN concat_ws(x'ff', 'f', created_at, automatic <> 0, personal <> 0,
		ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to, refs)
	ELSE concat_ws(x'ff', 'l', to_addr, listing) END
	FROM outbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?`

// pendingByID selects the columns of pendingQuery for one pending mail,
// apart, with listing's NULL as an empty text.
const pendingByID = `SELECT id, created_at, automatic <> 0, personal <> 0,
	ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to, refs,
	coalesce(listing, '')
	FROM outbox WHERE id = ? AND state = 'pending'`

// pendingMail is a mail being read, with the places of its fields.
type pendingMail struct {
	m                   core.OutMail
	createdAt           string
	automatic, personal string
	refs                string
}

// fields are the places of the fields of a mail without a listing, in
// pendingQuery's order.
func (p *pendingMail) fields() [fieldsFields - 1]*string {
	m := &p.m
	return [...]*string{&p.createdAt, &p.automatic, &p.personal, &m.TicketID, &m.From, &m.To, &m.ReplyTo,
		&m.Subject, &m.Body, &m.MessageID, &m.InReplyTo, &p.refs}
}

// mail is the finished mail.
func (p *pendingMail) mail() (core.OutMail, error) {
	m := p.m
	m.State = core.MailPending
	if m.Listing != "" {
		return m, nil
	}
	m.Automatic, m.Personal = p.automatic == "1", p.personal == "1"
	if p.refs != "" {
		m.References = strings.Split(p.refs, "\n")
	}
	n, err := strconv.ParseInt(p.createdAt, 10, 64)
	if err != nil {
		return core.OutMail{}, fmt.Errorf("pending mail %d: created_at %q: %w", m.ID, p.createdAt, err)
	}
	m.CreatedAt = fromNanos(n)
	return m, nil
}

// split fills the fields from the joined text; it reports false when the
// text is of neither kind or does not have the kind's number of fields.
func (p *pendingMail) split(joined string) bool {
	kind, rest, _ := strings.Cut(joined, pendingSep)
	switch n := strings.Count(rest, pendingSep) + 2; {
	case kind == listedKind && n == listedFields:
		p.m.To, p.m.Listing, _ = strings.Cut(rest, pendingSep)
		return p.m.Listing != ""
	case kind == fieldsKind && n == fieldsFields:
		for _, f := range p.fields() {
			*f, rest, _ = strings.Cut(rest, pendingSep)
		}
		return true
	}
	return false
}

// PendingMails fills what a mail service needs: of a mail queued with a
// listing, ID, To, Listing and State; of any other, ID, TicketID, From,
// To, ReplyTo, Subject, Body, MessageID, InReplyTo, References, Automatic,
// Personal, State and CreatedAt. The delivery bookkeeping (SentAt,
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
		if err := rows.Scan(&p.m.ID, &joined); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if !p.split(joined) {
			again = append(again, len(ms))
			ms = append(ms, p.m)
			continue
		}
		m, err := p.mail()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		ms = append(ms, m)
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
	var createdAt int64
	var listing string
	dest := []any{&p.m.ID, &createdAt}
	fields := p.fields()
	for _, f := range fields[1:] {
		dest = append(dest, f)
	}
	dest = append(dest, &listing)
	what := fmt.Sprintf("pending mail %d", id)
	if err := t.queryRow(ctx, what, dest, pendingByID, id); err != nil {
		return core.OutMail{}, err
	}
	if listing != "" {
		return core.OutMail{ID: p.m.ID, To: p.m.To, Listing: listing, State: core.MailPending}, nil
	}
	p.createdAt = strconv.FormatInt(createdAt, 10)
	return p.mail()
}
