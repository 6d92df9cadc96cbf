package webui

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Login throttling: after throttleFailures failed logins within
// throttleWindow for one account or from one client address, further
// attempts for that key are refused for a lockout that doubles with every
// lockout in a row (throttleLockout, 2×, 4× … up to throttleMaxLockout).
// State is in memory: several daemons throttle separately, a restart
// forgets.
const (
	throttleFailures   = 5
	throttleWindow     = 15 * time.Minute
	throttleLockout    = 15 * time.Minute
	throttleMaxLockout = 24 * time.Hour
	// throttleForget drops what is known of a key after this long without
	// failures (and no lockout running).
	throttleForget = 24 * time.Hour
	// throttleMaxKeys bounds memory; above it, idle keys are swept.
	throttleMaxKeys = 100_000
)

type throttleEntry struct {
	failures    int       // failures in the current window
	windowStart time.Time // first failure of the window
	lockouts    int       // lockouts in a row
	lockedUntil time.Time
	last        time.Time // latest failure
}

// throttle counts failed logins per key ("user:…", "ip:…"). It is safe
// for concurrent use.
type throttle struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]*throttleEntry
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, entries: make(map[string]*throttleEntry)}
}

// wait returns how long the longest lockout among keys still runs; 0 when
// an attempt is allowed.
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range keys {
		if e := t.entries[k]; e != nil {
			longest = max(longest, e.lockedUntil.Sub(now))
		}
	}
	return longest
}

// fail records a failed login for every key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) >= throttleMaxKeys {
		t.sweep(now)
	}
	for _, k := range keys {
		e := t.entries[k]
		if e == nil {
			if len(t.entries) >= throttleMaxKeys {
				continue // full of running lockouts; the other key still counts
			}
			e = &throttleEntry{}
			t.entries[k] = e
		}
		if now.Sub(e.last) > throttleForget {
			e.lockouts = 0
		}
		e.last = now
		if e.failures == 0 || now.Sub(e.windowStart) > throttleWindow {
			e.failures, e.windowStart = 0, now
		}
		e.failures++
		if e.failures >= throttleFailures {
			lock := throttleLockout << min(e.lockouts, 10)
			e.lockedUntil = now.Add(min(lock, throttleMaxLockout))
			e.lockouts++
			e.failures = 0
		}
	}
}

// succeed forgets the failures of keys after a successful login.
func (t *throttle) succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.entries, k)
	}
}

// sweep drops keys that are neither locked nor failed recently.
func (t *throttle) sweep(now time.Time) {
	for k, e := range t.entries {
		if now.After(e.lockedUntil) && now.Sub(e.last) > throttleWindow {
			delete(t.entries, k)
		}
	}
}

// accountKey is the throttle key of a username.
func accountKey(username string) string {
	return "user:" + strings.ToLower(strings.TrimSpace(username))
}

// clientKey is the throttle key of the client address r.RemoteAddr (a
// proxy's X-Forwarded-For is not trusted). IPv6 clients are grouped by /64,
// the block one subscriber usually gets.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "ip:" + host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return "ip:" + p.String()
		}
	}
	return "ip:" + ip.String()
}
