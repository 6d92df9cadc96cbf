package store

import (
	"context"

	"trivialtickets/core"
)

var _ core.TicketVersionReader = (*Guard)(nil)

// TicketVersion reads a ticket's version within the time budget: through
// the wrapped store's one-statement read when it has one
// (core.TicketVersionReader), else in a View.
func (g *Guard) TicketVersion(ctx context.Context, id string) (int64, error) {
	var v int64
	err := g.within(ctx, func(ctx context.Context) error {
		var err error
		if r, ok := g.Store.(core.TicketVersionReader); ok {
			v, err = r.TicketVersion(ctx, id)
			return err
		}
		return g.Store.View(ctx, func(tx core.Tx) error {
			v, err = tx.TicketVersion(ctx, id)
			return err
		})
	})
	return v, err
}
