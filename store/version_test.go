package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestGuardTicketVersion: the guard reads a ticket's version through the
// store's one-statement read, sees every change, answers ErrNotFound for
// an unknown ticket and gives up with ErrUnavailable when the budget ends.
func TestGuardTicketVersion(t *testing.T) {
	g := newGuard(t, time.Second)
	ctx := t.Context()
	if err := g.Update(ctx, func(tx core.Tx) error { return tx.CreateTicket(ctx, ticket("aaaaaaaaaaaaaaaa")) }); err != nil {
		t.Fatal(err)
	}
	v1, err := g.TicketVersion(ctx, "aaaaaaaaaaaaaaaa")
	if err != nil {
		t.Fatal(err)
	}
	err = g.Update(ctx, func(tx core.Tx) error {
		tk := ticket("aaaaaaaaaaaaaaaa")
		tk.Status = core.StatusClosed
		return tx.UpdateTicket(ctx, tk)
	})
	if err != nil {
		t.Fatal(err)
	}
	if v2, err := g.TicketVersion(ctx, "aaaaaaaaaaaaaaaa"); err != nil || v2 <= v1 {
		t.Errorf("version after an update: %d, %v; before %d", v2, err, v1)
	}
	if _, err := g.TicketVersion(ctx, "bbbbbbbbbbbbbbbb"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown ticket: %v, want ErrNotFound", err)
	}
	short := newGuard(t, time.Nanosecond)
	if _, err := short.TicketVersion(context.Background(), "aaaaaaaaaaaaaaaa"); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("spent budget: %v, want ErrUnavailable", err)
	}
}
