package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store"
	"trivialtickets/store/sqlite"
)

func newGuard(t *testing.T, timeout time.Duration) *store.Guard {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return store.NewGuard(st, timeout)
}

func ticket(id string) core.Ticket {
	now := time.Now()
	return core.Ticket{ID: id, Subject: "s", Customer: "c@example.org", Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
}

func exists(t *testing.T, g *store.Guard, id string) bool {
	t.Helper()
	err := g.View(t.Context(), func(tx core.Tx) error {
		_, err := tx.Ticket(t.Context(), id)
		return err
	})
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestGuardBudget: a write that outlasts the budget ends with
// core.ErrUnavailable and stores nothing; one whose caller went away ends
// with the caller's error, which is not ErrUnavailable.
func TestGuardBudget(t *testing.T) {
	g := newGuard(t, 200*time.Millisecond)
	start := time.Now()
	err := g.Update(t.Context(), func(tx core.Tx) error {
		if err := tx.CreateTicket(t.Context(), ticket("slow")); err != nil {
			return err
		}
		time.Sleep(400 * time.Millisecond) // a slow database
		return nil
	})
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "budget") {
		t.Errorf("beyond the budget: %v, want ErrUnavailable naming the budget", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	if exists(t, g, "slow") {
		t.Error("the write beyond the budget was stored")
	}

	ctx, cancel := context.WithCancel(t.Context())
	err = g.Update(ctx, func(tx core.Tx) error {
		cancel() // the client went away
		return tx.CreateTicket(ctx, ticket("gone"))
	})
	if err == nil || errors.Is(err, core.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("caller gone: %v, want context.Canceled and not ErrUnavailable", err)
	}

	if err := g.Update(t.Context(), func(tx core.Tx) error { return tx.CreateTicket(t.Context(), ticket("quick")) }); err != nil {
		t.Errorf("within the budget: %v", err)
	}
}

// TestGuardHealth: Health is ok on a working store, fails while the last
// write failed for a transient reason (as SQLite's commits on a full disk
// do, which a rolled-back probe cannot see), and is ok again after a
// write succeeded.
func TestGuardHealth(t *testing.T) {
	g := newGuard(t, time.Second)
	if err := g.Health(t.Context()); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	full := store.Unavailable(errors.New("sqlite: commit: database or disk is full (13)"))
	if err := g.Update(t.Context(), func(tx core.Tx) error { return full }); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Update = %v", err)
	}
	err := g.Health(t.Context())
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Errorf("after a failed write: %v, want the write error", err)
	}
	// An invalid request is the client's fault, not the store's.
	g.Update(t.Context(), func(tx core.Tx) error { return core.Invalid("no subject") })
	if err := g.Health(t.Context()); err == nil {
		t.Error("an invalid request cleared the write error")
	}
	if err := g.Update(t.Context(), func(tx core.Tx) error { return tx.CreateTicket(t.Context(), ticket("ok")) }); err != nil {
		t.Fatal(err)
	}
	if err := g.Health(t.Context()); err != nil {
		t.Errorf("after a successful write: %v", err)
	}
}

// grouping is a store whose UpdateGrouped counts its calls.
type grouping struct {
	core.Store
	grouped int
}

func (g *grouping) UpdateGrouped(ctx context.Context, fn func(core.Tx) error) error {
	g.grouped++
	return g.Store.Update(ctx, fn)
}

// TestGuardUpdateGrouped: the Guard passes UpdateGrouped to a store that
// groups, with the budget, and runs Update on one that does not.
func TestGuardUpdateGrouped(t *testing.T) {
	plain := newGuard(t, 200*time.Millisecond)
	if err := plain.UpdateGrouped(t.Context(), func(tx core.Tx) error { return tx.CreateTicket(t.Context(), ticket("plain")) }); err != nil || !exists(t, plain, "plain") {
		t.Errorf("UpdateGrouped on a store without groups: %v", err)
	}
	st := &grouping{Store: plain}
	g := store.NewGuard(st, 200*time.Millisecond)
	if err := g.UpdateGrouped(t.Context(), func(tx core.Tx) error { return tx.CreateTicket(t.Context(), ticket("grouped")) }); err != nil || !exists(t, g, "grouped") || st.grouped != 1 {
		t.Errorf("UpdateGrouped on a store with groups: %v after %d grouped calls, want the ticket stored by one", err, st.grouped)
	}
	err := g.UpdateGrouped(t.Context(), func(tx core.Tx) error {
		time.Sleep(400 * time.Millisecond) // a slow database
		return tx.CreateTicket(t.Context(), ticket("slow"))
	})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("UpdateGrouped beyond the budget: %v, want ErrUnavailable", err)
	}
}
