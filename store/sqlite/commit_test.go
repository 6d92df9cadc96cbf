package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestGroupCommitIsolatesUpdates runs many updates at once, so that they
// share transactions: those that fail, panic or hit a unique key leave no
// trace, the others are all kept, and each caller gets its own answer.
func TestGroupCommitIsolatesUpdates(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	errFail := errors.New("fail on purpose")
	const n = 300
	var wg sync.WaitGroup
	results := make([]error, n)
	panics := make([]any, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			defer func() { panics[i] = recover() }()
			results[i] = st.Update(ctx, func(tx core.Tx) error {
				tk := core.Ticket{ID: fmt.Sprintf("t%03d", i), Subject: "s", Customer: "c@example.com", Status: core.StatusOpen,
					CreatedAt: time.Unix(int64(i), 0), UpdatedAt: time.Unix(int64(i), 0)}
				if err := tx.CreateTicket(ctx, tk); err != nil {
					return err
				}
				switch i % 5 {
				case 1:
					return errFail
				case 2:
					panic(fmt.Sprintf("panic %d", i))
				case 3:
					// A Message-ID that every i%5 == 3 update uses: one wins.
					return tx.RememberMessageID(ctx, "shared@example.com", tk.ID, true)
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	dupWinners := 0
	for i := range n {
		var want error
		switch i % 5 {
		case 1:
			want = errFail
		case 2:
			if panics[i] != fmt.Sprintf("panic %d", i) {
				t.Errorf("update %d: panic %v reached the caller, want its own", i, panics[i])
			}
			continue
		case 3:
			if results[i] == nil {
				dupWinners++
				continue
			}
			want = core.ErrDuplicate
		}
		if want == nil && results[i] != nil || want != nil && !errors.Is(results[i], want) {
			t.Errorf("update %d: %v, want %v", i, results[i], want)
		}
	}
	if dupWinners != 1 {
		t.Errorf("%d updates kept the shared Message-ID, want 1", dupWinners)
	}
	st.View(ctx, func(tx core.Tx) error {
		for i := range n {
			_, err := tx.Ticket(ctx, fmt.Sprintf("t%03d", i))
			kept := err == nil
			want := i%5 == 0 || i%5 == 4 || (i%5 == 3 && results[i] == nil)
			if kept != want {
				t.Errorf("ticket of update %d kept = %v, want %v (%v)", i, kept, want, err)
			}
		}
		return nil
	})
}

func TestUpdateAfterClose(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := st.Update(t.Context(), func(core.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("Update after Close = %v", err)
	}
}

// TestLoneUpdateRollsBack: an update alone in its transaction (no savepoint)
// that fails or panics leaves no trace, and the next one commits.
func TestLoneUpdateRollsBack(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	create := func(id string) func(core.Tx) error {
		return func(tx core.Tx) error {
			return tx.CreateTicket(ctx, core.Ticket{ID: id, Subject: "s", Customer: "c@example.com", Status: core.StatusOpen,
				CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)})
		}
	}
	errFail := errors.New("fail on purpose")
	if err := st.Update(ctx, func(tx core.Tx) error {
		if err := create("failed")(tx); err != nil {
			return err
		}
		return errFail
	}); !errors.Is(err, errFail) {
		t.Fatalf("failing update: %v, want %v", err, errFail)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		st.Update(ctx, func(tx core.Tx) error {
			if err := create("panicked")(tx); err != nil {
				return err
			}
			panic("on purpose")
		})
	}()
	if err := st.Update(ctx, create("kept")); err != nil {
		t.Fatalf("update after the failures: %v", err)
	}
	for id, want := range map[string]bool{"failed": false, "panicked": false, "kept": true} {
		err := st.View(ctx, func(tx core.Tx) error { _, err := tx.Ticket(ctx, id); return err })
		if got := err == nil; got != want {
			t.Errorf("ticket %q stored = %v, want %v (%v)", id, got, want, err)
		}
	}
}

// TestCallerGoneInSavepoints: in the pass where each update has a
// savepoint of its own, a caller that goes away while its statement writes
// fails alone; the updates of the same batch before and after it are kept.
func TestCallerGoneInSavepoints(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	ticket := func(tx core.Tx, id string) error {
		return tx.CreateTicket(ctx, core.Ticket{ID: id, Subject: "s", Customer: "c@example.com", Status: core.StatusOpen,
			CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)})
	}
	// An update holds the committer until the others wait together.
	held, release := make(chan struct{}), make(chan struct{})
	go st.Update(ctx, func(core.Tx) error { close(held); <-release; return nil })
	<-held
	errFail := errors.New("fail on purpose")
	gone, cancel := context.WithCancel(ctx)
	defer cancel()
	fns := []struct {
		ctx context.Context
		fn  func(core.Tx) error
	}{
		// Fails, so that the batch runs again with savepoints.
		{ctx, func(tx core.Tx) error { ticket(tx, "failed"); return errFail }},
		{ctx, func(tx core.Tx) error { return ticket(tx, "before") }},
		{gone, func(tx core.Tx) error {
			if err := ticket(tx, "gone"); err != nil {
				return err
			}
			time.AfterFunc(10*time.Millisecond, cancel)
			// A write that takes longer than that.
			_, err := tx.(*sqliteTx).exec(gone, "long write", `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
				INSERT INTO leases (name, owner, expires_at) SELECT 'l' || x, 'o', 0 FROM c`)
			return err
		}},
		{ctx, func(tx core.Tx) error { return ticket(tx, "after") }},
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns {
		wg.Go(func() { errs[i] = st.Update(f.ctx, f.fn) })
		// In this order into the batch.
		for len(st.updates) < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	wg.Wait()
	if !errors.Is(errs[0], errFail) || errs[1] != nil || !errors.Is(errs[2], context.Canceled) || errs[3] != nil {
		t.Errorf("results %v, want: fail on purpose, nil, context canceled, nil", errs)
	}
	st.View(ctx, func(tx core.Tx) error {
		for _, id := range []string{"failed", "before", "gone", "after"} {
			_, err := tx.Ticket(ctx, id)
			if kept, want := err == nil, id == "before" || id == "after"; kept != want {
				t.Errorf("ticket %s kept = %v, want %v (%v)", id, kept, want, err)
			}
		}
		return nil
	})
}

// TestQueueBatchesAndSearch: queued messages commit without looking at the
// search index (queueOnly), and new tickets that share a transaction with
// them are still found by search at once.
func TestQueueBatchesAndSearch(t *testing.T) {
	st := openTemp(t).(*Store)
	ctx := t.Context()
	const n = 100
	update := func(i int) error {
		return st.Update(ctx, func(tx core.Tx) error {
			if i%2 == 0 {
				return tx.EnqueueInbound(ctx, &core.QueuedInbound{Sender: "c@example.com", Door: core.DoorSMTP, Message: []byte("m"), QueuedAt: time.Unix(1, 0)})
			}
			return tx.CreateTicket(ctx, core.Ticket{ID: fmt.Sprintf("t%03d", i), Subject: fmt.Sprintf("giraffe%d", i), Customer: "c@example.com",
				Status: core.StatusOpen, CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)})
		})
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n { // while the committer is busy, the others wait together
		wg.Go(func() { errs[i] = update(i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	st.View(ctx, func(tx core.Tx) error {
		for i := 1; i < n; i += 2 {
			if got, err := tx.CountTickets(ctx, core.TicketQuery{Search: fmt.Sprintf("giraffe%d", i)}); err != nil || got != 1 {
				t.Errorf("search for ticket %d found %d (%v), want 1", i, got, err)
			}
		}
		if qs, err := tx.InboundQueueStats(ctx); err != nil || qs.Depth != n/2 {
			t.Errorf("queued %d (%v), want %d", qs.Depth, err, n/2)
		}
		return nil
	})
}
