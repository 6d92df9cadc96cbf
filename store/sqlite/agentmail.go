package sqlite

import (
	"context"
	"fmt"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// Agents' e-mail addresses and shared secrets.

func (t *tx) AgentMail(ctx context.Context, username string) (core.AgentMail, error) {
	m := core.AgentMail{Username: username}
	var notify string
	if err := t.queryRow(ctx, "e-mail of agent "+username, []any{&m.Email, &notify},
		`SELECT email, notify FROM agent_mail WHERE username = ?`, username); err != nil {
		return core.AgentMail{}, err
	}
	var err error
	if m.Notify, err = core.ParseNotify(notify); err != nil {
		return core.AgentMail{}, fmt.Errorf("e-mail of agent %s: %w", username, err)
	}
	return m, nil
}

func (t *tx) AgentMails(ctx context.Context) ([]core.AgentMail, error) {
	return queryAll(ctx, t, "agents' e-mail", sqlrows.ScanAgentMail, `SELECT `+sqlrows.AgentMailColumns+` FROM agent_mail ORDER BY username`)
}

func (t *tx) PutAgentMail(ctx context.Context, m core.AgentMail) error {
	_, err := t.exec(ctx, "set e-mail of agent "+m.Username, `INSERT INTO agent_mail (username, email, notify) VALUES (?, ?, ?)
		ON CONFLICT (username) DO UPDATE SET email = excluded.email, notify = excluded.notify`,
		m.Username, m.Email, m.Notify.String())
	return err
}

func (t *tx) DeleteAgentMail(ctx context.Context, username string) error {
	_, err := t.exec(ctx, "remove e-mail of agent "+username, `DELETE FROM agent_mail WHERE username = ?`, username)
	return err
}

func (t *tx) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if _, err := t.exec(ctx, "store secret "+name, `INSERT INTO secrets (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, err
	}
	var v []byte
	if err := t.queryRow(ctx, "secret "+name, []any{&v}, `SELECT value FROM secrets WHERE name = ?`, name); err != nil {
		return nil, err
	}
	return v, nil
}
