package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"trivialtickets/core"
)

// ticketVersionSQL reads a ticket's version, kept by the triggers of
// migration 0011.
const ticketVersionSQL = `SELECT version FROM tickets WHERE id = ?`

// TicketVersion returns the ticket's version (core.Tx.TicketVersion).
func (t *tx) TicketVersion(ctx context.Context, id string) (int64, error) {
	var v int64
	if err := t.queryRow(ctx, "ticket version "+id, []any{&v}, ticketVersionSQL, id); err != nil {
		return 0, err
	}
	return v, nil
}

// TicketVersion reads the ticket's version in one statement on a reader
// connection, without BEGIN and ROLLBACK around it: a single SELECT in
// autocommit reads one consistent snapshot (core.TicketVersionReader).
//
// The lookup in the primary key runs without ctx's cancellation once ctx
// is checked: with a context that can end, both database/sql and the
// driver start a goroutine per query to watch it (7–13 % of the
// daemon's CPU per cached customer's page), and a read in a WAL database
// waits for no writer (only SQLite's busy timeout bounds it).
func (s *Store) TicketVersion(ctx context.Context, id string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, classify(dbErr("ticket version "+id, err))
	}
	ctx = context.WithoutCancel(ctx)
	st, err := s.readerStmts.prepared(ctx, ticketVersionSQL)
	if err != nil {
		return 0, classify(dbErr("ticket version "+id, err))
	}
	var v int64
	err = st.QueryRowContext(ctx, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("ticket version %s: %w", id, core.ErrNotFound)
	}
	if err != nil {
		return 0, classify(dbErr("ticket version "+id, err))
	}
	return v, nil
}

var _ core.TicketVersionReader = (*Store)(nil)

// prepared returns query prepared on the cache's pool, preparing it once.
func (c *stmtCache) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if v, ok := c.m.LoadOrStore(query, st); ok {
		st.Close() // another goroutine was first
		return v.(*sql.Stmt), nil
	}
	return st, nil
}
