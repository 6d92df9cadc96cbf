// Package sqlite is the embedded default store of Trivial Tickets: core.Store
// on one SQLite file, with the pure Go driver modernc.org/sqlite (no cgo,
// nothing to install).
//
// Every connection setting lives in dsn: WAL journal, foreign keys on, a busy
// timeout, synchronous=FULL, secure_delete and immediate (write-locking)
// transactions for writers. One committer goroutine writes, and updates that wait together are
// committed in one transaction (group commit: one sync to disk for many);
// they run without savepoints unless one of them fails (commit.go), and
// the search index is written once per transaction, just before its
// commit (searchflush.go). Readers use a small pool of
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
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"trivialtickets/core"
	"trivialtickets/store"
)

// busyTimeoutMillis is how long a statement waits for a lock held by another
// connection (another daemon on the same file, or a reader checkpointing)
// before it fails with SQLITE_BUSY.
const busyTimeoutMillis = 10_000

// Store is core.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	path   string
	writer *sql.DB // BEGIN IMMEDIATE; used by the committer only
	reader *sql.DB // several query-only connections
	// Prepared statements of each pool.
	writerStmts, readerStmts *stmtCache
	// deferSearch: the schema has ticket_search_pending (migration 0009), which
	// every commit empties into the search index. Only tests open a store
	// on fewer migrations.
	deferSearch bool

	// Updates go to the committer goroutine, which runs those that wait
	// together in one transaction (group commit).
	mu        sync.RWMutex // held for reading while sending to updates
	closed    bool
	updates   chan *update
	committed chan struct{} // closed when the committer has stopped

	// The background checkpoint (checkpoint.go): its own connection, the
	// committer's wake-up calls, and the log's length in frames as the
	// last checkpoint found it.
	ckpt        *sql.DB
	ckptWake    chan struct{}
	ckptStopped chan struct{} // closed when the checkpointer has stopped
	walFrames   atomic.Int64
}

var _ core.Store = (*Store)(nil)

// dsn returns the connection string for path: the one place where the SQLite
// settings are chosen. Writers begin IMMEDIATE transactions so that a
// transaction that reads and then writes can never fail halfway with
// SQLITE_BUSY; readers are query_only so that View cannot write.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMillis))
	q.Set("_foreign_keys", "1")
	if writer {
		q.Set("_journal_mode", "WAL") // persistent in the file; readers need not set it
		q.Set("_synchronous", "FULL") // durable commits; NORMAL would be enough with WAL
		q.Set("_txlock", "immediate") // take the write lock at BEGIN
		// Statement journals in memory (temp_store): a new ticket's
		// insert changes about 20 pages (its indexes and triggers), more
		// than the 64 KiB that SQLite keeps in memory by default, so its
		// journal went to a temporary file with two write calls per page.
		// They stay small since the search index is written at commit
		// (searchflush.go), not inside these statements.
		q.Add("_pragma", "temp_store(memory)")
		// Deleted rows are overwritten with zeros, in the file and in
		// the log, so that an erased customer's words leave no trace
		// in free space (ticketd customer erase).
		q.Add("_pragma", "secure_delete(on)")
		// No checkpoint inside a commit: the checkpointer goroutine and
		// the committer between transactions do it (checkpoint.go).
		q.Add("_pragma", "wal_autocheckpoint(0)")
	} else {
		q.Set("_query_only", "1")
	}
	return fileURI(path, q)
}

