package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestGuardSessionAgent: the guard reads a session with its agent through
// the store's one-statement read, answers ErrNotFound for an unknown token
// and gives up with ErrUnavailable when the budget ends.
func TestGuardSessionAgent(t *testing.T) {
	g := newGuard(t, time.Second)
	ctx := t.Context()
	now := time.Now()
	err := g.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateAgent(ctx, core.Agent{Username: "bob", Name: "Bob", PasswordHash: []byte("x"), CreatedAt: now}); err != nil {
			return err
		}
		return tx.CreateSession(ctx, core.Session{TokenHash: "h1", Username: "bob", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	s, a, err := g.SessionAgent(ctx, "h1")
	if err != nil || s.Username != "bob" || !s.ExpiresAt.Equal(now.Add(time.Hour)) || a.Username != "bob" || a.Name != "Bob" {
		t.Errorf("SessionAgent(h1) = %+v, %+v, %v; want bob's session and bob", s, a, err)
	}
	if _, _, err := g.SessionAgent(ctx, "h2"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
	short := newGuard(t, time.Nanosecond)
	if _, _, err := short.SessionAgent(context.Background(), "h1"); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("spent budget: %v, want ErrUnavailable", err)
	}
}
