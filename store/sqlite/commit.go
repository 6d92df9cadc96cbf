package sqlite

import (
	"context"
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
// then answers them all. It stops when the updates channel is closed.
func (s *Store) commit() {
	defer close(s.committed)
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
	}
}

// runBatch runs and commits one batch and answers every update in it.
func (s *Store) runBatch(batch []*update) {
	results := make([]updateResult, len(batch))
	answer := func() {
		for i, u := range batch {
			u.done <- results[i]
		}
	}
	failAll := func(err error) {
		for i := range results {
			if results[i].err == nil && !results[i].panicked {
				results[i].err = err
			}
		}
		answer()
	}
	// The transaction itself is not bound to any one caller's context: one
	// caller giving up must not undo the others. Each statement runs under
	// its caller's context.
	sqlTx, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		failAll(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	if len(batch) == 1 {
		// Alone in its transaction, an update needs no savepoint: when it
		// fails, the whole transaction is rolled back. Two statements less
		// for each message at one SMTP session.
		u := batch[0]
		if err := u.ctx.Err(); err != nil {
			results[0].err = fmt.Errorf("sqlite: %w", err)
		} else {
			results[0] = runOne(u, &tx{tx: sqlTx, cache: s.writerStmts})
		}
		if results[0].err != nil || results[0].panicked {
			sqlTx.Rollback()
			answer()
			return
		}
		if err := sqlTx.Commit(); err != nil {
			failAll(fmt.Errorf("sqlite: commit: %w", err))
			return
		}
		answer()
		return
	}
	ok := 0
	for i, u := range batch {
		if err := u.ctx.Err(); err != nil {
			results[i].err = fmt.Errorf("sqlite: %w", err)
			continue
		}
		if _, err := sqlTx.Exec("SAVEPOINT upd"); err != nil {
			sqlTx.Rollback()
			failAll(fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		results[i] = runOne(u, &tx{tx: sqlTx, cache: s.writerStmts})
		if results[i].err == nil && !results[i].panicked {
			_, err = sqlTx.Exec("RELEASE upd")
			ok++
		} else {
			// Undo this update only; the transaction goes on.
			if _, err = sqlTx.Exec("ROLLBACK TO upd"); err == nil {
				_, err = sqlTx.Exec("RELEASE upd")
			}
		}
		if err != nil {
			// SQLite rolled the whole transaction back (disk full, I/O
			// error): nothing of this batch is committed.
			sqlTx.Rollback()
			failAll(fmt.Errorf("sqlite: transaction aborted: %w", err))
			return
		}
	}
	if ok == 0 {
		sqlTx.Rollback()
		answer()
		return
	}
	if err := sqlTx.Commit(); err != nil {
		failAll(fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	answer()
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
