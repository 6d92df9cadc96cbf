package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// conn is the connection of one transaction, which spares round trips:
// its BEGIN is not sent alone but with the transaction's first statement,
// and writes whose outcome the caller does not wait for (queued with
// later) go with the next statement that needs an answer, or with the
// COMMIT. A transaction that ends without a statement costs none.
//
// A queued write that fails aborts the transaction like any failed
// statement; its error comes back from the statement it travelled with,
// as a *queuedError, so that Update can run its function again without
// queueing (then each write reports its own error where it is made).
type conn struct {
	c        *pgxpool.Conn
	begin    string   // the BEGIN not sent yet; "" once sent
	queued   []queued // writes that go with the next statement
	sent     bool     // a statement reached the connection: ROLLBACK is needed
	startErr error    // the batch that carried BEGIN failed there
}

// queued is a write that waits for the next statement.
type queued struct {
	what  string
	query string
	args  []any
	// rowsOf is the one-row insert whose rows query inserts (laterRow),
	// "" for any other write.
	rowsOf string
	// touch is what the write changes that a read beside the queue may
	// ask for (see independent).
	touch touch
}

// touch says what a queued write changes of the rows that a read beside
// the queue (queryBeside) may ask for. The only such read is
// ReceiveFacts's, of message_ids, of the automatic mails in outbox and of
// agent_mail; its keys are messageIDKey and automaticToKey.
type touch struct {
	known bool     // the write changes nothing such a read asks for but keys
	keys  []string // the rows it adds that such a read may ask for
}

// touchesAny is the touch of a write not marked: it may change anything.
var touchesAny = touch{}

// adds is the touch of a write that changes, of what a read beside the
// queue may ask for, only the rows that keys name.
func adds(keys ...string) touch { return touch{known: true, keys: keys} }

// maxParams is the most parameters laterRow puts in one statement, under
// PostgreSQL's limit of 65,535.
const maxParams = 30000

// queuedError is the failure of a queued write.
type queuedError struct {
	what string
	err  error
}

func (e *queuedError) Error() string { return e.what + ": " + e.err.Error() }
func (e *queuedError) Unwrap() error { return e.err }

// beginSQL is the BEGIN of a transaction with opts (Update's and View's).
func beginSQL(opts pgx.TxOptions) string {
	s := "BEGIN ISOLATION LEVEL " + string(opts.IsoLevel)
	if opts.AccessMode != "" {
		s += " " + string(opts.AccessMode)
	}
	return s
}

// later queues a write for the next statement or the COMMIT.
func (c *conn) later(what, query string, args []any, tc touch) {
	c.queued = append(c.queued, queued{what: what, query: query, args: args, touch: tc})
}

// laterRow queues insert, an INSERT … VALUES (…) of one row of args, as
// one more row of the same insert already waiting, if any: the rows go in
// one statement, at the place of the last. Only for a table that no other
// table refers to, whose rows no trigger reads and no queued write
// changes, since its earlier rows are inserted later than they were
// queued; the rows they refer to were queued before them and so still
// come first.
func (c *conn) laterRow(what, insert string, args []any, tc touch) {
	at := strings.LastIndex(insert, "VALUES (") + len("VALUES ")
	c.laterRows(what, insert[:at], insert[at:], "", args, tc)
}

// laterRows is laterRow of the insert head+row+tail, whose tail follows
// its one row of values (an ON CONFLICT clause): rows of the same insert
// go in before the tail.
func (c *conn) laterRows(what, head, row, tail string, args []any, tc touch) {
	insert := head + row + tail
	for i, q := range c.queued {
		if q.rowsOf != insert || len(q.args)+len(args) > maxParams {
			continue
		}
		c.queued = append(c.queued[:i], c.queued[i+1:]...)
		rows := strings.TrimSuffix(q.query, tail) + ", " + renumber(row, len(q.args)) + tail
		tc = touch{known: q.touch.known && tc.known, keys: append(q.touch.keys, tc.keys...)}
		c.queued = append(c.queued, queued{what: what, query: rows, args: append(q.args, args...), rowsOf: insert, touch: tc})
		return
	}
	c.queued = append(c.queued, queued{what: what, query: insert, args: args, rowsOf: insert, touch: tc})
}

// renumber returns the parameters $1, $2 … of sql as $(1+by), $(2+by) ….
func renumber(sql string, by int) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(sql, '$')
		if i < 0 {
			return b.String() + sql
		}
		j := i + 1
		for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(sql[i+1 : j])
		b.WriteString(sql[:i+1])
		if err == nil {
			b.WriteString(strconv.Itoa(n + by))
		}
		sql = sql[j:]
	}
}

// independent reports whether a read of the rows that keys name gives the
// same answer beside the queue (queryBeside) as after it: every write that
// waits is marked (see touch), and none adds such a row.
func (c *conn) independent(keys ...string) bool {
	for _, q := range c.queued {
		if !q.touch.known {
			return false
		}
		for _, k := range q.touch.keys {
			if slices.Contains(keys, k) {
				return false
			}
		}
	}
	return true
}