// fileURI is the SQLite URI filename of path with the query q.
func fileURI(path string, q url.Values) string {
	// Escape what would end the path.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
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
	// Commit with fdatasync(2) where the platform has it, as SQLite's own
	// Linux builds do: as durable as fsync(2) (the data and the file's
	// size), without also writing the log's timestamps through the file
	// system's journal. Where it is missing (macOS, Windows) SQLite keeps
	// fsync. The switch is process-wide; every store wants it.
	_, _ = sqlite.Fdatasync(true)
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Only the committer writes, one transaction at a time; the second
	// connection lets a statement be prepared for the cache while the
	// committer's transaction holds the first.
	w.SetMaxOpenConns(2)
	w.SetMaxIdleConns(2)
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
	c, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetConnMaxLifetime(0)
	c.SetConnMaxIdleTime(0)
	s := &Store{path: path, writer: w, reader: r, updates: make(chan *update, maxBatch), committed: make(chan struct{}),
		writerStmts: &stmtCache{db: w}, readerStmts: &stmtCache{db: r},
		ckpt: c, ckptWake: make(chan struct{}, 1), ckptStopped: make(chan struct{})}
	if err := w.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'ticket_search_pending')`).Scan(&s.deferSearch); err != nil {
		c.Close()
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	go s.commit()
	go s.checkpointer()
	return s, nil
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

// Close waits for the updates in progress, then closes both connection
// pools. Update after Close returns an error.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.updates)
	}
	s.mu.Unlock()
	<-s.committed
	<-s.ckptStopped
	s.writerStmts.close()
	s.readerStmts.close()
	// The writer last: closing the last connection copies the rest of the
	// log into the database file.
	return errors.Join(s.ckpt.Close(), s.reader.Close(), s.writer.Close())
}

// errClosed is returned by Update after Close.
var errClosed = errors.New("sqlite: the store is closed")

// Update runs fn in a write transaction and commits it when fn returns nil.
// When fn returns an error (or ctx ends while it runs), its changes are
// rolled back and Update returns that error as it is. Writers run one at a
// time; ctx bounds the wait, and it is checked before every statement and
// after fn (a statement that runs is not interrupted: see statementCtx).
//
// Updates that arrive while another commits are run together in one
// transaction and committed with one sync to disk (group commit): each
// still succeeds or fails alone (fn may then run a second time, in a
// savepoint of its own), and Update returns only after its changes are
// durable.
func (s *Store) Update(ctx context.Context, fn func(core.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	u := &update{ctx: ctx, fn: fn, done: make(chan updateResult, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	select {
	case s.updates <- u:
	case <-ctx.Done():
		s.mu.RUnlock()
		return fmt.Errorf("sqlite: %w", ctx.Err())
	}
	s.mu.RUnlock()
	res := <-u.done
	if res.panicked {
		panic(res.panicValue)
	}
	return classify(res.err)
}

// View runs fn in a read-only transaction on a consistent snapshot. Writes
// through its Tx fail.
func (s *Store) View(ctx context.Context, fn func(core.Tx) error) error {
	return classify(s.view(ctx, fn))
}

// classify marks errors that mean "try again later" as core.ErrUnavailable:
// the database locked or busy beyond the busy timeout, the disk full, an
// I/O error, a file that cannot be opened, no memory, and a deadline that
// ended. Anything else (including a caller that went away) stays as it is.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return store.Unavailable(err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
			return store.Unavailable(err)
		}
	}
	return err
}

func (s *Store) view(ctx context.Context, fn func(core.Tx) error) error {
	sqlTx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	t := &tx{tx: sqlTx, cache: s.readerStmts}
	defer func() {
		t.done.Store(true)
		sqlTx.Rollback()
	}()
	if err := fn(t); err != nil {
		return err
	}
	if ctx.Err() != nil {
		// The context ended while fn ran; what fn read may be cut short.
		return fmt.Errorf("sqlite: %w", ctx.Err())
	}
	return nil
}

// errTxDone is returned by a Tx used after its function returned.
var errTxDone = errors.New("sqlite: transaction used after its function returned")

// tx is core.Tx on one *sql.Tx.
type tx struct {
	tx    *sql.Tx
	cache *stmtCache
	// bound, on the committer's transactions, keeps the statements of
	// cache bound to tx (nil: bind at every use); only the committer
	// goroutine uses it.
	bound map[string]*sql.Stmt
	done  atomic.Bool
	// deferSearch is set on the committer's transactions when the store
	// defers search index updates to flushSearch (a schema migrated to
	// 0009; only a test opens one that is not).
	deferSearch bool
}

// stmtCache keeps one prepared statement per query text and pool, so that
// SQLite parses each query once per connection instead of at every call.
// The queries are the package's constants and a bounded set of list
// variants, so the cache stays small.
type stmtCache struct {
	db        *sql.DB
	m         sync.Map // query → *sql.Stmt
	preparing sync.Map // query → true while prepareSoon prepares it
	wg        sync.WaitGroup
}

// stmt returns query prepared on the pool, bound to this transaction; the
// transaction closes it when it ends. A query not prepared on the pool
// yet is prepared on this transaction's connection for now (prepareSoon).
func (t *tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if t.cache == nil {
		return t.tx.PrepareContext(ctx, query)
	}
	v, ok := t.cache.m.Load(query)
	if !ok {
		t.cache.prepareSoon(query)
		if t.bound == nil {
			return t.tx.PrepareContext(ctx, query)
		}
		// Under no caller's context, as below.
		st, err := t.tx.PrepareContext(context.Background(), query)
		if err == nil {
			t.bound[query] = st
		}
		return st, err
	}
	if t.bound == nil {
		return t.tx.StmtContext(ctx, v.(*sql.Stmt)), nil
	}
	st := t.bound[query]
	if st == nil {
		// Bound under no caller's context: the statement serves the
		// next updates of the batch too, each with its own context.
		st = t.tx.StmtContext(context.Background(), v.(*sql.Stmt))
		t.bound[query] = st
	}
	return st, nil
}

// prepareSoon prepares query on the pool in the background, once, for
// the cache. Preparing it on the pool at once, while this transaction
// holds one of its connections, waited for a free one: when every
// connection was held by a transaction waiting so, none ever came (40
// logins at once on a newly opened store hung for good).
func (c *stmtCache) prepareSoon(query string) {
	if _, busy := c.preparing.LoadOrStore(query, true); busy {
		return
	}
	c.wg.Go(func() {
		st, err := c.db.PrepareContext(context.Background(), query)
		if err != nil {
			// The transaction's own prepare reports it; the next use tries again.
			c.preparing.Delete(query)
			return
		}
		if _, ok := c.m.LoadOrStore(query, st); ok {
			st.Close()
		}
	})
}

// close closes every cached statement, after the ones being prepared.
func (c *stmtCache) close() {
	c.wg.Wait()
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
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
