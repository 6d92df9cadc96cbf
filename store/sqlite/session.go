package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// sessionAgentSQL reads a session and its agent in one statement.
const sessionAgentSQL = `SELECT s.token_hash, s.u, s.sc, s.expires_at, ` + sqlrows.AgentColumns + `
	FROM (SELECT token_hash, username AS u, created_at AS sc, expires_at FROM sessions WHERE token_hash = ?) s
	JOIN agents ON agents.username = s.u`

// SessionAgent reads a session and its agent in one statement on a reader
// connection, without BEGIN and ROLLBACK around it: a single SELECT in
// autocommit reads one consistent snapshot (core.SessionReader).
func (s *Store) SessionAgent(ctx context.Context, tokenHash string) (core.Session, core.Agent, error) {
	st, err := s.readerStmts.prepared(ctx, sessionAgentSQL)
	if err != nil {
		return core.Session{}, core.Agent{}, classify(dbErr("session", err))
	}
	var tr sqlrows.TokenRow
	var ar sqlrows.AgentRow
	err = st.QueryRowContext(ctx, tokenHash).Scan(append(tr.Dest(), ar.Dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Session{}, core.Agent{}, fmt.Errorf("session: %w", core.ErrNotFound)
	}
	if err != nil {
		return core.Session{}, core.Agent{}, classify(dbErr("session", err))
	}
	return tr.Session(), ar.Agent(), nil
}

var _ core.SessionReader = (*Store)(nil)
