package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
)

// ticketVersionSQL reads a ticket's version, kept by the triggers of
// migration 0011.
const ticketVersionSQL = `SELECT version FROM tickets WHERE id = $1`

// TicketVersion returns the ticket's version (core.Tx.TicketVersion).
func (t *tx) TicketVersion(ctx context.Context, id string) (int64, error) {
	var v int64
	if err := t.queryRow(ctx, "ticket version "+id, []any{&v}, ticketVersionSQL, id); err != nil {
		return 0, err
	}
	return v, nil
}

// TicketVersion reads the ticket's version in one statement on a pooled
// connection, without a transaction around it: one statement reads one
// snapshot (core.TicketVersionReader).
func (s *Store) TicketVersion(ctx context.Context, id string) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, ticketVersionSQL, id).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("ticket version %s: %w", id, core.ErrNotFound)
	}
	if err != nil {
		return 0, classify(dbErr("ticket version "+id, err))
	}
	return v, nil
}

var _ core.TicketVersionReader = (*Store)(nil)
