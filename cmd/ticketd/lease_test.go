package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
)

// watchedLeases is the real SQLite store's leases, with renewals of one
// owner reported on a channel and refused while fail is set.
type watchedLeases struct {
	leaseStore
	owner    string
	fail     atomic.Bool
	acquired chan bool // each AcquireLease of owner: whether it got the lease
	released chan struct{}
}

func (w *watchedLeases) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if owner == w.owner && w.fail.Load() {
		return false, errors.New("database unavailable")
	}
	ok, err := w.leaseStore.AcquireLease(ctx, name, owner, ttl)
	if owner == w.owner && err == nil {
		select {
		case w.acquired <- ok:
		default:
		}
	}
	return ok, err
}

func (w *watchedLeases) ReleaseLease(ctx context.Context, name, owner string) error {
	err := w.leaseStore.ReleaseLease(ctx, name, owner)
	if owner == w.owner {
		w.released <- struct{}{}
	}
	return err
}

func leaseService(t *testing.T) *core.Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "leases.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return core.NewService(st, core.Config{})
}

// fastLeaser is a leaser with short timing, so that renewals come quickly.
func fastLeaser(st leaseStore, owner string) *leaser {
	return &leaser{store: st, owner: owner, log: slog.New(slog.DiscardHandler),
		ttl: 300 * time.Millisecond, renew: 20 * time.Millisecond, retry: 10 * time.Millisecond}
}

// within waits for one value from ch, failing the test after a generous
// bound (a safety net, not the thing measured).
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// A daemon takes a free lease, runs the job, keeps the lease by renewing it
// past its time to live, and on stop ends the job and gives the lease back
// so that another daemon may take it at once.
func TestLeaseTakenRenewedGivenBack(t *testing.T) {
	svc := leaseService(t)
	w := &watchedLeases{leaseStore: svc, owner: "a", acquired: make(chan bool, 1), released: make(chan struct{}, 1)}
	l := fastLeaser(w, "a")
	ctx, stop := context.WithCancel(context.Background())
	held := make(chan bool, 4)
	jobStarted, jobEnded := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx, "imap:test", func(h bool) { held <- h }, func(ctx context.Context) {
			close(jobStarted)
			<-ctx.Done()
			close(jobEnded)
		})
	}()
	if !within(t, held, "the lease to be taken") {
		t.Fatal("first report: not held")
	}
	within(t, jobStarted, "the job to start")
	// 20 renewals of 20 ms outlast the time to live of 300 ms: only
	// renewing keeps another daemon out.
	for range 20 {
		if !within(t, w.acquired, "a renewal") {
			t.Fatal("a renewal was refused while this daemon held the lease")
		}
	}
	if ok, err := svc.AcquireLease(context.Background(), "imap:test", "b", time.Minute); err != nil || ok {
		t.Fatalf("another daemon took the held lease: %v, %v", ok, err)
	}
	stop()
	within(t, done, "run to return after stop")
	select {
	case <-jobEnded:
	default:
		t.Error("run returned while the job was still running")
	}
	if within(t, held, "the lease to be reported as given up") {
		t.Error("last report: still held")
	}
	within(t, w.released, "the lease to be released")
	if ok, err := svc.AcquireLease(context.Background(), "imap:test", "b", time.Minute); err != nil || !ok {
		t.Errorf("another daemon could not take the lease given back: %v, %v", ok, err)
	}
}

// A daemon that cannot renew its lease stops the job, gives the lease up,
// and takes it again (starting the job anew) once the store answers.
func TestLeaseLostStopsJob(t *testing.T) {
	svc := leaseService(t)
	w := &watchedLeases{leaseStore: svc, owner: "a", acquired: make(chan bool, 1), released: make(chan struct{}, 1)}
	l := fastLeaser(w, "a")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	held := make(chan bool, 4)
	runs := make(chan int, 4)
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx, "retention", func(h bool) { held <- h }, func(ctx context.Context) {
			runs <- int(n.Add(1))
			<-ctx.Done()
		})
	}()
	within(t, held, "the lease to be taken")
	within(t, runs, "the job to start")
	w.fail.Store(true)
	if within(t, held, "the lost lease to be reported") {
		t.Fatal("still held after a failed renewal")
	}
	within(t, w.released, "the lost lease to be given up")
	w.fail.Store(false)
	if !within(t, held, "the lease to be taken again") {
		t.Fatal("not held after the store answered again")
	}
	if got := within(t, runs, "the job to start again"); got != 2 {
		t.Errorf("job started %d times, want 2", got)
	}
	stop()
	within(t, done, "run to return after stop")
}

// While another daemon holds the lease, run waits and does not start the
// job; when that daemon gives it back, this one takes it.
func TestLeaseWaitsForOtherHolder(t *testing.T) {
	svc := leaseService(t)
	if ok, err := svc.AcquireLease(context.Background(), "retention", "b", time.Minute); err != nil || !ok {
		t.Fatalf("b takes the lease: %v, %v", ok, err)
	}
	w := &watchedLeases{leaseStore: svc, owner: "a", acquired: make(chan bool, 1), released: make(chan struct{}, 1)}
	l := fastLeaser(w, "a")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx, "retention", func(bool) {}, func(ctx context.Context) {
			close(started)
			<-ctx.Done()
		})
	}()
	for range 3 {
		if within(t, w.acquired, "a try for the lease") {
			t.Fatal("took a lease another daemon holds")
		}
	}
	select {
	case <-started:
		t.Fatal("the job started without the lease")
	default:
	}
	if err := svc.ReleaseLease(context.Background(), "retention", "b"); err != nil {
		t.Fatal(err)
	}
	within(t, started, "the job to start once the lease was free")
	stop()
	within(t, done, "run to return after stop")
}
