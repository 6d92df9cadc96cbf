// Package postgres is core.Store on PostgreSQL, for teams that run several
// ticketd daemons behind a load balancer on one database. It uses the pgx
// native API with a connection pool (pgxpool), not database/sql.
//
// The schema is the same as store/sqlite's, as numbered, append-only
// migrations embedded in the binary (with the same numbers and meaning) and
// applied by Open in one transaction under an advisory lock, so daemons
// starting together migrate one after the other. Times are stored as unix
// nanoseconds, exactly as in SQLite.
//
// Update runs its function in a SERIALIZABLE transaction. Core reads, checks
// and writes inside one Update (two agents assigning one ticket at once:
// exactly one wins), and serializable isolation makes that safe without
// explicit row locks: PostgreSQL aborts one of two conflicting transactions
// with a serialization failure, and Update runs the whole function again
// (a bounded number of times, with a short jittered pause). Functions given
// to Update must therefore be safe to run more than once, which they are
// when they only change the store and their own results. View runs a
// REPEATABLE READ READ ONLY transaction: one consistent snapshot that never
// waits for writers.
//
// Unlike SQLite, PostgreSQL aborts a transaction at the first failing
// statement. Unique values are therefore inserted with ON CONFLICT DO
// NOTHING, so ErrDuplicate leaves the transaction usable, as in SQLite; after
// any other database error (a reference to a missing ticket, a write in
// View) every further call of the Tx fails.
//
// Round trips are the cost of a transaction on a loaded machine, so a
// transaction spares them: BEGIN travels with its first statement, writes
// that report nothing but their failure (a new ticket, a Message-ID) with
// the next statement or the COMMIT, in one pgx batch; when such a write
// fails, Update runs its function again with every write sent at its call,
// so that the function sees ErrDuplicate or ErrNotFound where it expects
// it. A ticket's search index is rebuilt once, at the commit (migration
// 0008).
//
// The connection URL is pgx's: postgres://user:password@host:port/db?…, with
// pool settings such as pool_max_conns and run-time parameters such as
// search_path (to keep the tables in a schema of their own). The role needs
// the right to create tables in that schema. Connecting times out after
// DefaultConnectTimeout unless the URL sets connect_timeout.
//
// Errors that mean "try again later" (the server unreachable, shutting
// down or hung, too many connections, a serialization failure retried in
// vain, a deadline that ended) are marked as core.ErrUnavailable; a
// transaction that could not get a connection is begun again until its
// context's deadline.
//
// The package implements persistence only: it knows no domain rules (those
// are in package core).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"trivialtickets/core"
)

// maxAttempts bounds how often Update runs its function when PostgreSQL
// aborts it for a serialization failure or a deadlock.
const maxAttempts = 12

// DefaultConnectTimeout bounds each attempt to connect to the server when
// the URL sets no connect_timeout (or sets 0).
const DefaultConnectTimeout = 5 * time.Second

// DefaultPoolSize is the most connections a Store opens when the URL sets
// no pool_max_conns, or the number of CPUs when larger. Every commit waits for its WAL flush, and at most as
// many commits share one flush as there are connections: with pgx's
// default of max(4, CPUs), 64 Mail API clients on 2 cores whose disk
// flushed 440 times a second made 304 creations/s with 4 connections, 535
// with 8 and 540 with 16 (medians of 3 runs taking turns, bench/pgreceive.sh).
const DefaultPoolSize = 16

// rollbackTimeout bounds the ROLLBACK after a failed or cancelled
// transaction, which runs even when the caller's context has ended.
const rollbackTimeout = 5 * time.Second

// commitTimeout bounds the wait for a COMMIT's answer, which does not end
// with the caller's budget.
const commitTimeout = 30 * time.Second

