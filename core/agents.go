package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLength is the shortest password accepted for an agent.
const MinPasswordLength = 8

// usernameRe: user names appear in URLs, forms and logs.
var usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// SessionLifetime is how long a login lasts.
const SessionLifetime = 12 * time.Hour

// bcryptCost is the work factor of password hashes.
const bcryptCost = 11

// MaxUsernameLength and MaxPasswordLength bound what a login form may
// send: user names have at most 32 characters, and bcrypt reads at most 72
// bytes of a password.
const (
	MaxUsernameLength = 64
	MaxPasswordLength = 72
)

// dummyHash is compared against when a username does not exist, so that a
// failed login takes as long for unknown users as for wrong passwords. It is
// made at the first such login, not at start: every command and test
// binary would pay for it otherwise.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("trivial tickets timing guard"), bcryptCost)
	if err != nil {
		panic("bcrypt: " + err.Error())
	}
	return h
})

// PasswordChecks returns how many passwords the service has compared with
// a bcrypt hash, for tests and metrics of the login throttle.
func (s *Service) PasswordChecks() int64 { return s.passwordChecks.Load() }

// comparePassword checks password against hash and counts the check.
func (s *Service) comparePassword(hash []byte, password string) error {
	s.passwordChecks.Add(1)
	return bcrypt.CompareHashAndPassword(hash, []byte(password))
}

func checkPassword(password string) error {
	if len(password) < MinPasswordLength {
		return Invalid(fmt.Sprintf("the password must have at least %d characters", MinPasswordLength))
	}
	if len(password) > 72 {
		return Invalid("the password must have at most 72 bytes")
	}
	return nil
}

// AddAgent registers an agent with a password.
func (s *Service) AddAgent(ctx context.Context, username, name, password string) error {
	if !usernameRe.MatchString(username) {
		return Invalid(fmt.Sprintf("user name %q: use 1 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", username))
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	a := Agent{Username: username, Name: CleanSubject(name), PasswordHash: hash, CreatedAt: s.now()}
	err = s.store.Update(ctx, func(tx Tx) error { return tx.CreateAgent(ctx, a) })
	if errors.Is(err, ErrDuplicate) {
		return fmt.Errorf("agent %q exists already: %w", username, err)
	}
	if err != nil {
		return fmt.Errorf("add agent %s: %w", username, err)
	}
	return nil
}

// SetPassword changes an agent's password, ends all their sessions and
// ends the trust in their browsers.
func (s *Service) SetPassword(ctx context.Context, username, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		a, err := tx.Agent(ctx, username)
		if err != nil {
			return err
		}
		a.PasswordHash = hash
		if err := tx.UpdateAgent(ctx, a); err != nil {
			return err
		}
		// A new password also ends the trust in the agent's browsers.
		if err := tx.DeleteTrustedDevices(ctx, username); err != nil {
			return err
		}
		return tx.DeleteSessions(ctx, username)
	})
	if err != nil {
		return fmt.Errorf("set password of %s: %w", username, err)
	}
	return nil
}

// RemoveAgent deletes an agent, ends their sessions and releases their
// tickets (status Open, an internal note on each).
func (s *Service) RemoveAgent(ctx context.Context, username string) error {
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		a, err := tx.Agent(ctx, username)
		if err != nil {
			return err
		}
		for {
			ts, err := tx.ListTickets(ctx, TicketQuery{Assignee: username, Limit: 500})
			if err != nil {
				return err
			}
			if len(ts) == 0 {
				break
			}
			for _, t := range ts {
				t.Assignee = ""
				if t.Status == StatusInProgress {
					t.Status = StatusOpen
				}
				t.UpdatedAt = now
				if err := tx.UpdateTicket(ctx, t); err != nil {
					return err
				}
				if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: true,
					Text: fmt.Sprintf("Released: agent %s was removed.", a.DisplayName())}); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteSessions(ctx, username); err != nil {
			return err
		}
		return tx.DeleteAgent(ctx, username)
	})
	if err != nil {
		return fmt.Errorf("remove agent %s: %w", username, err)
	}
	return nil
}

