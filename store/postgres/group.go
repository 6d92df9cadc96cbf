package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"trivialtickets/core"
)

// Grouped updates (core.GroupUpdater). On PostgreSQL most of a new
// ticket's cost is per statement and per transaction, paid in the server:
// BEGIN and COMMIT, a WAL flush, and the locks on every table and index
// that its statements touch (about 26 relations, more than a backend's 16
// fast-path lock slots, so most go through the shared lock table). In one
// transaction the locks of the second function on are already held, and
// the writes of several functions can go as one statement (see
// conn.queryBeside). So concurrent UpdateGrouped calls are gathered: a
// runner takes the calls that wait, up to maxGroup of them, and runs
// their functions one after another in one transaction, which commits
// them together.
//
// A function that fails rolls the group back, and so does a deadlock or
// a serialization failure (a group locks the tickets that its messages
// answer in their order, so two groups can lock two tickets in opposite
// orders, where one message at a time never waits for a second lock);
// then every function of the group is run again alone by its caller,
// through Update, and returns its own result (core.GroupUpdater allows a
// function to run more than once). Any other error of the group (the
// server unreachable, the COMMIT's answer lost) is every caller's: each
// of them would have met it.

// maxGroup is the most functions of one group: enough to spread a
// transaction's fixed costs thin, few enough that one failure reruns
// little and that the row locks taken by the group (a ticket answered)
// are not held long.
const maxGroup = 16

// defaultGroupRunners is how many groups run at a time, each on a
// connection of its own: while one waits for its statements' answers or
// its COMMIT's flush, another runs; more would make the groups smaller.
const defaultGroupRunners = 4

// groupTimeout bounds a group's transaction when one of its callers has
// no deadline of its own.
const groupTimeout = time.Minute

// groups gathers UpdateGrouped calls.
type groups struct {
	mu      sync.Mutex
	waiting []*groupCall
	running int // runners at work
	runners int // the most runners at a time
}

// groupCall is one UpdateGrouped call.
type groupCall struct {
	ctx  context.Context
	fn   func(core.Tx) error
	done chan groupResult
}

// groupResult is what a runner tells a caller: its function's outcome in
// the group, or alone when the group failed because of a function.
type groupResult struct {
	err   error
	alone bool
}

// errGroupMember is the error of one function that ended its group.
type errGroupMember struct {
	err error
}

func (e *errGroupMember) Error() string { return "a function of the group failed: " + e.err.Error() }
func (e *errGroupMember) Unwrap() error { return e.err }

var _ core.GroupUpdater = (*Store)(nil)

// UpdateGrouped runs fn like Update, possibly in one transaction with the
// functions of other UpdateGrouped calls (see groups above). ctx bounds fn's
// statements; once fn ran, the caller waits for the group's COMMIT, like
// Update's caller does for its own.
func (s *Store) UpdateGrouped(ctx context.Context, fn func(core.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return classify(fmt.Errorf("postgres: %w", err))
	}
	c := &groupCall{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	g := &s.groups
	g.mu.Lock()
	g.waiting = append(g.waiting, c)
	start := g.running < g.runners
	if start {
		g.running++
	}
	g.mu.Unlock()
	if start {
		go s.runGroups()
	}
	r := <-c.done
	if r.alone {
		return s.Update(ctx, fn)
	}
	return r.err
}

// runGroups runs groups of the waiting calls until none waits.
func (s *Store) runGroups() {
	g := &s.groups
	for {
		g.mu.Lock()
		n := min(len(g.waiting), maxGroup)
		if n == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		group := g.waiting[:n:n]
		g.waiting = g.waiting[n:]
		if len(g.waiting) == 0 {
			g.waiting = nil
		}
		g.mu.Unlock()
		s.runGroup(group)
	}
}

// runGroup runs the functions of group in one transaction, as Update
// would but tried once, and answers each call. A call whose context ended
// before its function ran is answered with that and left out. A call alone
// runs through Update itself.
func (s *Store) runGroup(group []*groupCall) {
	if len(group) == 1 {
		c := group[0]
		err := s.Update(c.ctx, func(t core.Tx) error { return runMember(c, t) })
		var p *errPanic
		c.done <- groupResult{err: err, alone: errors.As(err, &p)}
		return
	}
	results := make([]error, len(group))
	ctx, cancel := groupContext(group)
	defer cancel()
	// Tried once: a deadlock with another group (two answers to the same
	// two tickets, locked in turn in opposite orders) is not tried again
	// as a group, which could meet the same again, but alone.
	err := s.transact(ctx, writeTx, func(t core.Tx) error {
		for i, c := range group {
			results[i] = c.ctx.Err()
			if results[i] != nil {
				results[i] = classify(fmt.Errorf("postgres: %w", results[i]))
				continue
			}
			if err := runMember(c, t); err != nil {
				return &errGroupMember{err: err}
			}
		}
		return nil
	}, 1)
	var member *errGroupMember
	alone := errors.As(err, &member) || retryable(err)
	for i, c := range group {
		switch {
		case alone:
			c.done <- groupResult{alone: true}
		case err != nil:
			c.done <- groupResult{err: err}
		default:
			c.done <- groupResult{err: results[i]}
		}
	}
}

// runMember runs a call's function in the group's transaction. A panic
// becomes an *errPanic: the runner goroutine must not die of it (that
// would end the daemon), and the call, run again alone in its caller's
// goroutine, panics there, as it would have without groups.
func runMember(c *groupCall, t core.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &errPanic{value: p}
		}
	}()
	return c.fn(t)
}

// errPanic is a function's panic, caught by the runner.
type errPanic struct{ value any }

func (e *errPanic) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// groupContext is the context of a group's transaction: no caller's
// cancellation ends it (each call's own context bounds its function's
// statements), and its deadline is the latest of the callers', or
// groupTimeout when one of them has none.
func groupContext(group []*groupCall) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, c := range group {
		d, ok := c.ctx.Deadline()
		if !ok {
			latest = time.Now().Add(groupTimeout)
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(group[0].ctx), latest)
}
