package sqlite

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"trivialtickets/core"
)

// The pending mails are what GET /api/fetchMails lists, tens of thousands
// at a time, so PendingMails reads them the cheap way. The driver takes
// SQLite's mutex a few times for every column of every row and copies
// every text column into an allocation of its own, so the queries join
// what they read into few texts with separators that UTF-8 never uses
// (0xFE, 0xFF). A mail queued with a listing needs its recipient and that
// listing only, which the partial index outbox_pending_listing holds
// beside the id: listedQuery reads the index alone, not the rows (which
// hold the whole mail), and a whole page of mails as one row. The mails
// of a page without a listing (queued before the outbox kept listings)
// are read by fieldsQuery, one row each. A text that holds a separator
// anyway (stored from invalid UTF-8) splits into the wrong number of
// parts, and its mails are read again one row per mail or column by
// column.

// pendingSep separates the joined fields of the queries.
const pendingSep = "\xff"

// fieldsFields is the number of fields that fieldsQuery joins.
const fieldsFields = 12

// listedQuery selects, of the pending mails after an id (at most a
// limit), in the subquery's id order: how many there are, their ids
// joined by commas, and their recipients and their listings (empty for
// none) each joined by the byte 0xFE, which UTF-8 never uses either. Each
// text is appended once, without a concatenation in between, and a
// whole page costs the driver one row instead of one per mail. A text
// with more separators than mails holds one in a field (stored anyway).
const listedQuery = `SELECT count(*), coalesce(group_concat(id), ''),
	coalesce(group_concat(to_addr, x'fe'), ''), coalesce(group_concat(coalesce(listing, ''), x'fe'), '')
	FROM (SELECT id, to_addr, listing FROM outbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?)`

// listedByRow is listedQuery a row per mail, for a page whose texts did
// not split.
const listedByRow = `SELECT id, coalesce(to_addr || x'ff' || listing, '')
	FROM outbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?`

// recordSep separates the mails in listedQuery's texts.
const recordSep = "\xfe"

// fieldsQuery selects the id and, joined, created_at, the flags automatic
// and personal ("0" or "1") and the text columns in the order of
// pendingMail.fields of the pending mails without a listing (NULL, or
// empty) in a range of ids.
const fieldsQuery = `SELECT id, concat_ws(x'ff', created_at, automatic <> 0, personal <> 0,
	ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to, refs)
	FROM outbox WHERE state = 'pending' AND id BETWEEN ? AND ? AND coalesce(listing, '') = '' ORDER BY id`

// pendingByID selects the columns of both queries for one pending mail,
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
// fieldsQuery's order.
func (p *pendingMail) fields() [fieldsFields]*string {
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

// split fills the fields of a mail without a listing from the joined
// text of fieldsQuery; it reports false when the text does not have
// fieldsFields fields.
func (p *pendingMail) split(joined string) bool {
	if strings.Count(joined, pendingSep) != fieldsFields-1 {
		return false
	}
	for _, f := range p.fields() {
		*f, joined, _ = strings.Cut(joined, pendingSep)
	}
	return true
}

// PendingMails fills what a mail service needs: of a mail queued with a
// listing, ID, To, Listing and State; of any other, ID, TicketID, From,
// To, ReplyTo, Subject, Body, MessageID, InReplyTo, References, Automatic,
// Personal, State and CreatedAt. The delivery bookkeeping (SentAt,
// Attempts, NextTry, LastError) stays zero.
func (t *tx) PendingMails(ctx context.Context, afterID int64, limit int) ([]core.OutMail, error) {
	const what = "pending mails"
	var n int
	var ids, tos, listings string
	if err := t.queryRow(ctx, what, []any{&n, &ids, &tos, &listings}, listedQuery, afterID, limit); err != nil {
		return nil, err
	}
	ms, ok := splitPage(n, ids, tos, listings)
	if !ok {
		var err error
		if ms, err = t.listedByRow(ctx, afterID, limit); err != nil {
			return nil, err
		}
	}
	var unlisted, again []int // indexes in ms of mails without a listing, and to read column by column
	for i := range ms {
		switch {
		case ms[i].Listing == "":
			unlisted = append(unlisted, i)
		case strings.Contains(ms[i].Listing, pendingSep):
			again = append(again, i)
		}
	}
	var err error
	if len(unlisted) > 0 {
		if again, err = t.unlistedMails(ctx, ms, unlisted, again); err != nil {
			return nil, err
		}
	}
	for _, i := range again {
		if ms[i], err = t.pendingMail(ctx, ms[i].ID); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// splitPage splits the texts of listedQuery into its n mails; it
// reports false when a text does not have n parts, an id is not a
// number, or the ids are not in order.
func splitPage(n int, ids, tos, listings string) ([]core.OutMail, bool) {
	if n == 0 {
		return nil, true
	}
	if strings.Count(tos, recordSep) != n-1 || strings.Count(listings, recordSep) != n-1 || strings.Count(ids, ",") != n-1 {
		return nil, false
	}
	ms := make([]core.OutMail, n)
	last := int64(math.MinInt64)
	for i := range ms {
		var id string
		m := &ms[i]
		id, ids, _ = strings.Cut(ids, ",")
		m.To, tos, _ = strings.Cut(tos, recordSep)
		m.Listing, listings, _ = strings.Cut(listings, recordSep)
		var err error
		if m.ID, err = strconv.ParseInt(id, 10, 64); err != nil || m.ID <= last {
			return nil, false
		}
		last = m.ID
		m.State = core.MailPending
		if m.Listing == "" {
			m.To = ""
		}
	}
	return ms, true
}

// listedByRow reads what listedQuery reads a row per mail.
func (t *tx) listedByRow(ctx context.Context, afterID int64, limit int) ([]core.OutMail, error) {
	const what = "pending mails"
	rows, err := t.query(ctx, what, listedByRow, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []core.OutMail
	var joined string
	for rows.Next() {
		m := core.OutMail{State: core.MailPending}
		if err := rows.Scan(&m.ID, &joined); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		m.To, m.Listing, _ = strings.Cut(joined, pendingSep)
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ms, nil
}

// unlistedMails fills the mails ms[i] for i in unlisted, which have no
// listing, with fieldsQuery, and returns again with the indexes of those
// to read column by column added. The read transaction sees what
// listedQuery saw, so every one of them is found.
func (t *tx) unlistedMails(ctx context.Context, ms []core.OutMail, unlisted, again []int) ([]int, error) {
	what := fmt.Sprintf("%d pending mails without a listing", len(unlisted))
	rows, err := t.query(ctx, what, fieldsQuery, ms[unlisted[0]].ID, ms[unlisted[len(unlisted)-1]].ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var joined string
	next := 0 // in unlisted
	for rows.Next() {
		var p pendingMail
		if err := rows.Scan(&p.m.ID, &joined); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		for next < len(unlisted) && ms[unlisted[next]].ID < p.m.ID {
			next++
		}
		if next == len(unlisted) || ms[unlisted[next]].ID != p.m.ID {
			continue
		}
		i := unlisted[next]
		next++
		if !p.split(joined) {
			again = append(again, i)
			continue
		}
		m, err := p.mail()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		ms[i] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return again, nil
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
