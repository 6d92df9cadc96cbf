package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Login throttling: after throttleFailures failed logins within
// throttleWindow for one key (an account, or a client address), further
// attempts for that key are refused for a lockout that doubles with every
// lockout in a row (throttleLockout, 2×, 4× … up to throttleMaxLockout).
// The records live in the store, so several daemons throttle together and a
// restart forgets nothing.
const (
	throttleFailures   = 5
	throttleWindow     = 15 * time.Minute
	throttleLockout    = 15 * time.Minute
	throttleMaxLockout = 24 * time.Hour
	// throttleForget drops the record of a key after this long without
	// failures (and no lockout running).
	throttleForget = 24 * time.Hour
)

// LoginThrottle is the record of failed logins for one key.
type LoginThrottle struct {
	Failures    int       // failures in the current window
	WindowStart time.Time // first failure of the window
	Lockouts    int       // lockouts in a row
	LockedUntil time.Time
	Last        time.Time // latest failure
}

// fail records one failed login at now.
func (e *LoginThrottle) fail(now time.Time) {
	if now.Sub(e.Last) > throttleForget {
		e.Lockouts = 0
	}
	e.Last = now
	if e.Failures == 0 || now.Sub(e.WindowStart) > throttleWindow {
		e.Failures, e.WindowStart = 0, now
	}
	e.Failures++
	if e.Failures >= throttleFailures {
		lock := throttleLockout << min(e.Lockouts, 10)
		e.LockedUntil = now.Add(min(lock, throttleMaxLockout))
		e.Lockouts++
		e.Failures = 0
	}
}

// LoginWait returns how long the longest lockout among keys still runs; 0
// when a login may be tried.
func (s *Service) LoginWait(ctx context.Context, keys ...string) (time.Duration, error) {
	now := s.now()
	var longest time.Duration
	err := s.store.View(ctx, func(tx Tx) error {
		longest = 0
		for _, k := range keys {
			e, err := tx.LoginThrottle(ctx, k)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			longest = max(longest, e.LockedUntil.Sub(now))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	return longest, nil
}

// LoginFailed records a failed login for every key, and forgets the
// records that have been idle for a day.
func (s *Service) LoginFailed(ctx context.Context, keys ...string) error {
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		for _, k := range keys {
			e, err := tx.LoginThrottle(ctx, k)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			e.fail(now)
			if err := tx.PutLoginThrottle(ctx, k, e); err != nil {
				return err
			}
		}
		return tx.DeleteIdleLoginThrottles(ctx, now.Add(-throttleForget), now)
	})
	if err != nil {
		return fmt.Errorf("record failed login: %w", err)
	}
	return nil
}

// LoginSucceeded forgets the failed logins of key.
func (s *Service) LoginSucceeded(ctx context.Context, key string) error {
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteLoginThrottle(ctx, key) })
	if err != nil {
		return fmt.Errorf("clear failed logins: %w", err)
	}
	return nil
}