// Agents lists every agent.
func (s *Service) Agents(ctx context.Context) ([]Agent, error) {
	var as []Agent
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		as, err = tx.Agents(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return as, nil
}

// Agent returns one agent.
func (s *Service) Agent(ctx context.Context, username string) (Agent, error) {
	var a Agent
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		a, err = tx.Agent(ctx, username)
		return err
	})
	if err != nil {
		return Agent{}, fmt.Errorf("agent %s: %w", username, err)
	}
	return a, nil
}

// EnsureFirstAgent creates the agent "admin" with a random password when no
// agent exists yet, and returns that password; created is false when agents
// existed already.
func (s *Service) EnsureFirstAgent(ctx context.Context) (username, password string, created bool, err error) {
	as, err := s.Agents(ctx)
	if err != nil {
		return "", "", false, err
	}
	if len(as) > 0 {
		return "", "", false, nil
	}
	b := make([]byte, 12)
	rand.Read(b)
	password = base64.RawURLEncoding.EncodeToString(b)
	if err := s.AddAgent(ctx, "admin", "Administrator", password); err != nil {
		if errors.Is(err, ErrDuplicate) { // another daemon was quicker
			return "", "", false, nil
		}
		return "", "", false, err
	}
	return "admin", password, true, nil
}

// Authenticate checks a username and password.
func (s *Service) Authenticate(ctx context.Context, username, password string) (Agent, error) {
	a, err := s.Agent(ctx, username)
	if errors.Is(err, ErrNotFound) {
		s.comparePassword(dummyHash(), password)
		return Agent{}, ErrBadCredentials
	}
	if err != nil {
		return Agent{}, err
	}
	if s.comparePassword(a.PasswordHash, password) != nil {
		return Agent{}, ErrBadCredentials
	}
	return a, nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Login authenticates an agent and starts a new session. It ends the session
// with oldToken, if any, so that a session id is never carried across a
// login. The returned token goes into the cookie; only its hash is stored.
func (s *Service) Login(ctx context.Context, username, password, oldToken string) (token string, a Agent, err error) {
	a, err = s.Authenticate(ctx, username, password)
	if err != nil {
		return "", Agent{}, err
	}
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	err = s.store.Update(ctx, func(tx Tx) error {
		if oldToken != "" {
			if err := tx.DeleteSession(ctx, hashToken(oldToken)); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if err := tx.DeleteExpiredSessions(ctx, now); err != nil {
			return err
		}
		return tx.CreateSession(ctx, Session{TokenHash: hashToken(token), Username: a.Username, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)})
	})
	if err != nil {
		return "", Agent{}, fmt.Errorf("start session for %s: %w", username, err)
	}
	return token, a, nil
}

// SessionAgent returns the agent of a valid session token.
func (s *Service) SessionAgent(ctx context.Context, token string) (Agent, error) {
	if token == "" {
		return Agent{}, ErrNotFound
	}
	var (
		sess Session
		a    Agent
		err  error
	)
	if r, ok := s.store.(SessionReader); ok {
		sess, a, err = r.SessionAgent(ctx, hashToken(token))
	} else {
		err = s.store.View(ctx, func(tx Tx) error {
			ps, pa, err := readSession(ctx, tx, hashToken(token))
			if err == nil && ps == nil {
				err = ErrNotFound
			}
			if err == nil {
				sess, a = *ps, *pa
			}
			return err
		})
	}
	if err == nil && !s.live(sess) {
		err = fmt.Errorf("session expired: %w", ErrNotFound)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("session: %w", err)
	}
	return a, nil
}

// live reports whether sess has not expired.
func (s *Service) live(sess Session) bool { return s.now().Before(sess.ExpiresAt) }

// SessionReader is a Store that reads a session together with its agent
// in one statement, without the cost of a transaction around it (every
// page an agent opens asks for it). SessionAgent fails with ErrNotFound
// when no session has the hash or its agent is gone.
// Service.SessionAgent uses it when the store has it.
type SessionReader interface {
	SessionAgent(ctx context.Context, tokenHash string) (Session, Agent, error)
}

// Logout ends a session on the server.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		err := tx.DeleteSession(ctx, hashToken(token))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}
