package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// errTxDone is returned by a Tx used after its function returned.
var errTxDone = errors.New("postgres: transaction used after its function returned")

// errTxAborted is returned by a Tx after one of its statements failed:
// PostgreSQL runs no further statement in that transaction.
var errTxAborted = errors.New("transaction aborted by an earlier error")

// tx is core.Tx on one pgx transaction. Its methods are called by the one
// goroutine that runs the transaction's function.
type tx struct {
	tx     *conn
	write  bool        // an Update: rows read to be changed are locked
	ahead  bool        // writes may wait for the next statement (see conn)
	done   atomic.Bool // the function returned
	failed error       // the first database error; the transaction is aborted
	retry  bool        // failed is a serialization failure or a deadlock
	replay bool        // failed is a write sent ahead: run without (see transact)
	// deadline of the transaction's context (Update's or View's), zero
	// when none: the time budget of the work, which the contexts given to
	// the methods (core passes its caller's) may lack.
	deadline time.Time
	// counts are the sums of ticket_counts a View read (see
	// countFromCounters).
	counts map[countKey]int
	// words are the search words given to tickets, written with the
	// COMMIT (see queueWords) when giveWords.
	giveWords bool
	words     map[string]*ticketWords
	// checked is the last long text whose words wordsGiven computed, kept
	// for addWords (see wordsOf).
	checked checkedWords
	// entryIDs and mailIDs are the store's blocks of ids of entries and
	// outbox mails (see idBlock); nil in a View.
	entryIDs, mailIDs *idBlock
}

