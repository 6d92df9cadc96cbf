package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"trivialtickets/core"
)

// maxBatch is the most updates committed together.
const maxBatch = 128

// update is one Update call waiting for the committer.
type update struct {
	ctx  context.Context
	fn   func(core.Tx) error
	done chan updateResult
}

// updateResult is what the committer tells the waiting Update.
type updateResult struct {
	err        error
	panicked   bool
	panicValue any
}

// commit is the committer goroutine: it takes the updates that are waiting,
// runs them in one transaction, each in its own savepoint, commits once and
// then answers them all; between two batches it sees to the checkpoint
// (afterCommit). It stops when the updates channel is closed.
func (s *Store) commit() {
	defer close(s.committed)
	defer close(s.ckptWake) // the committer is its only sender
	for u := range s.updates {
		batch := []*update{u}
	more:
		for len(batch) < maxBatch {
			select {
			case u, ok := <-s.updates:
				if !ok {
					break more
				}
				batch = append(batch, u)
			default:
				break more
			}
		}
		s.runBatch(batch)
		s.afterCommit()
	}
}

// runBatch runs and commits one batch and answers every update in it.
//
// The updates first run together in one transaction, one after another,
// without savepoints (runTogether): a savepoint makes FTS5 write its pending
// terms to disk as a new segment of the search index, and it keeps the
// pages that each update changes in a statement journal, which spills to a
// temporary file: in a batch of 64 new tickets that was a third of the
// committer's time. When one of them fails, the transaction is rolled back,
// that update keeps its answer, and the others run once more, each in a
// savepoint of its own (runSavepoints): core.Store allows a store to run fn
// more than once.
func (s *Store) runBatch(batch []*update) {
	results := make([]updateResult, len(batch))
	if s.runTogether(batch, results) {
		s.runAgain(batch, results)
	}
	for i, u := range batch {
		u.done <- results[i]
	}
}

// runAgain runs the updates of batch whose results are not failures (those
// that ran in a transaction that was rolled back, and those that did not
// run yet) once more, each in a savepoint of its own, and sets their
// results.
func (s *Store) runAgain(batch []*update, results []updateResult) {
	var rest []*update
	var at []int
	for i, u := range batch {
		if !results[i].failed() {
			rest, at = append(rest, u), append(at, i)
		}
	}
	if len(rest) == 0 {
		return
	}
	again := make([]updateResult, len(rest))
	s.runSavepoints(rest, again)
	for k, i := range at {
		results[i] = again[k]
	}
}

// failed reports whether an update's result is an error or a panic.
func (r updateResult) failed() bool { return r.err != nil || r.panicked }

// failRest gives every result that has none yet the error err.
func failRest(results []updateResult, err error) {
	for i := range results {
		if !results[i].failed() {
			results[i].err = err
		}
	}
}

// runTogether runs the updates of batch in one transaction without
// savepoints and commits it. When an update fails after it ran, it rolls
// the transaction back and returns true: then the failed updates (and those
// whose context ended before they ran) have their results, and the others
// none yet. Otherwise it returns false with every result set.
func (s *Store) runTogether(batch []*update, results []updateResult) bool {
	// The transaction itself is not bound to any one caller's context: one
	// caller giving up must not undo the others. Each statement runs under
	// its caller's context.
	sqlTx, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		failRest(results, fmt.Errorf("sqlite: begin: %w", err))
		return false
	}
	bound := make(map[string]*sql.Stmt)
	ran := 0
	for i, u := range batch {
		if err := u.ctx.Err(); err != nil {
			results[i].err = fmt.Errorf("sqlite: %w", err)
			continue
		}
		results[i] = runOne(u, s.batchTx(sqlTx, bound))
		if results[i].failed() {
			// What it wrote cannot be undone alone.
			sqlTx.Rollback()
			return true
		}
		ran++
	}
	if ran == 0 {
		sqlTx.Rollback()
		return false
	}
	if err := s.commitTx(sqlTx, bound); err != nil {
		failRest(results, err)
	}
	return false
}

// runSavepoints runs the updates of batch in one transaction, each in its
// own savepoint, so that one failing undoes only its own changes, and
// commits it; it sets every result.
func (s *Store) runSavepoints(batch []*update, results []updateResult) {
	sqlTx, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		failRest(results, fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	bound := make(map[string]*sql.Stmt)
	ok := 0
	for i, u := range batch {
		if err := u.ctx.Err(); err != nil {
			results[i].err = fmt.Errorf("sqlite: %w", err)
			continue
		}
		if _, err := sqlTx.Exec("SAVEPOINT upd"); err != nil {
			sqlTx.Rollback()
			failRest(results, fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		results[i] = runOne(u, s.batchTx(sqlTx, bound))
		if !results[i].failed() {
			_, err = sqlTx.Exec("RELEASE upd")
			ok++
		} else {
			// Undo this update only; the transaction goes on.
			if _, err = sqlTx.Exec("ROLLBACK TO upd"); err == nil {
				_, err = sqlTx.Exec("RELEASE upd")
			}
		}
		if err != nil {
			// SQLite rolled the whole transaction back: nothing of this
			// batch is committed.
			sqlTx.Rollback()
			if u.ctx.Err() != nil {
				// Its caller went away while its statement ran, and
				// SQLite ends an interrupted write with the whole
				// transaction: the others run again without it (it
				// fails at its context's check).
				results[i].err = fmt.Errorf("sqlite: %w", u.ctx.Err())
				s.runAgain(batch, results)
				return
			}
			// Disk full, an I/O error.
			failRest(results, fmt.Errorf("sqlite: transaction aborted: %w", err))
			return
		}
	}
	if ok == 0 {
		sqlTx.Rollback()
		return
	}
	if err := s.commitTx(sqlTx, bound); err != nil {
		failRest(results, err)
	}
}

// commitTx brings the search index up to date and commits sqlTx; when
// either fails, nothing of it is kept.
func (s *Store) commitTx(sqlTx *sql.Tx, bound map[string]*sql.Stmt) error {
	// Under no caller's context: the updates in it have all run.
	// A batch of queued messages only (a mail door's) wrote no ticket:
	// nothing for the search index, and no query to find that out.
	if !queueOnly(bound) {
		t := s.batchTx(sqlTx, bound)
		if err := t.flushSearch(context.Background()); err != nil {
			sqlTx.Rollback()
			return fmt.Errorf("sqlite: commit: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// batchTx is the Tx of one update in the committer's transaction sqlTx;
// bound holds the statements bound to sqlTx so far, shared by the updates
// of the batch: a batch of new tickets runs the same few statements again
// and again.
func (s *Store) batchTx(sqlTx *sql.Tx, bound map[string]*sql.Stmt) *tx {
	return &tx{tx: sqlTx, cache: s.writerStmts, bound: bound, deferSearch: s.deferSearch}
}

// runOne runs one update's function; a context that ended while it ran
// counts as its error, and a panic is handed to its caller.
func runOne(u *update, t *tx) (res updateResult) {
	defer func() {
		t.done.Store(true)
		if v := recover(); v != nil {
			res = updateResult{panicked: true, panicValue: v}
		}
	}()
	if err := u.fn(t); err != nil {
		return updateResult{err: err}
	}
	if err := u.ctx.Err(); err != nil {
		// The context ended while fn ran; what it wrote may be cut short.
		return updateResult{err: fmt.Errorf("sqlite: %w", err)}
	}
	return updateResult{}
}
