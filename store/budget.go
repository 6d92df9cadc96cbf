package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"trivialtickets/core"
)

// unavailableError marks a store error that means "try again later": it
// is core.ErrUnavailable and keeps the driver's error (and its message).
type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return e.err.Error() }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == core.ErrUnavailable }

// Unavailable returns err marked as core.ErrUnavailable, with its message
// unchanged; nil stays nil, and an error already marked is returned as it
// is. Store packages call it for the errors they classify as transient.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, core.ErrUnavailable) {
		return err
	}
	return &unavailableError{err: err}
}

// DefaultTimeout is the time budget of one store transaction when none is
// configured: well under the 30 to 60 s after which clients give up.
const DefaultTimeout = 15 * time.Second

// writeErrorWindow is how long a failed write keeps Health failing when
// no write has succeeded since.
const writeErrorWindow = 30 * time.Second

// Guard wraps a core.Store for the daemon: every transaction gets a time
// budget, a transaction that runs out of it fails with core.ErrUnavailable,
// and the outcome of writes is remembered for Health. It is safe for
// concurrent use.
type Guard struct {
	core.Store
	timeout time.Duration
	now     func() time.Time

	mu        sync.Mutex
	lastErr   error     // last transient write error, nil after a success
	lastErrAt time.Time // when lastErr happened
}

var _ core.Store = (*Guard)(nil)

// NewGuard wraps s; timeout ≤ 0 means DefaultTimeout.
func NewGuard(s core.Store, timeout time.Duration) *Guard {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Guard{Store: s, timeout: timeout, now: time.Now}
}

// Timeout is the time budget of one transaction.
func (g *Guard) Timeout() time.Duration { return g.timeout }

// Update runs fn in a write transaction of the wrapped store within the
// time budget (or ctx's earlier deadline).
func (g *Guard) Update(ctx context.Context, fn func(core.Tx) error) error {
	return g.write(ctx, func(ctx context.Context) error { return g.Store.Update(ctx, fn) })
}

var _ core.GroupUpdater = (*Guard)(nil)

// UpdateGrouped is Update through the wrapped store's UpdateGrouped when
// it has one (core.GroupUpdater), else through its Update.
func (g *Guard) UpdateGrouped(ctx context.Context, fn func(core.Tx) error) error {
	gu, ok := g.Store.(core.GroupUpdater)
	if !ok {
		return g.Update(ctx, fn)
	}
	return g.write(ctx, func(ctx context.Context) error { return gu.UpdateGrouped(ctx, fn) })
}

// write runs the write f within the time budget and remembers its
// outcome for Health.
func (g *Guard) write(ctx context.Context, f func(context.Context) error) error {
	err := g.within(ctx, f)
	g.mu.Lock()
	switch {
	case err == nil:
		g.lastErr = nil
	case errors.Is(err, core.ErrUnavailable):
		g.lastErr, g.lastErrAt = err, g.now()
	}
	g.mu.Unlock()
	return err
}

// View runs fn in a read-only transaction of the wrapped store within the
// time budget.
func (g *Guard) View(ctx context.Context, fn func(core.Tx) error) error {
	return g.within(ctx, func(ctx context.Context) error { return g.Store.View(ctx, fn) })
}

// within runs f with the budget's deadline; when the budget ran out (not
// the caller's own context), the error is core.ErrUnavailable.
func (g *Guard) within(ctx context.Context, f func(context.Context) error) error {
	bctx, cancel := context.WithTimeoutCause(ctx, g.timeout, errBudget)
	defer cancel()
	err := f(bctx)
	if err != nil && ctx.Err() == nil && bctx.Err() != nil {
		// The cause first: logs and /healthz show the first line.
		return Unavailable(fmt.Errorf("%w (%w after %s)", err, errBudget, g.timeout))
	}
	return err
}

// errBudget is the cause of a transaction's context when its budget ends.
var errBudget = errors.New("store time budget spent")

// healthTimeout bounds Health's work when the budget is longer.
const healthTimeout = 2 * time.Second

// errProbe rolls back the write of Health.
var errProbe = errors.New("health probe: rolled back")

// Health reports whether the store can serve: a read, a small write in a
// transaction that is rolled back, and no transient write error in the
// last 30 s without a successful write since (SQLite writes a full disk's
// pages only at commit, so a rolled-back write cannot see it).
func (g *Guard) Health(ctx context.Context) error {
	// Load balancers wait a few seconds for an answer; a failed connect
	// is not retried for the whole budget here.
	ctx, cancel := context.WithTimeout(ctx, min(g.timeout, healthTimeout))
	defer cancel()
	if err := g.within(ctx, func(ctx context.Context) error {
		return g.Store.View(ctx, func(tx core.Tx) error {
			_, err := tx.PendingMails(ctx, 0, 1)
			return err
		})
	}); err != nil {
		return fmt.Errorf("store read: %w", err)
	}
	now := g.now()
	err := g.within(ctx, func(ctx context.Context) error {
		return g.Store.Update(ctx, func(tx core.Tx) error {
			if _, err := tx.AcquireLease(ctx, "healthz-probe", "healthz", now, now); err != nil {
				return err
			}
			return errProbe
		})
	})
	if err != nil && !errors.Is(err, errProbe) {
		return fmt.Errorf("store write: %w", err)
	}
	g.mu.Lock()
	last, at := g.lastErr, g.lastErrAt
	g.mu.Unlock()
	if last != nil && now.Sub(at) < writeErrorWindow {
		return fmt.Errorf("store write failed %s ago: %w", now.Sub(at).Round(time.Second), last)
	}
	return nil
}