// Store is core.Store on a PostgreSQL database. It is safe for concurrent
// use.
type Store struct {
	pool    *pgxpool.Pool
	retries atomic.Int64 // how often Update ran a function again
	// giveWords: the schema takes the search words of new tickets and
	// entries from the daemon (ticket_search.merged, migration 0012).
	giveWords bool
	// entryIDs and mailIDs hand out ids for inserts sent ahead.
	entryIDs, mailIDs idBlock
	// groups gathers UpdateGrouped calls (group.go).
	groups groups
}

var _ core.Store = (*Store)(nil)

// Open connects to the PostgreSQL database at url (a pool of connections)
// and applies the migrations it lacks. It fails with an error wrapping
// ErrSchemaTooNew when the database was migrated by a newer program.
func Open(ctx context.Context, url string) (*Store, error) {
	if url == "" {
		return nil, errors.New("postgres: open: empty URL")
	}
	return open(ctx, url, migrations)
}

// open is Open with the migration list given, so tests can apply a prefix.
func open(ctx context.Context, url string, ms []migration) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The error of ParseConfig can quote the URL, password and all.
		return nil, errors.New("postgres: open: malformed database URL")
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		// Without one, a connection to a hung server waits for the
		// caller's context alone, and pgx's own dial has no bound.
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if !setsPoolSize(url) {
		cfg.MaxConns = max(cfg.MaxConns, DefaultPoolSize) // pgx's is max(4, CPUs)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: connect to %s: %w", where(cfg), rootCause(err))
	}
	if err := migrate(ctx, pool, ms); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", where(cfg), err)
	}
	s, err := newStore(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", where(cfg), err)
	}
	return s, nil
}

