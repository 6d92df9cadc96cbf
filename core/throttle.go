package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Login throttling (OWASP, "Blocking Brute Force Attacks"). Every attempt
// first reserves a place in the budget of each of its keys, in one store
// transaction that locks the keys' records, and only then is the password
// checked: parallel guesses cost at most a budget of password checks, with
// one daemon or several on one database. A key whose budget is spent
// (limit attempts within throttleWindow) is locked for throttleLockout,
// doubling with every lockout in a row up to throttleMaxLockout. A success
// clears the keys of the account and gives the one place back to the
// client address.
//
// The keys of an attempt:
//
//   - From a browser without a trust cookie: the account at the client
//     address (5), the client address alone (30: an office behind one NAT
//     address is not locked out by one colleague's typos, yet one address
//     cannot guess through many accounts) and the account from anywhere (10:
//     a guess spread over many addresses is still capped).
//   - From a browser with a valid trust cookie of the account (given at a
//     successful login, TrustedDeviceLifetime): the device alone (5). So a
//     flood of failures from elsewhere does not keep an agent out of their
//     usual browser. When the device's own budget is spent, it counts as
//     an untrusted browser.
const (
	throttleWindow     = 15 * time.Minute
	throttleLockout    = 15 * time.Minute
	throttleMaxLockout = 24 * time.Hour
	// throttleForget drops the record of a key after this long without
	// attempts (and no lockout running).
	throttleForget = 24 * time.Hour
)

// throttleRule is one kind of throttle key: its prefix and its budget of
// attempts per window.
type throttleRule struct {
	prefix string
	limit  int
}

// The kinds of keys and their budgets.
var (
	ruleAccountAtClient = throttleRule{"user-ip:", 5}
	ruleClient          = throttleRule{"ip:", 30}
	ruleAccount         = throttleRule{"user:", 10}
	ruleDevice          = throttleRule{"device:", 5}
)

// LoginLimits are the budgets of attempts per 15 minutes, for
// documentation and tests: account at one address, one address, one
// account from anywhere (untrusted browsers), one trusted device.
func LoginLimits() (accountAtClient, client, account, device int) {
	return ruleAccountAtClient.limit, ruleClient.limit, ruleAccount.limit, ruleDevice.limit
}

// TrustedDeviceLifetime is how long a browser stays trusted after a
// successful login in it.
const TrustedDeviceLifetime = 90 * 24 * time.Hour

// LoginThrottle is the record of login attempts for one key.
type LoginThrottle struct {
	Failures    int       // attempts in the current window not given back
	WindowStart time.Time // first attempt of the window
	Lockouts    int       // lockouts in a row
	LockedUntil time.Time
	Last        time.Time // latest attempt
}

// attempt records one attempt at now against a budget of limit.
func (e *LoginThrottle) attempt(now time.Time, limit int) {
	if now.Sub(e.Last) > throttleForget {
		e.Lockouts = 0
	}
	e.Last = now
	if e.Failures == 0 || now.Sub(e.WindowStart) > throttleWindow {
		e.Failures, e.WindowStart = 0, now
	}
	e.Failures++
	if e.Failures >= limit {
		lock := throttleLockout << min(e.Lockouts, 10)
		e.LockedUntil = now.Add(min(lock, throttleMaxLockout))
		e.Lockouts++
		e.Failures = 0
	}
}

// throttleKey is one key of an attempt.
type throttleKey struct {
	name  string
	limit int
}

func (r throttleRule) key(parts ...string) throttleKey {
	return throttleKey{name: r.prefix + strings.Join(parts, "|"), limit: r.limit}
}

// LoginAttempt is one try to log in.
type LoginAttempt struct {
	Username string
	Password string
	// Client is the client's address as a throttle key: an IP address, or
	// an IPv6 /64 prefix.
	Client string
	// DeviceToken is the browser's trust cookie, if any.
	DeviceToken string
	// OldSession is the session token the browser had, ended at login.
	OldSession string
}

// LoginResult is a successful login.
type LoginResult struct {
	Agent   Agent
	Session string // the new session's token, for the cookie
	// DeviceToken is the trust cookie to set: the browser's own when it
	// was trusted already, else a new one.
	DeviceToken string
}

