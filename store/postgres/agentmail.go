package postgres

import (
	"context"
	"fmt"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// Agents' e-mail addresses and shared secrets.

// scanAgentMail is store/sqlrows' scan of agent_mail, for queryAll.
var scanAgentMail = rowScan(sqlrows.ScanAgentMail)

func (t *tx) AgentMail(ctx context.Context, username string) (core.AgentMail, error) {
	ms, err := queryAll(ctx, t, "e-mail of agent "+username, scanAgentMail,
		`SELECT `+sqlrows.AgentMailColumns+` FROM agent_mail WHERE username = $1`, username)
	if err != nil {
		return core.AgentMail{}, err
	}
	if len(ms) == 0 {
		return core.AgentMail{}, fmt.Errorf("e-mail of agent %s: %w", username, core.ErrNotFound)
	}
	return ms[0], nil
}

func (t *tx) AgentMails(ctx context.Context) ([]core.AgentMail, error) {
	return queryAll(ctx, t, "agents' e-mail", scanAgentMail, `SELECT `+sqlrows.AgentMailColumns+` FROM agent_mail ORDER BY username`)
}

func (t *tx) PutAgentMail(ctx context.Context, m core.AgentMail) error {
	_, err := t.exec(ctx, "set e-mail of agent "+m.Username, `INSERT INTO agent_mail (username, email, notify) VALUES ($1, $2, $3)
		ON CONFLICT (username) DO UPDATE SET email = excluded.email, notify = excluded.notify`,
		m.Username, m.Email, m.Notify.String())
	return err
}

func (t *tx) DeleteAgentMail(ctx context.Context, username string) error {
	_, err := t.exec(ctx, "remove e-mail of agent "+username, `DELETE FROM agent_mail WHERE username = $1`, username)
	return err
}

func (t *tx) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if _, err := t.exec(ctx, "store secret "+name, `INSERT INTO secrets (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, err
	}
	var v []byte
	if err := t.queryRow(ctx, "secret "+name, []any{&v}, `SELECT value FROM secrets WHERE name = $1`, name); err != nil {
		return nil, err
	}
	return v, nil
}