// newStore is the Store on pool, whose database is migrated.
func newStore(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	s := &Store{pool: pool, entryIDs: idBlock{table: "entries"}, mailIDs: idBlock{table: "outbox", rows: true},
		groups: groups{runners: defaultGroupRunners}}
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'ticket_search' AND column_name = 'merged')`).Scan(&s.giveWords); err != nil {
		return nil, fmt.Errorf("read the schema: %w", err)
	}
	return s, nil
}

// where names the database of cfg for messages, without the password.
func where(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("database %q on %s:%d", c.Database, c.Host, c.Port)
}

// Close closes the connection pool; it waits for connections in use to be
// given back.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Update runs fn in one READ COMMITTED transaction and commits it when fn
// returns nil. When fn returns an error, Update rolls back and returns that
// error as it is. When PostgreSQL aborts the transaction for a deadlock or a
// serialization failure (SQLSTATE 40P01, 40001), Update rolls back and runs
// fn again, up to maxAttempts times. ctx bounds every statement and the
// pauses between attempts.
//
// Races are decided by locks and keys, not by SERIALIZABLE's predicate
// locks (which, with 64 concurrent receives, aborted most of them on the
// shared index pages): a ticket read in Update is locked FOR UPDATE until
// the commit, so read-check-write on a ticket (two agents assigning it)
// runs one after the other and the second sees the first's result; unique
// keys decide duplicate Message-IDs; outbox claims skip locked rows.
func (s *Store) Update(ctx context.Context, fn func(core.Tx) error) error {
	return s.transact(ctx, writeTx, fn, maxAttempts)
}

// View runs fn in a read-only transaction on a consistent snapshot
// (REPEATABLE READ READ ONLY), which never waits for writers. Writes
// through its Tx fail.
func (s *Store) View(ctx context.Context, fn func(core.Tx) error) error {
	return s.transact(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn, maxAttempts)
}

// writeTx are the options of Update's transactions.
var writeTx = pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}

// transact runs fn in a transaction with opts, and again after a
// serialization failure or a deadlock, or when a pooled connection turned
// out dead before BEGIN reached the server (a database restart), up to
// tries times in all.
//
// An Update first runs fn with the writes that report nothing but their
// failure sent ahead with the next statement or the COMMIT (see conn).
// When one of them fails, the transaction is rolled back and fn run once
// more with every write sent at its call, so that fn sees the error
// (ErrDuplicate, ErrNotFound) where it made the write; fn must be safe to
// run again anyway.
//
// A transaction that could not begin because the server cannot be reached
// or takes no more connections is tried again until ctx's deadline (the
// caller's time budget), or maxAttempts times without one. Errors that mean
// "try again later" are returned marked as core.ErrUnavailable.
func (s *Store) transact(ctx context.Context, opts pgx.TxOptions, fn func(core.Tx) error, tries int) error {
	ahead := opts.AccessMode != pgx.ReadOnly
	var unreached error // the last attempt's error when the server could not be reached
	for attempt := 1; ; attempt++ {
		again, err := s.run(ctx, opts, fn, ahead)
		if unreached != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// The deadline came while this attempt waited for a
			// connection: the cause is what the attempts before met.
			return classify(fmt.Errorf("%w (%w)", unreached, ctx.Err()))
		}
		if ahead && again && queuedFailed(err) && !retryable(err) {
			ahead = false
			s.retries.Add(1)
			continue
		}
		if !again {
			return classify(err)
		}
		_, hasDeadline := ctx.Deadline()
		if attempt >= tries && !(hasDeadline && unreachable(err)) {
			return classify(fmt.Errorf("postgres: gave up after %d attempts: %w", attempt, err))
		}
		s.retries.Add(1)
		pause := backoff(attempt)
		if unreachable(err) {
			pause = connectBackoff(attempt)
			unreached = err
		}
		select {
		case <-ctx.Done():
			return classify(fmt.Errorf("%w (%w)", err, ctx.Err()))
		case <-time.After(pause):
		}
	}
}

// connectBackoff is the pause after a failed connect: from about 10 ms up
// to about 500 ms, randomised.
func connectBackoff(attempt int) time.Duration {
	d := min(10*time.Millisecond<<min(attempt, 10), 500*time.Millisecond)
	return d/2 + rand.N(d)
}

// backoff is the pause after the given failed attempt: growing from about
// 2 ms to about 100 ms, each randomised so that the transactions that
// collided do not collide again.
func backoff(attempt int) time.Duration {
	d := min(time.Millisecond<<attempt, 100*time.Millisecond)
	return d/2 + rand.N(d)
}

// run runs fn once in a transaction with opts; ahead lets writes wait for
// the next statement (see conn). again reports a serialization failure or
// deadlock, a BEGIN that did not reach the server, or a write sent ahead
// that failed, after which fn may be run again.
func (s *Store) run(ctx context.Context, opts pgx.TxOptions, fn func(core.Tx) error, ahead bool) (again bool, err error) {
	readOnly := opts.AccessMode == pgx.ReadOnly
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		// Nothing happened yet: BEGIN may be tried again on another
		// connection.
		return beginAgain(err), fmt.Errorf("postgres: begin: %w", rootCause(err))
	}
	release := true // false once a read's ROLLBACK releases it (see below)
	defer func() {
		if release {
			pc.Release() // which closes a connection left in a transaction
		}
	}()
	c := &conn{c: pc, begin: beginSQL(opts)}
	t := &tx{tx: c, write: !readOnly, ahead: ahead && !readOnly, giveWords: s.giveWords && !readOnly}
	if !readOnly {
		t.entryIDs, t.mailIDs = &s.entryIDs, &s.mailIDs
	}
	if d, ok := ctx.Deadline(); ok {
		t.deadline = d
	}
	finished := false
	defer func() {
		if !finished { // fn panicked
			t.done.Store(true)
			end(ctx, c)
		}
	}()
	ferr := fn(t)
	t.done.Store(true)
	finished = true
	if ferr != nil && len(c.queued) > 0 && t.failed == nil {
		// fn failed while writes waited: one of them may have failed
		// first, and fn, run again with every write sent at its call,
		// would then have seen that error instead (an entry for a
		// ticket that does not exist).
		if _, err := c.Exec(ctx, "SELECT 1"); err != nil && c.startErr == nil {
			t.fail("send the writes that waited", err)
		}
	}
	if c.startErr != nil {
		// BEGIN failed (with the first statement): nothing happened.
		end(ctx, c)
		return beginAgain(c.startErr), fmt.Errorf("postgres: begin: %w", rootCause(c.startErr))
	}
	if t.retry || t.replay {
		// fn saw a serialization failure or a failed write sent ahead,
		// whatever it made of it.
		end(ctx, c)
		if ferr == nil || t.replay {
			ferr = t.failed
		}
		return true, ferr
	}
	if readOnly && ferr == nil && ctx.Err() == nil {
		// What fn read is complete, and ending a read-only transaction
		// changes nothing: the caller does not wait for the ROLLBACK's
		// round trip, and the connection returns to the pool once it is
		// answered (or is closed when it fails).
		release = false
		go func() {
			end(ctx, c)
			pc.Release()
		}()
		return false, nil
	}
	if ferr != nil || readOnly {
		rerr := end(ctx, c)
		if ferr != nil {
			return false, ferr
		}
		if ctx.Err() != nil {
			// The context ended while fn ran; what fn read may be cut short.
			return false, fmt.Errorf("postgres: %w", ctx.Err())
		}
		if rerr != nil {
			return false, fmt.Errorf("postgres: end read transaction: %w", rerr)
		}
		return false, nil
	}
	if ctx.Err() != nil {
		// Never commit what a cancelled caller no longer waits for.
		end(ctx, c)
		return false, fmt.Errorf("postgres: %w", ctx.Err())
	}
	if t.failed != nil {
		// fn ignored an error that aborted the transaction.
		end(ctx, c)
		return false, fmt.Errorf("postgres: commit: %w (%w)", errTxAborted, t.failed)
	}
	// Once sent, the COMMIT's answer is waited for beyond the caller's
	// budget: cut off at its deadline, a commit the server made would be
	// reported as nothing stored (a 503 for a ticket that exists).
	t.queueWords()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := c.commit(cctx); err != nil {
		if c.startErr != nil {
			// Everything went with the COMMIT, and BEGIN's answer is an
			// error. Only when nothing reached the server, or the server
			// refused BEGIN itself, did nothing happen; a connection lost
			// while the batch ran may have lost the answer of a COMMIT the
			// server made, so that is not run again.
			end(ctx, c)
			var pgErr *pgconn.PgError
			again := pgconn.SafeToRetry(c.startErr) || errors.As(c.startErr, &pgErr) && beginAgain(c.startErr)
			return again, fmt.Errorf("postgres: commit: %w", rootCause(c.startErr))
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		if queuedFailed(err) {
			end(ctx, c)
			return true, fmt.Errorf("postgres: commit: %w", err)
		}
		return retryable(err), fmt.Errorf("postgres: commit: %w", err)
	}
	return false, nil
}

// beginAgain reports whether a transaction whose BEGIN failed with err may
// be begun again: nothing of it reached the database.
func beginAgain(err error) bool {
	return retryable(err) || pgconn.SafeToRetry(err) || unreachable(err)
}

// end ends a transaction of run that will not be committed, even when ctx
// has ended. A connection that cannot roll back is closed when it is
// released, not reused.
func end(ctx context.Context, c *conn) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	return c.rollback(ctx)
}

// rollback ends a transaction that will not be committed, even when ctx has
// ended. A connection that cannot roll back is closed by pgx, not reused.
func rollback(ctx context.Context, t pgx.Tx) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	err := t.Rollback(ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

// SQLSTATE codes that the store handles.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
)

// retryable reports whether err aborted a transaction that may succeed when
// run again: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// dbErr turns a database error into one that core understands: unique
// violations wrap core.ErrDuplicate, foreign key violations (a reference to
// a ticket or agent that does not exist) core.ErrNotFound. what says what
// was being done.
func dbErr(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%s: %w (%w)", what, core.ErrDuplicate, err)
		case codeForeignKeyViolation:
			return fmt.Errorf("%s: referenced row: %w (%w)", what, core.ErrNotFound, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