// LoginThrottled logs an agent in under the throttle. It returns a
// ThrottledError (ErrThrottled) without checking the password when a key's
// budget is spent, ErrBadCredentials for a wrong user name or password, and
// an ErrInvalid for a user name or password too long to be one.
func (s *Service) LoginThrottled(ctx context.Context, at LoginAttempt) (LoginResult, error) {
	username := strings.ToLower(strings.TrimSpace(at.Username))
	if err := CheckLoginInput(username, at.Password); err != nil {
		return LoginResult{}, err
	}
	device := ""
	if at.DeviceToken != "" && len(at.DeviceToken) <= 100 {
		ok, err := s.trusted(ctx, at.DeviceToken, username)
		if err != nil {
			return LoginResult{}, err
		}
		if ok {
			device = at.DeviceToken
		}
	}
	untrusted := []throttleKey{
		ruleAccountAtClient.key(username, at.Client),
		ruleClient.key(at.Client),
		ruleAccount.key(username),
	}
	keys := untrusted
	if device != "" {
		keys = []throttleKey{ruleDevice.key(hashToken(device))}
	}
	wait, err := s.reserveLogin(ctx, keys)
	if err == nil && wait > 0 && device != "" {
		// The device spent its own budget: an untrusted browser now.
		device, keys = "", untrusted
		wait, err = s.reserveLogin(ctx, keys)
	}
	if err != nil {
		return LoginResult{}, err
	}
	if wait > 0 {
		return LoginResult{}, &ThrottledError{Wait: wait}
	}
	token, a, err := s.Login(ctx, username, at.Password, at.OldSession)
	if err != nil {
		return LoginResult{}, err
	}
	res := LoginResult{Agent: a, Session: token, DeviceToken: device}
	if err := s.loginSucceeded(ctx, keys, &res); err != nil {
		return LoginResult{}, err
	}
	return res, nil
}

// CheckLoginInput refuses a user name or password that cannot be one,
// before it reaches the store or a log.
func CheckLoginInput(username, password string) error {
	if len(username) > MaxUsernameLength {
		return Invalid(fmt.Sprintf("User name: at most %d characters", MaxUsernameLength))
	}
	if len(password) > MaxPasswordLength {
		return Invalid(fmt.Sprintf("Password: at most %d bytes", MaxPasswordLength))
	}
	return nil
}

// trusted reports whether token is a valid trust cookie of username.
func (s *Service) trusted(ctx context.Context, token, username string) (bool, error) {
	var d TrustedDevice
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		d, err = tx.TrustedDevice(ctx, hashToken(token))
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("trusted device: %w", err)
	}
	return d.Username == username && s.now().Before(d.ExpiresAt), nil
}

// reserveLogin takes one attempt from the budget of every key, in one
// transaction, unless one of them is locked: then it takes none and
// returns how long the longest lockout still runs.
func (s *Service) reserveLogin(ctx context.Context, keys []throttleKey) (time.Duration, error) {
	// One order for everybody, so that two transactions locking the same
	// keys never wait for each other in a circle.
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b throttleKey) int { return strings.Compare(a.name, b.name) })
	now := s.now()
	var wait time.Duration
	err := s.store.Update(ctx, func(tx Tx) error {
		wait = 0
		es := make([]LoginThrottle, len(keys))
		for i, k := range keys {
			e, err := tx.LockLoginThrottle(ctx, k.name, now)
			if err != nil {
				return err
			}
			es[i] = e
			wait = max(wait, e.LockedUntil.Sub(now))
		}
		if wait > 0 {
			return nil
		}
		for i, k := range keys {
			es[i].attempt(now, k.limit)
			if err := tx.PutLoginThrottle(ctx, k.name, es[i]); err != nil {
				return err
			}
		}
		return tx.DeleteIdleLoginThrottles(ctx, now.Add(-throttleForget), now)
	})
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	return wait, nil
}

// loginSucceeded clears the account's keys, gives the client address its
// place back, and trusts the browser (a new device token unless it had
// one).
func (s *Service) loginSucceeded(ctx context.Context, keys []throttleKey, res *LoginResult) error {
	now := s.now()
	newToken := ""
	if res.DeviceToken == "" {
		b := make([]byte, 32)
		rand.Read(b)
		newToken = base64.RawURLEncoding.EncodeToString(b)
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		for _, k := range keys {
			if !strings.HasPrefix(k.name, ruleClient.prefix) {
				if err := tx.DeleteLoginThrottle(ctx, k.name); err != nil {
					return err
				}
				continue
			}
			e, err := tx.LockLoginThrottle(ctx, k.name, now)
			if err != nil {
				return err
			}
			if e.Failures > 0 {
				e.Failures--
				if err := tx.PutLoginThrottle(ctx, k.name, e); err != nil {
					return err
				}
			}
		}
		if newToken == "" {
			return nil
		}
		if err := tx.DeleteExpiredTrustedDevices(ctx, now); err != nil {
			return err
		}
		return tx.CreateTrustedDevice(ctx, TrustedDevice{TokenHash: hashToken(newToken), Username: res.Agent.Username,
			CreatedAt: now, ExpiresAt: now.Add(TrustedDeviceLifetime)})
	})
	if err != nil {
		return fmt.Errorf("record login of %s: %w", res.Agent.Username, err)
	}
	if newToken != "" {
		res.DeviceToken = newToken
	}
	return nil
}
