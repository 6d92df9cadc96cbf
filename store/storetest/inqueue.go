package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trivialtickets/core"
)

// enqueue adds a row from sender with the given message bytes.
func enqueue(t *testing.T, st core.Store, sender string, msg []byte, queuedAt time.Time) core.QueuedInbound {
	t.Helper()
	q := core.QueuedInbound{Sender: sender, Door: core.DoorSMTP, Message: msg, QueuedAt: queuedAt}
	update(t, st, func(tx core.Tx) error { return tx.EnqueueInbound(t.Context(), &q) })
	return q
}

func claimInbound(t *testing.T, st core.Store, owner string, now time.Time, limit int) []int64 {
	t.Helper()
	var qs []core.QueuedInbound
	update(t, st, func(tx core.Tx) error {
		var err error
		qs, err = tx.ClaimInbound(t.Context(), owner, now, now.Add(time.Minute), limit)
		return err
	})
	return mapped(qs, func(q core.QueuedInbound) int64 { return q.ID })
}

func inboundStats(t *testing.T, st core.Store) core.InboundQueueStats {
	t.Helper()
	var s core.InboundQueueStats
	view(t, st, func(tx core.Tx) error {
		var err error
		s, err = tx.InboundQueueStats(t.Context())
		return err
	})
	return s
}

func testInboundQueue(t *testing.T, st core.Store) {
	ctx := t.Context()
	if s := inboundStats(t, st); s.Depth != 0 || !s.Oldest.IsZero() {
		t.Fatalf("stats of an empty queue = %+v", s)
	}
	a1 := enqueue(t, st, "alice@example.com", []byte("a1\x00\xff"), at(1))
	a2 := enqueue(t, st, "alice@example.com", []byte("a2"), at(2))
	b1 := enqueue(t, st, "bob@example.com", []byte("b1"), at(3))
	if !(a1.ID < a2.ID && a2.ID < b1.ID) {
		t.Fatalf("ids %d, %d, %d do not grow", a1.ID, a2.ID, b1.ID)
	}
	if s := inboundStats(t, st); s.Depth != 3 || !s.Oldest.Equal(at(1)) || s.Failing != 0 {
		t.Errorf("stats = %+v, want 3 rows, oldest %v", s, at(1))
	}
	now := at(10_000)
	var got []core.QueuedInbound
	update(t, st, func(tx core.Tx) error {
		var err error
		got, err = tx.ClaimInbound(ctx, "a", now, now.Add(time.Minute), 2)
		return err
	})
	if len(got) != 2 || got[0].ID != a1.ID || got[0].Message != nil || got[0].Size != 4 || got[0].Sender != "alice@example.com" ||
		got[0].Door != core.DoorSMTP || !got[0].QueuedAt.Equal(at(1)) || got[1].ID != a2.ID {
		t.Fatalf("ClaimInbound(limit 2) = %+v", got)
	}
	// The message is read on its own, byte for byte.
	view(t, st, func(tx core.Tx) error {
		if b, err := tx.InboundMessage(ctx, a1.ID); err != nil || string(b) != "a1\x00\xff" {
			t.Errorf("InboundMessage = %q, %v", b, err)
		}
		_, err := tx.InboundMessage(ctx, 1<<40)
		wantErr(t, "InboundMessage of no row", err, core.ErrNotFound)
		return nil
	})
	// Leased rows are not claimed by another owner during the lease.
	if ids := claimInbound(t, st, "b", now.Add(time.Second), 10); !slices.Equal(ids, []int64{b1.ID}) {
		t.Errorf("claim by b during a's lease = %v, want [%d]", ids, b1.ID)
	}
	// Only the lease's owner deletes.
	update(t, st, func(tx core.Tx) error {
		if ok, err := tx.DeleteInbound(ctx, a1.ID, "b"); ok || err != nil {
			t.Errorf("DeleteInbound by another owner = %v, %v, want false", ok, err)
		}
		if ok, err := tx.DeleteInbound(ctx, a1.ID, "a"); !ok || err != nil {
			t.Errorf("DeleteInbound by the owner = %v, %v, want true", ok, err)
		}
		if ok, err := tx.DeleteInbound(ctx, a1.ID, "a"); ok || err != nil {
			t.Errorf("DeleteInbound again = %v, %v, want false", ok, err)
		}
		return nil
	})
	// A failed row waits for its next try, and so do the sender's later
	// rows; other senders go on.
	update(t, st, func(tx core.Tx) error {
		return tx.RetryInbound(ctx, a2.ID, "a", now.Add(time.Hour), "store unavailable")
	})
	a3 := enqueue(t, st, "alice@example.com", []byte("a3"), at(4))
	c1 := enqueue(t, st, "carol@example.com", []byte("c1"), at(5))
	if ids := claimInbound(t, st, "a", now.Add(2*time.Minute), 10); !slices.Equal(ids, []int64{b1.ID, c1.ID}) {
		t.Errorf("claim while alice's first row waits = %v, want [%d %d] (b's lease ran out)", ids, b1.ID, c1.ID)
	}
	if s := inboundStats(t, st); s.Depth != 4 || !s.Oldest.Equal(at(2)) || s.Failing != 1 {
		t.Errorf("stats = %+v, want 4 rows, oldest %v, 1 failing", s, at(2))
	}
	later := now.Add(time.Hour + time.Minute)
	var retried []core.QueuedInbound
	update(t, st, func(tx core.Tx) error {
		var err error
		retried, err = tx.ClaimInbound(ctx, "b", later, later.Add(time.Minute), 10)
		return err
	})
	if ids := mapped(retried, func(q core.QueuedInbound) int64 { return q.ID }); !slices.Equal(ids, []int64{a2.ID, b1.ID, a3.ID, c1.ID}) {
		t.Fatalf("claim after the next try = %v, want every row in id order", ids)
	}
	if r := retried[0]; r.Attempts != 1 || r.LastError != "store unavailable" || !r.NextTry.Equal(now.Add(time.Hour)) {
		t.Errorf("retried row = %+v", r)
	}
	// A released row is due again at notBefore, and holds up its sender.
	update(t, st, func(tx core.Tx) error {
		return tx.ReleaseInbound(ctx, a2.ID, "b", later.Add(time.Hour))
	})
	if ids := claimInbound(t, st, "c", later.Add(30*time.Second), 10); len(ids) != 0 {
		t.Errorf("claim while alice's row waits again = %v, want none", ids)
	}
	update(t, st, func(tx core.Tx) error {
		err := tx.RetryInbound(ctx, a2.ID, "b", later, "x")
		wantErr(t, "RetryInbound of a row not leased to the caller", err, core.ErrNotFound)
		return nil
	})
}