// queryBeside runs a query ahead of the writes that wait, which keep
// waiting: for a read that they cannot change (independent), so that the
// writes of several steps gather for one batch, where laterRow makes one
// statement of their rows. BEGIN goes with it when not sent yet.
func (c *conn) queryBeside(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	if c.begin == "" {
		return c.c.Query(ctx, query, args...)
	}
	var b pgx.Batch
	b.Queue(c.begin)
	b.Queue(query, args...)
	c.begin, c.sent = "", true
	br := c.c.SendBatch(ctx, &b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		c.startErr = err
		return nil, fmt.Errorf("begin: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// direct reports whether a statement can go alone: BEGIN was sent and no
// write waits.
func (c *conn) direct() bool { return c.begin == "" && len(c.queued) == 0 }

// send sends BEGIN (when not sent yet), the queued writes and query in one
// batch, reads the results before query's and returns the batch to read
// query's from; the caller closes it.
func (c *conn) send(ctx context.Context, query string, args []any) (pgx.BatchResults, error) {
	var b pgx.Batch
	b.Queue(query, args...)
	return c.sendReads(ctx, &b)
}

// sendReads sends BEGIN (when not sent yet), the queued writes and the
// queries of b in one batch, and returns the batch positioned at the
// first of b's results; the caller reads each of them in turn and closes
// it. It is send for several queries whose answers the caller needs
// together.
func (c *conn) sendReads(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	var all pgx.Batch
	begin := c.begin != ""
	if begin {
		all.Queue(c.begin)
	}
	for _, q := range c.queued {
		all.Queue(q.query, q.args...)
	}
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	ws := c.queued
	c.begin, c.queued, c.sent = "", nil, true
	br := c.c.SendBatch(ctx, &all)
	if begin {
		if _, err := br.Exec(); err != nil {
			br.Close()
			c.startErr = err
			return nil, fmt.Errorf("begin: %w", err)
		}
	}
	for _, w := range ws {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, &queuedError{what: w.what, err: err}
		}
	}
	return br, nil
}

// Exec runs a statement (pgx's Conn.Exec).
func (c *conn) Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	if c.direct() {
		return c.c.Exec(ctx, query, args...)
	}
	br, err := c.send(ctx, query, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// QueryRow runs a query of one row (pgx's Conn.QueryRow).
func (c *conn) QueryRow(ctx context.Context, query string, args ...any) pgx.Row {
	if c.direct() {
		return c.c.QueryRow(ctx, query, args...)
	}
	br, err := c.send(ctx, query, args)
	return rowFunc(func(dest ...any) error {
		if err != nil {
			return err
		}
		err := br.QueryRow().Scan(dest...)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// rowFunc is a pgx.Row.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

// Query runs a query (pgx's Conn.Query).
func (c *conn) Query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	if c.direct() {
		return c.c.Query(ctx, query, args...)
	}
	br, err := c.send(ctx, query, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// batchRows are the rows of the last query of a batch; the batch is closed
// with them (or when they run out), and its error is theirs.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// commit sends the queued writes and COMMIT. A transaction that sent
// nothing commits without a round trip.
func (c *conn) commit(ctx context.Context) error {
	if c.begin != "" && len(c.queued) == 0 {
		c.begin = ""
		return nil
	}
	tag, err := c.Exec(ctx, "COMMIT")
	if err == nil && tag.String() != "COMMIT" {
		// The server ended the transaction as failed.
		err = pgx.ErrTxCommitRollback
	}
	return err
}

// rollback ends the transaction without committing; the queued writes are
// dropped unsent. A transaction that sent nothing needs no ROLLBACK.
func (c *conn) rollback(ctx context.Context) error {
	c.begin, c.queued = "", nil
	if !c.sent {
		return nil
	}
	_, err := c.c.Exec(ctx, "ROLLBACK")
	return err
}

// queuedFailed reports whether err is the failure of a queued write.
func queuedFailed(err error) bool {
	var qe *queuedError
	return errors.As(err, &qe)
}

// read is one query of a batch of reads (readBatch) and what takes its
// rows.
type read struct {
	query string
	args  []any
	take  func(pgx.Rows) error
}

// collect returns a read's take that collects every row with scan into
// *out.
func collect[T any](out *[]T, scan func(pgx.CollectableRow) (T, error)) func(pgx.Rows) error {
	return func(rows pgx.Rows) (err error) {
		*out, err = pgx.CollectRows(rows, scan)
		return err
	}
}

// readBatch sends the queries of reads in one batch (after BEGIN and the
// waiting writes, see sendReads) and gives each read its rows in turn: one
// round trip where a step needs several results that do not depend on
// each other's answers.
func readBatch(ctx context.Context, t *tx, what string, reads ...read) error {
	if err := t.check(what); err != nil {
		return err
	}
	ctx, cancel := t.bound(ctx)
	defer cancel()
	var b pgx.Batch
	for _, r := range reads {
		b.Queue(r.query, r.args...)
	}
	br, err := t.tx.sendReads(ctx, &b)
	if err != nil {
		return t.fail(what, err)
	}
	defer br.Close()
	for _, r := range reads {
		rows, err := br.Query()
		if err != nil {
			return t.fail(what, err)
		}
		if err := r.take(rows); err != nil {
			return t.fail(what, err)
		}
	}
	if err := br.Close(); err != nil {
		return t.fail(what, err)
	}
	return nil
}

// readTwo is readBatch of two queries that collect every row.
func readTwo[A, B any](ctx context.Context, t *tx, what string,
	queryA string, argsA []any, scanA func(pgx.CollectableRow) (A, error),
	queryB string, argsB []any, scanB func(pgx.CollectableRow) (B, error)) ([]A, []B, error) {
	var (
		as []A
		bs []B
	)
	if err := readBatch(ctx, t, what, read{queryA, argsA, collect(&as, scanA)}, read{queryB, argsB, collect(&bs, scanB)}); err != nil {
		return nil, nil, err
	}
	return as, bs, nil
}
