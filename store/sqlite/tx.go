package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// Times are stored as Unix nanoseconds, "" as NULL where a foreign key
// needs it: the conversions that both SQL stores share (store/sqlrows).
func nanos(t time.Time) int64     { return sqlrows.Nanos(t) }
func fromNanos(n int64) time.Time { return sqlrows.FromNanos(n) }
func nullString(s string) any     { return sqlrows.NullString(s) }

// check fails once the transaction's function returned.
func (t *tx) check() error {
	if t.done.Load() {
		return errTxDone
	}
	return nil
}

// statementCtx returns the context that a statement runs under. In the
// committer's transactions (bound set) it is ctx without its end, after a
// check that ctx has not ended: SQLite ends an interrupted write with the
// whole transaction, every update of the group commit with it, and the
// driver starts a goroutine per statement to watch a context that can
// end. The statements of an update are short; one whose caller went away
// meanwhile fails at the next statement or after fn (runOne), and is
// rolled back alone.
func (t *tx) statementCtx(ctx context.Context) (context.Context, error) {
	if t.bound == nil {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return context.WithoutCancel(ctx), nil
}

// run runs one statement that changes rows.
func (t *tx) run(ctx context.Context, what, query string, args ...any) (sql.Result, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	ctx, err := t.statementCtx(ctx)
	if err != nil {
		return nil, err
	}
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, dbErr(what, err)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return nil, dbErr(what, err)
	}
	return res, nil
}

