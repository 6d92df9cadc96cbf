package store

import (
	"context"

	"trivialtickets/core"
)

var _ core.SessionReader = (*Guard)(nil)

// SessionAgent reads a session and its agent within the time budget:
// through the wrapped store's one-statement read when it has one
// (core.SessionReader), else in a View.
func (g *Guard) SessionAgent(ctx context.Context, tokenHash string) (core.Session, core.Agent, error) {
	var (
		sess core.Session
		a    core.Agent
	)
	err := g.within(ctx, func(ctx context.Context) error {
		var err error
		if r, ok := g.Store.(core.SessionReader); ok {
			sess, a, err = r.SessionAgent(ctx, tokenHash)
			return err
		}
		return g.Store.View(ctx, func(tx core.Tx) error {
			if sess, err = tx.Session(ctx, tokenHash); err != nil {
				return err
			}
			a, err = tx.Agent(ctx, sess.Username)
			return err
		})
	})
	return sess, a, err
}