// bound returns ctx with the transaction's deadline when ctx has none
// earlier, so that no statement outlasts the transaction's time budget.
func (t *tx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if t.deadline.IsZero() {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && !d.After(t.deadline) {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, t.deadline)
}

// Times are stored as Unix nanoseconds, "" as NULL where a foreign key
// needs it: the conversions that both SQL stores share (store/sqlrows).
func nanos(t time.Time) int64     { return sqlrows.Nanos(t) }
func fromNanos(n int64) time.Time { return sqlrows.FromNanos(n) }
func nullString(s string) any     { return sqlrows.NullString(s) }

// notNil stores a nil byte slice as an empty one: pgx sends nil as NULL.
func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// check fails once the transaction's function returned, or once a
// statement failed.
func (t *tx) check(what string) error {
	if t.done.Load() {
		return fmt.Errorf("%s: %w", what, errTxDone)
	}
	if t.failed != nil {
		return fmt.Errorf("%s: %w (%v)", what, errTxAborted, t.failed)
	}
	return nil
}

// fail records that a statement failed, which aborts the transaction, and
// returns the error for core.
func (t *tx) fail(what string, err error) error {
	if t.failed == nil {
		t.failed = err
		t.retry = retryable(err)
		t.replay = !t.retry && queuedFailed(err)
	}
	if queuedFailed(err) {
		// Not the error of this statement: core must not take a
		// duplicate Message-ID sent ahead for one of its own here.
		return fmt.Errorf("%s: %w (%v)", what, errTxAborted, err)
	}
	return dbErr(what, err)
}

// execAhead runs a write whose only outcome is its failure: in an Update's
// first run it waits for the next statement or the COMMIT (see conn), so it
// must fail by itself where its direct form (query) reports something else
// (a duplicate by no row inserted): ahead is that form.
func (t *tx) execAhead(ctx context.Context, what, query, ahead string, tc touch, args ...any) (int64, error) {
	if !t.ahead {
		return t.exec(ctx, what, query, args...)
	}
	if err := t.check(what); err != nil {
		return 0, err
	}
	t.tx.later(what, ahead, args, tc)
	return 1, nil
}

// exec runs one statement and returns the rows it changed.
func (t *tx) exec(ctx context.Context, what, query string, args ...any) (int64, error) {
	if err := t.check(what); err != nil {
		return 0, err
	}
	ctx, cancel := t.bound(ctx)
	defer cancel()
	tag, err := t.tx.Exec(ctx, query, args...)
	if err != nil {
		return 0, t.fail(what, err)
	}
	return tag.RowsAffected(), nil
}

// queryRow runs a query of one row and scans it; no row gives an error
// wrapping core.ErrNotFound.
func (t *tx) queryRow(ctx context.Context, what string, dest []any, query string, args ...any) error {
	if err := t.check(what); err != nil {
		return err
	}
	ctx, cancel := t.bound(ctx)
	defer cancel()
	err := t.tx.QueryRow(ctx, query, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, core.ErrNotFound)
	}
	if err != nil {
		return t.fail(what, err)
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

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, t *tx, what string, scan func(pgx.CollectableRow) (T, error), query string, args ...any) ([]T, error) {
	return queryWith(ctx, t, what, scan, t.tx.Query, query, args...)
}

// queryWith is queryAll with the query sent by send: the connection's
// Query, or queryBeside for a read that the writes waiting cannot change.
func queryWith[T any](ctx context.Context, t *tx, what string, scan func(pgx.CollectableRow) (T, error),
	send func(context.Context, string, ...any) (pgx.Rows, error), query string, args ...any) ([]T, error) {
	if err := t.check(what); err != nil {
		return nil, err
	}
	ctx, cancel := t.bound(ctx)
	defer cancel()
	rows, err := send(ctx, query, args...)
	if err != nil {
		return nil, t.fail(what, err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, t.fail(what, err)
	}
	return out, nil
}

// rowScan adapts one of store/sqlrows' scans to queryAll.
func rowScan[T any](scan func(sqlrows.Scan) (T, error)) func(pgx.CollectableRow) (T, error) {
	return func(row pgx.CollectableRow) (T, error) { return scan(row.Scan) }
}

// The scans of store/sqlrows, for queryAll.
var (
	scanTicket = rowScan(sqlrows.ScanTicket)
	scanEntry  = rowScan(sqlrows.ScanEntry)
	scanAgent  = rowScan(sqlrows.ScanAgent)
)

// params numbers the parameters of a query being built: $1, $2 …
type params struct{ args []any }

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

// Tickets.

// The column lists and scans of tickets are store/sqlrows'.
const (
	ticketColumns     = sqlrows.TicketColumns
	ticketListColumns = sqlrows.TicketListColumns
)

// CreateTicket inserts a ticket. A taken id gives ErrDuplicate and leaves
// the transaction usable (ON CONFLICT DO NOTHING instead of a failing
// statement).
func (t *tx) CreateTicket(ctx context.Context, tk core.Ticket) error {
	// activity_at is the ticket's creation until entries come, which the
	// insert says itself instead of the trigger's second write of the row.
	return t.insertTicket(ctx, tk, nanos(tk.CreatedAt), 0, 0, "$1", "")
}

// insertTicket inserts a new ticket with its workspace times: activity_at,
// customer_at and replied_at; id is the expression of its id ($1, or a
// set_config that returns $1); returning is the insert's RETURNING clause
// ("" for none), which runs only when the row is inserted.
func (t *tx) insertTicket(ctx context.Context, tk core.Ticket, activityAt, customerAt, repliedAt int64, id, returning string) error {
	if tk.ID == "" {
		return fmt.Errorf("create ticket: %w", core.Invalid("the ticket has no id"))
	}
	what := "create ticket " + tk.ID
	insert := `INSERT INTO tickets (` + ticketColumns + `, activity_at, customer_at, replied_at)
		VALUES (` + id + `, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	// A ticket's row and what its triggers write (its counts, its
	// times) are nothing that ReceiveFacts reads.
	n, err := t.execAhead(ctx, what, insert+` ON CONFLICT DO NOTHING`+returning, insert+returning, adds(),
		tk.ID, tk.Subject, tk.Customer, tk.CustomerName, string(tk.Status), nullString(tk.Assignee), tk.MergedInto,
		tk.RootMessageID, tk.LastMessageID, nanos(tk.CreatedAt), nanos(tk.UpdatedAt), tk.Mailbox,
		activityAt, customerAt, repliedAt)
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: %w", what, core.ErrDuplicate)
	}
	if err == nil {
		t.addWords(tk.ID, 0, core.TicketSearchHead(tk))
	}
	return err
}

func (t *tx) Ticket(ctx context.Context, id string) (core.Ticket, error) {
	var s sqlrows.TicketRow
	query := `SELECT ` + ticketListColumns + ` FROM tickets t WHERE id = $1`
	if t.write {
		// Core reads a ticket in Update to change it: hold it until the
		// commit, so concurrent changes of one ticket take turns.
		query += ` FOR UPDATE`
	}
	if err := t.queryRow(ctx, "ticket "+id, s.Dest(), query, id); err != nil {
		return core.Ticket{}, err
	}
	return s.Ticket(), nil
}

func (t *tx) UpdateTicket(ctx context.Context, tk core.Ticket) error {
	n, err := t.exec(ctx, "update ticket "+tk.ID, `UPDATE tickets
		SET status = $1, assignee = $2, merged_into = $3, last_message_id = $4, updated_at = $5
		WHERE id = $6`,
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
	n, err := t.exec(ctx, "mark ticket "+id+" seen", `UPDATE tickets SET seen_at = $1 WHERE id = $2`, nanos(at), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("mark ticket %s seen: %w", id, core.ErrNotFound)
	}
	return nil
}

// tsquery replaces q.Search by its tsquery: every word of it, as the index
// sees words (tt_search_words, the same function that made the index). It
// is computed first and given as a constant so that the planner can weigh
// the words (a rare one: the GIN index; a common one: the list in order,
// each ticket checked). ok is false when the search has no words.
func (t *tx) tsquery(ctx context.Context, q *core.TicketQuery) (ok bool, err error) {
	if q.Search == "" {
		return true, nil
	}
	var tsq string
	if err := t.queryRow(ctx, "search words", []any{&tsq},
		`SELECT coalesce(string_agg(quote_literal(w), ' & '), '') FROM unnest(tt_search_words($1)) AS w`, q.Search); err != nil {
		return false, err
	}
	q.Search = tsq
	return tsq != "", nil
}

// ticketWhere builds the WHERE clause of a ticket list over tickets t
// (and ticket_search s, with a search). The literal merged_into = ” lets
// PostgreSQL use the partial list indexes.
func ticketWhere(q core.TicketQuery, withCursor bool, p *params) string {
	var b strings.Builder
	b.WriteString(` WHERE merged_into = ''`)
	if q.Search != "" {
		b.WriteString(` AND s.words @@ ` + p.add(q.Search) + `::tsquery`)
	}
	if q.NotClosed && q.Status == "" {
		b.WriteString(` AND status <> 'closed'`)
	}
	if q.Status != "" {
		b.WriteString(` AND status = ` + p.add(string(q.Status)))
	}
	if q.Assignee != "" {
		b.WriteString(` AND assignee = ` + p.add(q.Assignee))
	}
	if q.Unassigned {
		b.WriteString(` AND assignee IS NULL`)
	}
	if q.Customer != "" {
		b.WriteString(` AND customer = ` + p.add(q.Customer))
	}
	if q.Exclude != "" {
		b.WriteString(` AND t.id <> ` + p.add(q.Exclude))
	}
	if withCursor && q.After != nil {
		// Keyset paging: strictly after the cursor in (created_at, id)
		// descending order. A row value comparison is a range on the index.
		b.WriteString(` AND (t.created_at, t.id) < (` + p.add(nanos(q.After.CreatedAt)) + `, ` + p.add(q.After.ID) + `)`)
	}
	return b.String()
}

// ticketFrom is the FROM clause of a ticket list.
func ticketFrom(q core.TicketQuery) string {
	if q.Search != "" {
		return ` FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id`
	}
	return ` FROM tickets t`
}

// listTicketsSQL returns the query and arguments of ListTickets.
func listTicketsSQL(q core.TicketQuery) (string, []any) {
	var p params
	where := ticketWhere(q, true, &p)
	return `SELECT ` + ticketListColumns + ticketFrom(q) + where + listOrder(q, &p), p.args
}

// listOrder returns the ORDER BY, LIMIT and OFFSET of a ticket list.
func listOrder(q core.TicketQuery, p *params) string {
	order := ` ORDER BY t.activity_at DESC, t.id DESC`
	if q.After != nil || q.Sort == core.SortCreated {
		order = ` ORDER BY t.created_at DESC, t.id DESC`
	}
	limit := p.add(q.Limit)
	offset := p.add(max(q.Offset, 0))
	return order + ` LIMIT ` + limit + ` OFFSET ` + offset
}

// countTicketsSQL returns the query and arguments of CountTickets.
func countTicketsSQL(q core.TicketQuery) (string, []any) {
	var p params
	where := ticketWhere(q, false, &p)
	if q.CountMax > 0 {
		return `SELECT COUNT(*) FROM (SELECT 1` + ticketFrom(q) + where + ` LIMIT ` + p.add(q.CountMax) + `) AS capped`, p.args
	}
	return `SELECT COUNT(*)` + ticketFrom(q) + where, p.args
}

// ListTickets returns at most q.Limit tickets; a Limit below 1 is refused
// (lists are always paged).
func (t *tx) ListTickets(ctx context.Context, q core.TicketQuery) ([]core.Ticket, error) {
	if q.Limit < 1 {
		return nil, fmt.Errorf("list tickets: %w", core.Invalid("a ticket list needs a limit"))
	}
	if ok, err := t.tsquery(ctx, &q); !ok || err != nil {
		return nil, err
	}
	query, args := listTicketsSQL(q)
	if !t.write && t.counts == nil && countedBySums(q) {
		return t.listWithSums(ctx, query, args)
	}
	return queryAll(ctx, t, "list tickets", scanTicket, query, args...)
}

// CountTickets counts from the sharded counters of migration 0009 when
// only assignee and status narrow the view, as SQLite does from its own.
func (t *tx) CountTickets(ctx context.Context, q core.TicketQuery) (int, error) {
	if countedBySums(q) {
		n, err := t.countFromCounters(ctx, q)
		if q.CountMax > 0 {
			n = min(n, q.CountMax)
		}
		return n, err
	}
	if ok, err := t.tsquery(ctx, &q); !ok || err != nil {
		return 0, err
	}
	query, args := countTicketsSQL(q)
	return t.count(ctx, "count tickets", query, args...)
}

// Entries and attachments.

// The column lists and scans of entries and attachments are store/sqlrows'.
const entryColumns = sqlrows.EntryColumns

// AddEntry inserts the entry (its id from the store's block, see idBlock)
// and then its attachments. An entry for a ticket that does not exist gives
// ErrNotFound (and aborts the transaction).
func (t *tx) AddEntry(ctx context.Context, e *core.Entry) error {
	return t.addEntry(ctx, e, "")
}

// addEntry is AddEntry; also is an expression for the insert's RETURNING
// clause (see insertReturningID), "" for none.
func (t *tx) addEntry(ctx context.Context, e *core.Entry, also string) error {
	what := "add entry to ticket " + e.TicketID
	const insert = `INSERT INTO entries
		(ticket_id, created_at, author_kind, author, author_name, internal, text, automatic, message_id, from_ticket)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	id, err := t.insertReturningID(ctx, what, t.entryIDs, also, insert, adds(),
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
		var aid int64
		if err := t.queryRow(ctx, "add attachment to ticket "+e.TicketID, []any{&aid}, `INSERT INTO attachments
			(entry_id, filename, content_type, size, content_id, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			id, a.Filename, a.ContentType, a.Size, a.ContentID, notNil(a.Data)); err != nil {
			return err
		}
		a.ID = aid
	}
	e.ID = id
	if core.Searchable(e.AuthorKind) {
		t.addWords(e.TicketID, id, e.Text)
	}
	return nil
}

func (t *tx) Entries(ctx context.Context, ticketID string, withInternal bool) ([]core.Entry, error) {
	what := "entries of ticket " + ticketID
	// The attachments of all these entries in one query (metadata only).
	entries, attachments := entriesSQL(withInternal)
	if !t.write {
		// A page that shows a ticket waits for one round trip for its
		// entries instead of two.
		es, as, err := readTwo(ctx, t, what, entries, []any{ticketID}, scanEntry,
			attachments, []any{ticketID}, rowScan(sqlrows.ScanEntryAttachment))
		if err != nil {
			return nil, err
		}
		sqlrows.Attach(es, as)
		return es, nil
	}
	es, err := queryAll(ctx, t, what, scanEntry, entries, ticketID)
	if err != nil || len(es) == 0 {
		return es, err
	}
	as, err := queryAll(ctx, t, what+": attachments", rowScan(sqlrows.ScanEntryAttachment), attachments, ticketID)
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
		FROM attachments a JOIN entries e ON e.id = a.entry_id WHERE a.id = $1`, id); err != nil {
		return core.Attachment{}, core.Entry{}, err
	}
	a, e := s.Attachment()
	return a, e, nil
}

// Message-IDs.

// RememberMessageID records a Message-ID; one recorded already gives
// ErrDuplicate and leaves the transaction usable. Sent ahead, the
// Message-IDs of one transaction go in one insert (a new ticket remembers
// the customer's and its confirmation's): nothing refers to message_ids.
func (t *tx) RememberMessageID(ctx context.Context, msgID, ticketID string, inbound bool) error {
	what := "remember message id " + msgID
	const insert = `INSERT INTO message_ids (message_id, ticket_id, inbound) VALUES ($1, $2, $3)`
	if t.ahead {
		if err := t.check(what); err != nil {
			return err
		}
		t.tx.laterRow(what, insert, []any{msgID, ticketID, inbound}, adds(messageIDKey(msgID)))
		return nil
	}
	n, err := t.exec(ctx, what, insert+` ON CONFLICT DO NOTHING`, msgID, ticketID, inbound)
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: %w", what, core.ErrDuplicate)
	}
	return err
}

func (t *tx) MessageIDTicket(ctx context.Context, msgID string) (string, bool, error) {
	var ticketID string
	var inbound bool
	if err := t.queryRow(ctx, "message id "+msgID, []any{&ticketID, &inbound},
		`SELECT ticket_id, inbound FROM message_ids WHERE message_id = $1`, msgID); err != nil {
		return "", false, err
	}
	return ticketID, inbound, nil
}

// The outbox.

const mailColumns = `id, ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to,
	refs, automatic, state, created_at, sent_at, attempts, next_try, last_error, personal`

func scanMail(row pgx.CollectableRow) (core.OutMail, error) {
	var m core.OutMail
	var refs, state string
	var createdAt, sentAt, nextTry int64
	if err := row.Scan(&m.ID, &m.TicketID, &m.From, &m.To, &m.ReplyTo, &m.Subject, &m.Body, &m.MessageID,
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

func (t *tx) QueueMail(ctx context.Context, m *core.OutMail) error {
	m.State = core.MailPending
	tc := adds()
	if m.Automatic {
		tc = adds(automaticToKey(m.To))
	}
	id, err := t.insertReturningID(ctx, "queue mail for ticket "+m.TicketID, t.mailIDs, "", `INSERT INTO outbox
		(ticket_id, from_addr, to_addr, reply_to, subject, body, message_id, in_reply_to,
		 refs, automatic, state, created_at, sent_at, attempts, next_try, last_error, to_key, personal, listing)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`, tc,
		m.TicketID, m.From, m.To, m.ReplyTo, m.Subject, m.Body, m.MessageID, m.InReplyTo,
		strings.Join(m.References, "\n"), m.Automatic, string(m.State), nanos(m.CreatedAt), nanos(m.SentAt),
		m.Attempts, nanos(m.NextTry), m.LastError, core.NormalizeAddress(m.To), m.Personal, nullString(m.Listing))
	if err != nil {
		return err
	}
	m.ID = id
	return nil
}

func (t *tx) MarkMailSent(ctx context.Context, id int64, at time.Time) (bool, error) {
	n, err := t.exec(ctx, fmt.Sprintf("mark mail %d sent", id),
		`UPDATE outbox SET state = 'sent', sent_at = $1 WHERE id = $2 AND state = 'pending'`, nanos(at), id)
	return n == 1, err
}

func (t *tx) CountAutomaticMails(ctx context.Context, to string, since time.Time) (int, error) {
	return t.count(ctx, "count automatic mails to "+to,
		`SELECT COUNT(*) FROM outbox WHERE automatic AND to_key = $1 AND created_at >= $2`, core.NormalizeAddress(to), nanos(since))
}

// ClaimMails leases due mails in one statement. FOR UPDATE SKIP LOCKED
// passes over mails that a concurrent claim has locked, so dispatchers
// claiming at once take different mails instead of waiting for each other.
func (t *tx) ClaimMails(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]core.OutMail, error) {
	ms, err := queryAll(ctx, t, "claim mails", scanMail, `UPDATE outbox SET lease_owner = $1, lease_until = $2
		WHERE id IN (SELECT id FROM outbox
			WHERE state = 'pending' AND next_try <= $3 AND (lease_until <= $3 OR lease_owner = $1)
			ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+mailColumns, owner, nanos(leaseUntil), nanos(now), limit)
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order.
	slices.SortFunc(ms, func(a, b core.OutMail) int { return cmp.Compare(a.ID, b.ID) })
	return ms, nil
}

func (t *tx) RetryMail(ctx context.Context, id int64, nextTry time.Time, lastError string) error {
	n, err := t.exec(ctx, fmt.Sprintf("retry mail %d", id), `UPDATE outbox
		SET attempts = attempts + 1, next_try = $1, last_error = $2, lease_owner = '', lease_until = 0
		WHERE id = $3 AND state = 'pending'`, nanos(nextTry), lastError, id)
	if err == nil && n == 0 {
		err = fmt.Errorf("retry mail %d: %w", id, core.ErrNotFound)
	}
	return err
}

func (t *tx) ReleaseMail(ctx context.Context, id int64, owner string) error {
	_, err := t.exec(ctx, fmt.Sprintf("release mail %d", id), `UPDATE outbox SET lease_owner = '', lease_until = 0
		WHERE id = $1 AND state = 'pending' AND lease_owner = $2`, id, owner)
	return err
}

func (t *tx) MarkMailFailed(ctx context.Context, id int64, state core.MailState, reason string, at time.Time) (bool, error) {
	n, err := t.exec(ctx, fmt.Sprintf("mark mail %d %s", id, state), `UPDATE outbox
		SET state = $1, last_error = $2, sent_at = $3, lease_owner = '', lease_until = 0
		WHERE id = $4 AND state IN ('pending', 'sent')`, string(state), reason, nanos(at), id)
	return n == 1, err
}

func (t *tx) MailByMessageID(ctx context.Context, msgID string) (core.OutMail, error) {
	what := "mail " + msgID
	ms, err := queryAll(ctx, t, what, scanMail, `SELECT `+mailColumns+` FROM outbox
		WHERE message_id = $1 ORDER BY id LIMIT 1`, msgID)
	if err != nil {
		return core.OutMail{}, err
	}
	if len(ms) == 0 {
		return core.OutMail{}, fmt.Errorf("%s: %w", what, core.ErrNotFound)
	}
	return ms[0], nil
}

func (t *tx) CountMails(ctx context.Context, state core.MailState) (int, error) {
	return t.count(ctx, "count "+string(state)+" mails", `SELECT COUNT(*) FROM outbox WHERE state = $1`, string(state))
}

// Leases.

// Login throttles.

// LockLoginThrottle creates the record or, when it exists, updates it to
// itself: either way the row is locked until the transaction ends (on
// SQLite, writers run one at a time anyway) and RETURNING gives its
// current values.
func (t *tx) LockLoginThrottle(ctx context.Context, key string, now time.Time) (core.LoginThrottle, error) {
	var s sqlrows.ThrottleRow
	if err := t.queryRow(ctx, "lock login throttle", s.Dest(),
		`INSERT INTO login_throttles (key, `+sqlrows.ThrottleColumns+`)
		VALUES ($1, 0, 0, 0, 0, $2)
		ON CONFLICT (key) DO UPDATE SET last = login_throttles.last
		RETURNING `+sqlrows.ThrottleColumns, key, nanos(now)); err != nil {
		return core.LoginThrottle{}, err
	}
	return s.Throttle(), nil
}

func (t *tx) PutLoginThrottle(ctx context.Context, key string, e core.LoginThrottle) error {
	_, err := t.exec(ctx, "store login throttle "+key, `INSERT INTO login_throttles
		(key, failures, window_start, lockouts, locked_until, last) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
		lockouts = excluded.lockouts, locked_until = excluded.locked_until, last = excluded.last`,
		key, e.Failures, nanos(e.WindowStart), e.Lockouts, nanos(e.LockedUntil), nanos(e.Last))
	return err
}

func (t *tx) DeleteLoginThrottle(ctx context.Context, key string) error {
	_, err := t.exec(ctx, "delete login throttle "+key, `DELETE FROM login_throttles WHERE key = $1`, key)
	return err
}

func (t *tx) DeleteIdleLoginThrottles(ctx context.Context, idleSince, now time.Time) error {
	_, err := t.exec(ctx, "delete idle login throttles", `DELETE FROM login_throttles
		WHERE last < $1 AND locked_until <= $2`, nanos(idleSince), nanos(now))
	return err
}

// AcquireLease inserts the lease, or takes it over when owner holds it
// already or it has run out, in one statement.
func (t *tx) AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	n, err := t.exec(ctx, "acquire lease "+name, `INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE leases.owner = excluded.owner OR leases.expires_at <= $4`, name, owner, nanos(until), nanos(now))
	return n == 1, err
}

func (t *tx) ReleaseLease(ctx context.Context, name, owner string) error {
	_, err := t.exec(ctx, "release lease "+name, `DELETE FROM leases WHERE name = $1 AND owner = $2`, name, owner)
	return err
}

// Agents.

// CreateAgent inserts an agent. A taken username gives ErrDuplicate and
// leaves the transaction usable.
func (t *tx) CreateAgent(ctx context.Context, a core.Agent) error {
	what := "create agent " + a.Username
	n, err := t.exec(ctx, what, `INSERT INTO agents
		(username, name, password_hash, vacation, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		a.Username, a.Name, notNil(a.PasswordHash), a.Vacation, nanos(a.CreatedAt))
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: %w", what, core.ErrDuplicate)
	}
	if err != nil || a.TimeZone == "" {
		return err
	}
	_, err = t.exec(ctx, "set time zone of agent "+a.Username, `UPDATE agents SET time_zone = $1 WHERE username = $2`,
		a.TimeZone, a.Username)
	return err
}

func (t *tx) Agent(ctx context.Context, username string) (core.Agent, error) {
	var s sqlrows.AgentRow
	if err := t.queryRow(ctx, "agent "+username, s.Dest(),
		`SELECT `+sqlrows.AgentColumns+` FROM agents WHERE username = $1`, username); err != nil {
		return core.Agent{}, err
	}
	return s.Agent(), nil
}

func (t *tx) Agents(ctx context.Context) ([]core.Agent, error) {
	return queryAll(ctx, t, "list agents", scanAgent, `SELECT `+sqlrows.AgentColumns+` FROM agents ORDER BY username`)
}

func (t *tx) UpdateAgent(ctx context.Context, a core.Agent) error {
	n, err := t.exec(ctx, "update agent "+a.Username,
		`UPDATE agents SET name = $1, password_hash = $2, vacation = $3, time_zone = $4 WHERE username = $5`,
		a.Name, notNil(a.PasswordHash), a.Vacation, a.TimeZone, a.Username)
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
	n, err := t.exec(ctx, "delete agent "+username, `DELETE FROM agents WHERE username = $1`, username)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("delete agent %s: %w", username, core.ErrNotFound)
	}
	return nil
}

// Sessions.

// CreateSession inserts a session. A taken token hash gives ErrDuplicate
// and leaves the transaction usable; an unknown agent gives ErrNotFound.
func (t *tx) CreateSession(ctx context.Context, s core.Session) error {
	what := "create session for " + s.Username
	n, err := t.exec(ctx, what, `INSERT INTO sessions
		(token_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		s.TokenHash, s.Username, nanos(s.CreatedAt), nanos(s.ExpiresAt))
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: %w", what, core.ErrDuplicate)
	}
	return err
}

func (t *tx) Session(ctx context.Context, tokenHash string) (core.Session, error) {
	var s sqlrows.TokenRow
	if err := t.queryRow(ctx, "session", s.Dest(),
		`SELECT `+sqlrows.TokenColumns+` FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return core.Session{}, err
	}
	return s.Session(), nil
}

func (t *tx) DeleteSession(ctx context.Context, tokenHash string) error {
	n, err := t.exec(ctx, "delete session", `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("delete session: %w", core.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteSessions(ctx context.Context, username string) error {
	_, err := t.exec(ctx, "delete sessions of "+username, `DELETE FROM sessions WHERE username = $1`, username)
	return err
}

// DeleteExpiredSessions removes sessions whose expiry is not after now (core
// treats a session as expired from its ExpiresAt on).
func (t *tx) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := t.exec(ctx, "delete expired sessions", `DELETE FROM sessions WHERE expires_at <= $1`, nanos(now))
	return err
}

// Trusted devices.

func (t *tx) CreateTrustedDevice(ctx context.Context, d core.TrustedDevice) error {
	what := "trust a device of " + d.Username
	n, err := t.exec(ctx, what, `INSERT INTO trusted_devices
		(token_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		d.TokenHash, d.Username, nanos(d.CreatedAt), nanos(d.ExpiresAt))
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: %w", what, core.ErrDuplicate)
	}
	return err
}

func (t *tx) TrustedDevice(ctx context.Context, tokenHash string) (core.TrustedDevice, error) {
	var s sqlrows.TokenRow
	if err := t.queryRow(ctx, "trusted device", s.Dest(),
		`SELECT `+sqlrows.TokenColumns+` FROM trusted_devices WHERE token_hash = $1`, tokenHash); err != nil {
		return core.TrustedDevice{}, err
	}
	return s.TrustedDevice(), nil
}

func (t *tx) DeleteTrustedDevices(ctx context.Context, username string) error {
	_, err := t.exec(ctx, "delete trusted devices of "+username, `DELETE FROM trusted_devices WHERE username = $1`, username)
	return err
}

func (t *tx) DeleteExpiredTrustedDevices(ctx context.Context, now time.Time) error {
	_, err := t.exec(ctx, "delete expired trusted devices", `DELETE FROM trusted_devices WHERE expires_at <= $1`, nanos(now))
	return err
}
