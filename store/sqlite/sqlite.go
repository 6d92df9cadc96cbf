// Package sqlite is the embedded default store of Trivial Tickets: core.Store
// on one SQLite file, with the pure Go driver modernc.org/sqlite (no cgo,
// nothing to install).
//
// Every connection setting lives in dsn: WAL journal, foreign keys on, a busy
// timeout, synchronous=FULL and immediate (write-locking) transactions for
// writers. Writers share one connection (Update), readers a small pool of
// query-only connections (View), so reads never wait for a write in progress.
// The schema is a list of numbered, append-only migrations embedded in the
// binary and applied by Open.
//
// The package implements persistence only: it knows no domain rules (those
// are in package core) and performs no network I/O.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"trivialtickets/core"
)

// busyTimeoutMillis is how long a statement waits for a lock held by another
// connection (another daemon on the same file, or a reader checkpointing)
// before it fails with SQLITE_BUSY.
const busyTimeoutMillis = 10_000

// Store is core.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	path   string
	writer *sql.DB // one connection; BEGIN IMMEDIATE
	reader *sql.DB // several query-only connections
}

var _ core.Store = (*Store)(nil)

// dsn returns the connection string for path: the one place where the SQLite
// settings are chosen. Writers begin IMMEDIATE transactions so that a
// transaction that reads and then writes can never fail halfway with
// SQLITE_BUSY; readers are query_only so that View cannot write.
func dsn(path string, writer bool) string {
	// A SQLite URI filename: escape what would end the path.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMillis))
	q.Set("_foreign_keys", "1")
	if writer {
		q.Set("_journal_mode", "WAL") // persistent in the file; readers need not set it
		q.Set("_synchronous", "FULL") // durable commits; NORMAL would be enough with WAL
		q.Set("_txlock", "immediate") // take the write lock at BEGIN
	} else {
		q.Set("_query_only", "1")
	}
	return "file:" + p + "?" + q.Encode()
}

// Open opens the SQLite database at path, creating the file (not its
// directory) when it does not exist, and applies the migrations it lacks. It
// fails with an error wrapping ErrSchemaTooNew when the file was migrated by a
// newer program.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	return open(ctx, path, migrations)
}

// open is Open with the migration list given, so tests can apply a prefix.
func open(ctx context.Context, path string, ms []migration) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrateRetrying(ctx, w, ms); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	return &Store{path: path, writer: w, reader: r}, nil
}

// migrateRetrying runs migrate, trying again while another process holds
// the database: while a new file is switched to WAL mode, SQLite answers
// SQLITE_BUSY at once instead of calling the busy handler.
func migrateRetrying(ctx context.Context, w *sql.DB, ms []migration) error {
	deadline := time.Now().Add(busyTimeoutMillis * time.Millisecond)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := migrate(ctx, w, ms)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLITE_BUSY (with any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Path is the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close closes both connection pools. Transactions in progress finish first.
func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// Update runs fn in one write transaction and commits it when fn returns nil.
// When fn returns an error, Update rolls back and returns that error as it is.
// Writers run one at a time; ctx bounds the wait for the write lock and every
// statement.
func (s *Store) Update(ctx context.Context, fn func(core.Tx) error) error {
	return run(ctx, s.writer, false, fn)
}

// View runs fn in a read-only transaction on a consistent snapshot. Writes
// through its Tx fail.
func (s *Store) View(ctx context.Context, fn func(core.Tx) error) error {
	return run(ctx, s.reader, true, fn)
}

func run(ctx context.Context, db *sql.DB, readOnly bool, fn func(core.Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	t := &tx{tx: sqlTx}
	finished := false
	defer func() {
		if !finished { // fn panicked
			t.done.Store(true)
			sqlTx.Rollback()
		}
	}()
	ferr := fn(t)
	t.done.Store(true)
	finished = true
	if ferr != nil || readOnly {
		if rerr := sqlTx.Rollback(); rerr != nil && ferr == nil && !errors.Is(rerr, sql.ErrTxDone) {
			return fmt.Errorf("sqlite: end read transaction: %w", rerr)
		}
		if ferr == nil && ctx.Err() != nil {
			// The context ended while fn ran; what fn read may be cut short.
			return fmt.Errorf("sqlite: %w", ctx.Err())
		}
		return ferr
	}
	if err := sqlTx.Commit(); err != nil {
		if errors.Is(err, sql.ErrTxDone) && ctx.Err() != nil {
			err = ctx.Err() // database/sql rolled back when ctx ended
		}
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// errTxDone is returned by a Tx used after its function returned.
var errTxDone = errors.New("sqlite: transaction used after its function returned")

// tx is core.Tx on one *sql.Tx.
type tx struct {
	tx   *sql.Tx
	done atomic.Bool
}

// dbErr turns a driver error into one that core understands: unique
// violations wrap core.ErrDuplicate, foreign key violations (a reference to
// a ticket or agent that does not exist) core.ErrNotFound. what says what was
// being done.
func dbErr(what string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w (%w)", what, core.ErrDuplicate, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s: referenced row: %w (%w)", what, core.ErrNotFound, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
