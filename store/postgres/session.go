package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// sessionAgentSQL reads a session and its agent in one statement.
const sessionAgentSQL = `SELECT s.token_hash, s.u, s.sc, s.expires_at, ` + sqlrows.AgentColumns + `
	FROM (SELECT token_hash, username AS u, created_at AS sc, expires_at FROM sessions WHERE token_hash = $1) s
	JOIN agents ON agents.username = s.u`

// SessionAgent reads a session and its agent in one statement on a pooled
// connection, without a transaction around it: one statement reads one
// snapshot, and every page an agent opens asks for it
// (core.SessionReader).
func (s *Store) SessionAgent(ctx context.Context, tokenHash string) (core.Session, core.Agent, error) {
	var tr sqlrows.TokenRow
	var ar sqlrows.AgentRow
	err := s.pool.QueryRow(ctx, sessionAgentSQL, tokenHash).Scan(append(tr.Dest(), ar.Dest()...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return core.Session{}, core.Agent{}, fmt.Errorf("session: %w", core.ErrNotFound)
	}
	if err != nil {
		return core.Session{}, core.Agent{}, classify(dbErr("session", err))
	}
	return tr.Session(), ar.Agent(), nil
}

var _ core.SessionReader = (*Store)(nil)