// testConcurrentInboundClaims: claimers at once never get one row twice.
func testConcurrentInboundClaims(t *testing.T, st core.Store) {
	const rows, workers = 120, 6
	for i := range rows {
		enqueue(t, st, fmt.Sprintf("c%d@example.com", i%15), []byte("m"), at(i))
	}
	now := at(10_000)
	var (
		mu   sync.Mutex
		seen = map[int64]string{}
		wg   sync.WaitGroup
		errs = make([]error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			owner := fmt.Sprintf("d%d", w)
			for {
				var qs []core.QueuedInbound
				err := st.Update(t.Context(), func(tx core.Tx) error {
					var err error
					qs, err = tx.ClaimInbound(t.Context(), owner, now, now.Add(time.Minute), 7)
					return err
				})
				if err != nil {
					errs[w] = err
					return
				}
				if len(qs) == 0 {
					return
				}
				mu.Lock()
				for _, q := range qs {
					if prev, dup := seen[q.ID]; dup {
						errs[w] = fmt.Errorf("row %d claimed by %s and %s", q.ID, prev, owner)
					}
					seen[q.ID] = owner
				}
				mu.Unlock()
				if errs[w] != nil {
					return
				}
				err = st.Update(t.Context(), func(tx core.Tx) error {
					for _, q := range qs {
						if ok, err := tx.DeleteInbound(t.Context(), q.ID, owner); err != nil || !ok {
							return fmt.Errorf("delete row %d: %v, %w", q.ID, ok, err)
						}
					}
					return nil
				})
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(seen) != rows {
		t.Errorf("%d rows claimed, want %d", len(seen), rows)
	}
	if s := inboundStats(t, st); s.Depth != 0 {
		t.Errorf("queue after draining = %+v", s)
	}
}

// svcProcessInbound: queued mail becomes tickets and entries through the
// receive path, the row deleted with it; a reply queued after its original
// lands on its ticket; a row that fails waits, with its sender's later
// rows, and is kept.
func svcProcessInbound(e *env) {
	t, ctx := e.t, e.t.Context()
	opts := core.InboundOptions{Owner: "d1"}
	orig := core.InboundMessage{Door: core.DoorSMTP, From: "alice@example.com", Recipients: []string{supportAddr},
		Subject: "Printer", Text: "It is broken.", MessageID: "orig@mail.example"}
	reply := core.InboundMessage{Door: core.DoorSMTP, From: "Alice@Example.com", Recipients: []string{supportAddr},
		Subject: "Re: Printer", Text: "Still broken.", MessageID: "reply@mail.example", InReplyTo: []string{"orig@mail.example"}}
	noID := core.InboundMessage{Door: core.DoorLMTP, From: "bob@example.com", Recipients: []string{supportAddr},
		Subject: "No id", Text: "Hello."}
	for _, m := range []core.InboundMessage{orig, reply, noID} {
		if _, err := e.svc.EnqueueInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := e.svc.InboundQueueStats(ctx); err != nil || s.Depth != 3 {
		t.Fatalf("InboundQueueStats = %+v, %v", s, err)
	}
	// Rows leased by another daemon are not processed.
	claimInbound(t, e.st, "d2", e.clock.Now(), 10)
	if run, err := e.svc.ProcessInbound(ctx, opts); err != nil || run.Claimed != 0 {
		t.Fatalf("ProcessInbound during another's lease = %+v, %v", run, err)
	}
	e.clock.Advance(3 * time.Minute)
	var paced atomic.Int64
	run, err := e.svc.ProcessInbound(ctx, core.InboundOptions{Owner: "d1", PerTx: 1,
		Pace: func(time.Duration) { paced.Add(1) }})
	if err != nil || run.Claimed != 3 || run.Done != 3 || len(run.Failed) != 0 {
		t.Fatalf("ProcessInbound = %+v, %v", run, err)
	}
	if paced.Load() != 3 {
		t.Errorf("Pace called %d times, want once per transaction (3)", paced.Load())
	}
	var ids []string
	view(t, e.st, func(tx core.Tx) error {
		tk, err := tx.ListTickets(ctx, core.TicketQuery{Limit: 10})
		ids = mapped(tk, func(t core.Ticket) string { return t.ID })
		return err
	})
	if len(ids) != 2 {
		t.Fatalf("%d tickets, want 2 (the reply on the original's)", len(ids))
	}
	var origTicket string
	view(t, e.st, func(tx core.Tx) error {
		var err error
		origTicket, _, err = tx.MessageIDTicket(ctx, "orig@mail.example")
		return err
	})
	if es := e.entries(origTicket, true); len(es) != 2 || es[1].Text != "Still broken." {
		t.Errorf("entries of the original's ticket = %+v", es)
	}
	if s, _ := e.svc.InboundQueueStats(ctx); s.Depth != 0 {
		t.Errorf("queue after processing = %+v", s)
	}
	// Once more: nothing to do, nothing twice.
	if run, err := e.svc.ProcessInbound(ctx, opts); err != nil || run.Claimed != 0 {
		t.Errorf("ProcessInbound of an empty queue = %+v, %v", run, err)
	}

	// A row that cannot be processed stays, with its error, and holds up
	// its sender's later rows; another sender's go on.
	bad := enqueue(t, e.st, "carol@example.com", []byte("{not a message"), e.clock.Now())
	if _, err := e.svc.EnqueueInbound(ctx, core.InboundMessage{Door: core.DoorSMTP, From: "carol@example.com",
		Subject: "after", Text: "x", MessageID: "after@mail.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.EnqueueInbound(ctx, core.InboundMessage{Door: core.DoorSMTP, From: "dave@example.com",
		Subject: "other", Text: "x", MessageID: "other@mail.example"}); err != nil {
		t.Fatal(err)
	}
	run, err = e.svc.ProcessInbound(ctx, opts)
	if err != nil || run.Claimed != 3 || run.Done != 1 || len(run.Failed) != 1 || run.Failed[0].ID != bad.ID ||
		run.Failed[0].Attempts != 1 || run.Failed[0].Err == nil {
		t.Fatalf("ProcessInbound with a bad row = %+v, %v", run, err)
	}
	if s, _ := e.svc.InboundQueueStats(ctx); s.Depth != 2 || s.Failing != 1 {
		t.Errorf("stats after the failure = %+v, want the bad row and carol's next one", s)
	}
	if run, _ := e.svc.ProcessInbound(ctx, opts); run.Claimed != 0 {
		t.Errorf("ProcessInbound before the next try = %+v", run)
	}
	e.clock.Advance(core.InboundBackoff(1) + time.Second)
	if run, _ := e.svc.ProcessInbound(ctx, opts); run.Claimed != 2 || run.Done != 0 || len(run.Failed) != 1 ||
		run.Failed[0].Attempts != 2 {
		t.Errorf("ProcessInbound at the next try = %+v", run)
	}
}