// exec runs one statement and returns the rows it changed.
func (t *tx) exec(ctx context.Context, what, query string, args ...any) (int64, error) {
	res, err := t.run(ctx, what, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

// insert runs one INSERT and returns the new row's id.
func (t *tx) insert(ctx context.Context, what, query string, args ...any) (int64, error) {
	res, err := t.run(ctx, what, query, args...)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return id, nil
}

// query runs a SELECT.
func (t *tx) query(ctx context.Context, what, query string, args ...any) (*sql.Rows, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	ctx, err := t.statementCtx(ctx)
	if err != nil {
		return nil, err
	}
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, dbErr(what, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, dbErr(what, err)
	}
	return rows, nil
}

// queryRow runs a SELECT of one row and scans it; no row gives an error
// wrapping core.ErrNotFound.
func (t *tx) queryRow(ctx context.Context, what string, dest []any, query string, args ...any) error {
	if err := t.check(); err != nil {
		return err
	}
	ctx, err := t.statementCtx(ctx)
	if err != nil {
		return err
	}
	st, err := t.stmt(ctx, query)
	if err != nil {
		return dbErr(what, err)
	}
	err = st.QueryRowContext(ctx, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, core.ErrNotFound)
	}
	if err != nil {
		return dbErr(what, err)
	}
	return nil
}

// count runs a SELECT COUNT(*).
func (t *tx) count(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int
	if err := t.queryRow(ctx, what, []any{&n}, query, args...); err != nil {
		return 0, err
	}
	return n, nil
}

// queryAll runs a SELECT and scans every row with scan (one of
// store/sqlrows' scans); no row gives an empty slice.
func queryAll[T any](ctx context.Context, t *tx, what string, scan func(sqlrows.Scan) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(ctx, what, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Tickets.

// The column lists and scans of tickets are store/sqlrows'.
const (
	ticketColumns     = sqlrows.TicketColumns
	ticketListColumns = sqlrows.TicketListColumns
)

func (t *tx) CreateTicket(ctx context.Context, tk core.Ticket) error {
	return t.insertTicket(ctx, tk, nanos(tk.CreatedAt), 0, 0)
}

// insertTicket inserts a new ticket with its workspace times: activity_at,
// customer_at and replied_at.
func (t *tx) insertTicket(ctx context.Context, tk core.Ticket, activityAt, customerAt, repliedAt int64) error {
	if tk.ID == "" {
		return fmt.Errorf("create ticket: %w", core.Invalid("the ticket has no id"))
	}
	// search_seq and activity_at in the insert, not by the trigger's
	// update after it (migration 0009).
	_, err := t.exec(ctx, "create ticket "+tk.ID, `INSERT INTO tickets (`+ticketColumns+`, search_seq, activity_at, customer_at, replied_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(search_seq), 0) + 1 FROM tickets), ?, ?, ?)`,
		tk.ID, tk.Subject, tk.Customer, tk.CustomerName, string(tk.Status), nullString(tk.Assignee), tk.MergedInto,
		tk.RootMessageID, tk.LastMessageID, nanos(tk.CreatedAt), nanos(tk.UpdatedAt), tk.Mailbox, activityAt, customerAt, repliedAt)
	return err
}

func (t *tx) Ticket(ctx context.Context, id string) (core.Ticket, error) {
	var s sqlrows.TicketRow
	if err := t.queryRow(ctx, "ticket "+id, s.Dest(), `SELECT `+ticketListColumns+` FROM tickets t WHERE id = ?`, id); err != nil {
		return core.Ticket{}, err
	}
	return s.Ticket(), nil
}

func (t *tx) UpdateTicket(ctx context.Context, tk core.Ticket) error {
	n, err := t.exec(ctx, "update ticket "+tk.ID, `UPDATE tickets
		SET status = ?, assignee = ?, merged_into = ?, last_message_id = ?, updated_at = ?
		WHERE id = ?`,
		string(tk.Status), nullString(tk.Assignee), tk.MergedInto, tk.LastMessageID, nanos(tk.UpdatedAt), tk.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("update ticket %s: %w", tk.ID, core.ErrNotFound)
	}
	return nil
}

// MarkSeen sets the ticket's seen_at.
func (t *tx) MarkSeen(ctx context.Context, id string, at time.Time) error {
	n, err := t.exec(ctx, "mark ticket "+id+" seen", `UPDATE tickets SET seen_at = ? WHERE id = ?`, nanos(at), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("mark ticket %s seen: %w", id, core.ErrNotFound)
	}
	return nil
}

// searchPlan is how a list with a search reads: byIndex, the full-text
// index drives (its matches come in order of last activity, and each
// finds its ticket); byTickets, a list index of tickets drives and each
// ticket is looked up in the full-text index. byTickets serves a common
// word within few tickets (one agent's, one customer's) or in order of
// creation, where reading the index would go through every match.
type searchPlan int

const (
	byIndex searchPlan = iota
	byTickets
)

// probeMatches is how many matches of a search make it common: up to
// this many, reading them all and sorting is cheap. (A variable for the
// test that runs the suite with every search read byTickets.)
var probeMatches = 2000

// searchPlan chooses the plan of a list or count with a search.
func (t *tx) searchPlan(ctx context.Context, q core.TicketQuery, list bool) (searchPlan, error) {
	if q.Search == "" {
		return byIndex, nil
	}
	if t.deferSearch {
		// A search in an update finds what the update wrote.
		if err := t.flushSearch(ctx); err != nil {
			return byIndex, err
		}
	}
	narrow := q.Assignee != "" || q.Customer != "" || (list && (q.Sort == core.SortCreated || q.After != nil))
	if !narrow {
		return byIndex, nil
	}
	n, err := t.count(ctx, "probe search", `SELECT COUNT(*) FROM (SELECT 1 FROM ticket_search WHERE ticket_search MATCH ? LIMIT ?)`,
		matchExpr(q.Search), probeMatches)
	if err != nil {
		return byIndex, err
	}
	if n < probeMatches {
		return byIndex, nil
	}
	return byTickets, nil
}

// ticketWhere builds the WHERE clause of a ticket list over tickets t (and,
// with a search read byIndex, ticket_search joined on search_seq). The
// literal merged_into = ” lets SQLite use the partial list indexes.
func ticketWhere(q core.TicketQuery, plan searchPlan, withCursor bool) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString(` WHERE merged_into = ''`)
	switch {
	case q.Search != "" && plan == byTickets:
		b.WriteString(` AND EXISTS (SELECT 1 FROM ticket_search WHERE ticket_search MATCH ? AND ticket_search.rowid = t.search_seq)`)
		args = append(args, matchExpr(q.Search))
	case q.Search != "":
		b.WriteString(` AND ticket_search MATCH ?`)
		args = append(args, matchExpr(q.Search))
	}
	if q.NotClosed && q.Status == "" {
		b.WriteString(` AND status <> 'closed'`)
	}
	if q.Status != "" {
		b.WriteString(` AND status = ?`)
		args = append(args, string(q.Status))
	}
	if q.Assignee != "" {
		b.WriteString(` AND assignee = ?`)
		args = append(args, q.Assignee)
	}
	if q.Unassigned {
		b.WriteString(` AND assignee IS NULL`)
	}
	if q.Customer != "" {
		b.WriteString(` AND customer = ?`)
		args = append(args, q.Customer)
	}
	if q.Exclude != "" {
		b.WriteString(` AND t.id <> ?`)
		args = append(args, q.Exclude)
	}
	if withCursor && q.After != nil {
		// Keyset paging: strictly after the cursor in (created_at, id)
		// descending order. A row value comparison is a range on the index.
		b.WriteString(` AND (t.created_at, t.id) < (?, ?)`)
		args = append(args, nanos(q.After.CreatedAt), q.After.ID)
	}
	return b.String(), args
}

// ticketFrom is the FROM clause of a ticket list: with a search read
// byIndex, the index drives and each match finds its ticket by search_seq.
func ticketFrom(q core.TicketQuery, plan searchPlan) string {
	if q.Search != "" && plan == byIndex {
		return ` FROM ticket_search JOIN tickets t ON t.search_seq = ticket_search.rowid`
	}
	return ` FROM tickets t`
}

// listTicketsSQL returns the query and arguments of ListTickets.
func listTicketsSQL(q core.TicketQuery, plan searchPlan) (string, []any) {
	where, args := ticketWhere(q, plan, true)
	order := ` ORDER BY t.activity_at DESC, t.id DESC`
	switch {
	case q.After != nil || q.Sort == core.SortCreated:
		order = ` ORDER BY t.created_at DESC, t.id DESC`
	case q.Search != "" && plan == byIndex:
		// search_seq grows with every entry: its order is the order of
		// last activity, read straight from the index.
		order = ` ORDER BY ticket_search.rowid DESC`
	}
	args = append(args, q.Limit, max(q.Offset, 0))
	return `SELECT ` + ticketListColumns + ticketFrom(q, plan) + where + order + ` LIMIT ? OFFSET ?`, args
}

// countTicketsSQL returns the query and arguments of CountTickets.
func countTicketsSQL(q core.TicketQuery, plan searchPlan) (string, []any) {
	where, args := ticketWhere(q, plan, false)
	if q.CountMax > 0 {
		return `SELECT COUNT(*) FROM (SELECT 1` + ticketFrom(q, plan) + where + ` LIMIT ?)`, append(args, q.CountMax)
	}
	return `SELECT COUNT(*)` + ticketFrom(q, plan) + where, args
}

// ListTickets returns at most q.Limit tickets; a Limit below 1 is refused
// (lists are always paged).
func (t *tx) ListTickets(ctx context.Context, q core.TicketQuery) ([]core.Ticket, error) {
	if q.Limit < 1 {
		return nil, fmt.Errorf("list tickets: %w", core.Invalid("a ticket list needs a limit"))
	}
	plan, err := t.searchPlan(ctx, q, true)
	if err != nil {
		return nil, err
	}
	query, args := listTicketsSQL(q, plan)
	return queryAll(ctx, t, "list tickets", sqlrows.ScanTicket, query, args...)
}

func (t *tx) CountTickets(ctx context.Context, q core.TicketQuery) (int, error) {
	if q.Search == "" && q.Customer == "" && q.Exclude == "" {
		// Only assignee and status: the counters of migration 0007.
		n, err := t.count(ctx, "count tickets", `SELECT coalesce(sum(n), 0) FROM ticket_counts
			WHERE (? = '' OR status = ?) AND (? = '' OR assignee = ?) AND (NOT ? OR assignee = '') AND (NOT ? OR status <> 'closed')`,
			string(q.Status), string(q.Status), q.Assignee, q.Assignee, q.Unassigned, q.NotClosed)
		if q.CountMax > 0 {
			n = min(n, q.CountMax)
		}
		return n, err
	}
	plan, err := t.searchPlan(ctx, q, false)
	if err != nil {
		return 0, err
	}
	query, args := countTicketsSQL(q, plan)
	return t.count(ctx, "count tickets", query, args...)
}

// Entries and attachments.

// The column lists and scans of entries and attachments are store/sqlrows'.
const entryColumns = sqlrows.EntryColumns

func (t *tx) AddEntry(ctx context.Context, e *core.Entry) error {
	id, err := t.insert(ctx, "add entry to ticket "+e.TicketID, `INSERT INTO entries
		(ticket_id, created_at, author_kind, author, author_name, internal, text, automatic, message_id, from_ticket)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.TicketID, nanos(e.CreatedAt), string(e.AuthorKind), e.Author, e.AuthorName, e.Internal, e.Text,
		e.Automatic, e.MessageID, e.FromTicket)
	if err != nil {
		return err
	}
	for i := range e.Attachments {
		a := &e.Attachments[i]
		if a.Size == 0 {
			a.Size = int64(len(a.Data))
		}
		data := a.Data
		if data == nil {
			data = []byte{}
		}
		aid, err := t.insert(ctx, "add attachment to ticket "+e.TicketID, `INSERT INTO attachments
			(entry_id, filename, content_type, size, content_id, data) VALUES (?, ?, ?, ?, ?, ?)`,
			id, a.Filename, a.ContentType, a.Size, a.ContentID, data)
		if err != nil {
			return err
		}
		a.ID = aid
	}
	e.ID = id
	return nil
}

func (t *tx) Entries(ctx context.Context, ticketID string, withInternal bool) ([]core.Entry, error) {
	what := "entries of ticket " + ticketID
	filter := ""
	if !withInternal {
		filter = ` AND e.internal = 0`
	}
	es, err := queryAll(ctx, t, what, sqlrows.ScanEntry, `SELECT `+entryColumns+` FROM entries e
		WHERE e.ticket_id = ?`+filter+` ORDER BY e.created_at, e.id`, ticketID)
	if err != nil || len(es) == 0 {
		return es, err
	}
	// The attachments of all these entries in one query (metadata only).
	as, err := queryAll(ctx, t, what+": attachments", sqlrows.ScanEntryAttachment, `SELECT `+sqlrows.EntryAttachmentColumns+`
		FROM entries e JOIN attachments a ON a.entry_id = e.id
		WHERE e.ticket_id = ?`+filter+` ORDER BY a.id`, ticketID)
	if err != nil {
		return nil, err
	}
	sqlrows.Attach(es, as)
	return es, nil
}

func (t *tx) Attachment(ctx context.Context, id int64) (core.Attachment, core.Entry, error) {
	var s sqlrows.AttachmentRow
	if err := t.queryRow(ctx, fmt.Sprintf("attachment %d", id), s.Dest(),
		`SELECT `+sqlrows.AttachmentDataColumns+`
		FROM attachments a JOIN entries e ON e.id = a.entry_id WHERE a.id = ?`, id); err != nil {
		return core.Attachment{}, core.Entry{}, err
	}
	a, e := s.Attachment()
	return a, e, nil
}

// Message-IDs.

func (t *tx) RememberMessageID(ctx context.Context, msgID, ticketID string, inbound bool) error {
	_, err := t.exec(ctx, "remember message id "+msgID,
		`INSERT INTO message_ids (message_id, ticket_id, inbound) VALUES (?, ?, ?)`, msgID, ticketID, inbound)
	return err
}

func (t *tx) MessageIDTicket(ctx context.Context, msgID string) (string, bool, error) {
	var ticketID string
	var inbound bool
	if err := t.queryRow(ctx, "message id "+msgID, []any{&ticketID, &inbound},
		`SELECT ticket_id, inbound FROM message_ids WHERE message_id = ?`, msgID); err != nil {
		return "", false, err
	}
	return ticketID, inbound, nil
}

// The outbox.

const mailColumns = `id, ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to,
	refs, automatic, state, created_at, sent_at, attempts, next_try, last_error, personal`

func (t *tx) QueueMail(ctx context.Context, m *core.OutMail) error {
	m.State = core.MailPending
	id, err := t.insert(ctx, "queue mail for ticket "+m.TicketID, `INSERT INTO outbox
		(ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to,
		 refs, automatic, state, created_at, sent_at, attempts, next_try, last_error, to_key, personal, listing)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.TicketID, m.From, m.To, m.ReplyTo, m.Subject, m.Body, m.MessageID, m.InReplyTo,
		strings.Join(m.References, "\n"), m.Automatic, string(m.State), nanos(m.CreatedAt), nanos(m.SentAt),
		m.Attempts, nanos(m.NextTry), m.LastError, core.NormalizeAddress(m.To), m.Personal, nullString(m.Listing))
	if err != nil {
		return err
	}
	m.ID = id
	return nil
}

// mails runs a query selecting mailColumns.
func (t *tx) mails(ctx context.Context, what, query string, args ...any) ([]core.OutMail, error) {
	rows, err := t.query(ctx, what, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []core.OutMail
	for rows.Next() {
		m, err := scanMail(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ms, nil
}

func scanMail(scan func(...any) error) (core.OutMail, error) {
	var m core.OutMail
	var refs, state string
	var createdAt, sentAt, nextTry int64
	if err := scan(&m.ID, &m.TicketID, &m.From, &m.To, &m.ReplyTo, &m.Subject, &m.Body, &m.MessageID,
		&m.InReplyTo, &refs, &m.Automatic, &state, &createdAt, &sentAt, &m.Attempts, &nextTry, &m.LastError, &m.Personal); err != nil {
		return core.OutMail{}, err
	}
	if refs != "" {
		m.References = strings.Split(refs, "\n")
	}
	m.State = core.MailState(state)
	m.CreatedAt, m.SentAt, m.NextTry = fromNanos(createdAt), fromNanos(sentAt), fromNanos(nextTry)
	return m, nil
}

func (t *tx) ClaimMails(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]core.OutMail, error) {
	// One writer at a time (BEGIN IMMEDIATE): select and update cannot
	// interleave with another claim.
	ms, err := t.mails(ctx, "claim mails", `SELECT `+mailColumns+` FROM outbox
		WHERE state = 'pending' AND next_try <= ? AND (lease_until <= ? OR lease_owner = ?) ORDER BY id LIMIT ?`,
		nanos(now), nanos(now), owner, limit)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if _, err := t.exec(ctx, fmt.Sprintf("lease mail %d", m.ID),
			`UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ?`, owner, nanos(leaseUntil), m.ID); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

func (t *tx) RetryMail(ctx context.Context, id int64, nextTry time.Time, lastError string) error {
	n, err := t.exec(ctx, fmt.Sprintf("retry mail %d", id), `UPDATE outbox
		SET attempts = attempts + 1, next_try = ?, last_error = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND state = 'pending'`, nanos(nextTry), lastError, id)
	if err == nil && n == 0 {
		err = fmt.Errorf("retry mail %d: %w", id, core.ErrNotFound)
	}
	return err
}

func (t *tx) ReleaseMail(ctx context.Context, id int64, owner string) error {
	_, err := t.exec(ctx, fmt.Sprintf("release mail %d", id), `UPDATE outbox SET lease_owner = '', lease_until = 0
		WHERE id = ? AND state = 'pending' AND lease_owner = ?`, id, owner)
	return err
}

func (t *tx) MarkMailFailed(ctx context.Context, id int64, state core.MailState, reason string, at time.Time) (bool, error) {
	n, err := t.exec(ctx, fmt.Sprintf("mark mail %d %s", id, state), `UPDATE outbox
		SET state = ?, last_error = ?, sent_at = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND state IN ('pending', 'sent')`, string(state), reason, nanos(at), id)
	return n == 1, err
}

func (t *tx) MailByMessageID(ctx context.Context, msgID string) (core.OutMail, error) {
	ms, err := t.mails(ctx, "mail "+msgID, `SELECT `+mailColumns+` FROM outbox WHERE message_id = ? ORDER BY id LIMIT 1`, msgID)
	if err != nil {
		return core.OutMail{}, err
	}
	if len(ms) == 0 {
		return core.OutMail{}, fmt.Errorf("mail %s: %w", msgID, core.ErrNotFound)
	}
	return ms[0], nil
}

func (t *tx) CountMails(ctx context.Context, state core.MailState) (int, error) {
	return t.count(ctx, "count "+string(state)+" mails", `SELECT COUNT(*) FROM outbox WHERE state = ?`, string(state))
}

// Login throttles.

// LockLoginThrottle creates the record or, when it exists, updates it to
// itself: either way the row is locked until the transaction ends (on
// SQLite, writers run one at a time anyway) and RETURNING gives its
// current values.
func (t *tx) LockLoginThrottle(ctx context.Context, key string, now time.Time) (core.LoginThrottle, error) {
	var s sqlrows.ThrottleRow
	if err := t.queryRow(ctx, "lock login throttle", s.Dest(),
		`INSERT INTO login_throttles (key, `+sqlrows.ThrottleColumns+`)
		VALUES (?, 0, 0, 0, 0, ?)
		ON CONFLICT (key) DO UPDATE SET last = login_throttles.last
		RETURNING `+sqlrows.ThrottleColumns, key, nanos(now)); err != nil {
		return core.LoginThrottle{}, err
	}
	return s.Throttle(), nil
}

func (t *tx) PutLoginThrottle(ctx context.Context, key string, e core.LoginThrottle) error {
	_, err := t.exec(ctx, "store login throttle "+key, `INSERT INTO login_throttles
		(key, failures, window_start, lockouts, locked_until, last) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
		lockouts = excluded.lockouts, locked_until = excluded.locked_until, last = excluded.last`,
		key, e.Failures, nanos(e.WindowStart), e.Lockouts, nanos(e.LockedUntil), nanos(e.Last))
	return err
}

func (t *tx) DeleteLoginThrottle(ctx context.Context, key string) error {
	_, err := t.exec(ctx, "delete login throttle "+key, `DELETE FROM login_throttles WHERE key = ?`, key)
	return err
}

func (t *tx) DeleteIdleLoginThrottles(ctx context.Context, idleSince, now time.Time) error {
	_, err := t.exec(ctx, "delete idle login throttles", `DELETE FROM login_throttles
		WHERE last < ? AND locked_until <= ?`, nanos(idleSince), nanos(now))
	return err
}

func (t *tx) AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	n, err := t.exec(ctx, "acquire lease "+name, `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`, name, owner, nanos(until), nanos(now))
	return n == 1, err
}

func (t *tx) ReleaseLease(ctx context.Context, name, owner string) error {
	_, err := t.exec(ctx, "release lease "+name, `DELETE FROM leases WHERE name = ? AND owner = ?`, name, owner)
	return err
}

func (t *tx) MarkMailSent(ctx context.Context, id int64, at time.Time) (bool, error) {
	n, err := t.exec(ctx, fmt.Sprintf("mark mail %d sent", id),
		`UPDATE outbox SET state = 'sent', sent_at = ? WHERE id = ? AND state = 'pending'`, nanos(at), id)
	return n == 1, err
}

func (t *tx) CountAutomaticMails(ctx context.Context, to string, since time.Time) (int, error) {
	return t.count(ctx, "count automatic mails to "+to,
		`SELECT COUNT(*) FROM outbox WHERE automatic = 1 AND to_key = ? AND created_at >= ?`, core.NormalizeAddress(to), nanos(since))
}

// Agents.

func (t *tx) CreateAgent(ctx context.Context, a core.Agent) error {
	hash := a.PasswordHash
	if hash == nil {
		hash = []byte{}
	}
	_, err := t.exec(ctx, "create agent "+a.Username, `INSERT INTO agents
		(username, name, password_hash, vacation, created_at) VALUES (?, ?, ?, ?, ?)`,
		a.Username, a.Name, hash, a.Vacation, nanos(a.CreatedAt))
	if err != nil || a.TimeZone == "" {
		return err
	}
	_, err = t.exec(ctx, "set time zone of agent "+a.Username, `UPDATE agents SET time_zone = ? WHERE username = ?`,
		a.TimeZone, a.Username)
	return err
}

func (t *tx) Agent(ctx context.Context, username string) (core.Agent, error) {
	var s sqlrows.AgentRow
	if err := t.queryRow(ctx, "agent "+username, s.Dest(),
		`SELECT `+sqlrows.AgentColumns+` FROM agents WHERE username = ?`, username); err != nil {
		return core.Agent{}, err
	}
	return s.Agent(), nil
}

func (t *tx) Agents(ctx context.Context) ([]core.Agent, error) {
	return queryAll(ctx, t, "list agents", sqlrows.ScanAgent, `SELECT `+sqlrows.AgentColumns+` FROM agents ORDER BY username`)
}

func (t *tx) UpdateAgent(ctx context.Context, a core.Agent) error {
	hash := a.PasswordHash
	if hash == nil {
		hash = []byte{}
	}
	n, err := t.exec(ctx, "update agent "+a.Username,
		`UPDATE agents SET name = ?, password_hash = ?, vacation = ?, time_zone = ? WHERE username = ?`,
		a.Name, hash, a.Vacation, a.TimeZone, a.Username)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("update agent %s: %w", a.Username, core.ErrNotFound)
	}
	return nil
}

// DeleteAgent removes an agent; their sessions go with them (ON DELETE
// CASCADE) and tickets still naming them (merged ones, which core does not
// release) lose the assignee (ON DELETE SET NULL).
func (t *tx) DeleteAgent(ctx context.Context, username string) error {
	n, err := t.exec(ctx, "delete agent "+username, `DELETE FROM agents WHERE username = ?`, username)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("delete agent %s: %w", username, core.ErrNotFound)
	}
	return nil
}

// Sessions.

func (t *tx) CreateSession(ctx context.Context, s core.Session) error {
	_, err := t.exec(ctx, "create session for "+s.Username, `INSERT INTO sessions
		(token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		s.TokenHash, s.Username, nanos(s.CreatedAt), nanos(s.ExpiresAt))
	return err
}

func (t *tx) Session(ctx context.Context, tokenHash string) (core.Session, error) {
	var s sqlrows.TokenRow
	if err := t.queryRow(ctx, "session", s.Dest(),
		`SELECT `+sqlrows.TokenColumns+` FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return core.Session{}, err
	}
	return s.Session(), nil
}

func (t *tx) DeleteSession(ctx context.Context, tokenHash string) error {
	n, err := t.exec(ctx, "delete session", `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("delete session: %w", core.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteSessions(ctx context.Context, username string) error {
	_, err := t.exec(ctx, "delete sessions of "+username, `DELETE FROM sessions WHERE username = ?`, username)
	return err
}

// DeleteExpiredSessions removes sessions whose expiry is not after now (core
// treats a session as expired from its ExpiresAt on).
func (t *tx) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := t.exec(ctx, "delete expired sessions", `DELETE FROM sessions WHERE expires_at <= ?`, nanos(now))
	return err
}

// Trusted devices.

func (t *tx) CreateTrustedDevice(ctx context.Context, d core.TrustedDevice) error {
	_, err := t.exec(ctx, "trust a device of "+d.Username, `INSERT INTO trusted_devices
		(token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		d.TokenHash, d.Username, nanos(d.CreatedAt), nanos(d.ExpiresAt))
	return err
}

func (t *tx) TrustedDevice(ctx context.Context, tokenHash string) (core.TrustedDevice, error) {
	var s sqlrows.TokenRow
	if err := t.queryRow(ctx, "trusted device", s.Dest(),
		`SELECT `+sqlrows.TokenColumns+` FROM trusted_devices WHERE token_hash = ?`, tokenHash); err != nil {
		return core.TrustedDevice{}, err
	}
	return s.TrustedDevice(), nil
}

func (t *tx) DeleteTrustedDevices(ctx context.Context, username string) error {
	_, err := t.exec(ctx, "delete trusted devices of "+username, `DELETE FROM trusted_devices WHERE username = ?`, username)
	return err
}

func (t *tx) DeleteExpiredTrustedDevices(ctx context.Context, now time.Time) error {
	_, err := t.exec(ctx, "delete expired trusted devices", `DELETE FROM trusted_devices WHERE expires_at <= ?`, nanos(now))
	return err
}
