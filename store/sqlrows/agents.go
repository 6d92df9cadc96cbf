package sqlrows

import (
	"fmt"

	"trivialtickets/core"
)

// AgentColumns are the columns of agents that AgentRow scans.
const AgentColumns = `username, name, password_hash, vacation, created_at, time_zone`

// AgentRow holds the scan targets of AgentColumns.
type AgentRow struct {
	a         core.Agent
	createdAt int64
}

// Dest returns the scan targets, in the order of AgentColumns.
func (s *AgentRow) Dest() []any {
	return []any{&s.a.Username, &s.a.Name, &s.a.PasswordHash, &s.a.Vacation, &s.createdAt, &s.a.TimeZone}
}

// Agent returns the agent scanned.
func (s *AgentRow) Agent() core.Agent {
	a := s.a
	a.CreatedAt = FromNanos(s.createdAt)
	return a
}

// ScanAgent scans a row of AgentColumns.
func ScanAgent(scan Scan) (core.Agent, error) {
	var s AgentRow
	return scanInto(scan, s.Dest(), s.Agent)
}

// AgentMailColumns are the columns of agent_mail that ScanAgentMail scans.
const AgentMailColumns = `username, email, notify`

// ScanAgentMail scans a row of AgentMailColumns; a notify value that core
// does not know is an error naming the agent.
func ScanAgentMail(scan Scan) (core.AgentMail, error) {
	var m core.AgentMail
	var notify string
	if err := scan(&m.Username, &m.Email, &notify); err != nil {
		return core.AgentMail{}, err
	}
	var err error
	if m.Notify, err = core.ParseNotify(notify); err != nil {
		return core.AgentMail{}, fmt.Errorf("e-mail of agent %s: %w", m.Username, err)
	}
	return m, nil
}

// TokenColumns are the columns of sessions and of trusted_devices, which
// TokenRow scans.
const TokenColumns = `token_hash, username, created_at, expires_at`

// TokenRow holds the scan targets of TokenColumns.
type TokenRow struct {
	tokenHash, username  string
	createdAt, expiresAt int64
}

// Dest returns the scan targets, in the order of TokenColumns.
func (s *TokenRow) Dest() []any {
	return []any{&s.tokenHash, &s.username, &s.createdAt, &s.expiresAt}
}

// Session returns the row scanned as a session.
func (s *TokenRow) Session() core.Session {
	return core.Session{TokenHash: s.tokenHash, Username: s.username,
		CreatedAt: FromNanos(s.createdAt), ExpiresAt: FromNanos(s.expiresAt)}
}

// TrustedDevice returns the row scanned as a trusted device.
func (s *TokenRow) TrustedDevice() core.TrustedDevice {
	return core.TrustedDevice(s.Session())
}

// ThrottleColumns are the columns of login_throttles (but the key) that
// ThrottleRow scans.
const ThrottleColumns = `failures, window_start, lockouts, locked_until, last`

// ThrottleRow holds the scan targets of ThrottleColumns.
type ThrottleRow struct {
	e                              core.LoginThrottle
	windowStart, lockedUntil, last int64
}

// Dest returns the scan targets, in the order of ThrottleColumns.
func (s *ThrottleRow) Dest() []any {
	return []any{&s.e.Failures, &s.windowStart, &s.e.Lockouts, &s.lockedUntil, &s.last}
}

// Throttle returns the login throttle scanned.
func (s *ThrottleRow) Throttle() core.LoginThrottle {
	e := s.e
	e.WindowStart, e.LockedUntil, e.Last = FromNanos(s.windowStart), FromNanos(s.lockedUntil), FromNanos(s.last)
	return e
}
