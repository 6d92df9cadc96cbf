package core

import (
	"testing"
	"time"
)

func TestNormalizeAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"Alice+Promo@Example.COM", "alice@example.com"},
		{" alice+a+b@example.com ", "alice@example.com"},
		{"+x@example.com", "@example.com"},
		{"bob", "bob"},
	}
	for _, tt := range tests {
		if got := NormalizeAddress(tt.in); got != tt.want {
			t.Errorf("NormalizeAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSingleAddress(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"alice@example.com", true},
		{"Alice+x@example.com", true},
		{"alice@Example.com", false}, // not as ParseAddress returns it
		{"a@evil.test,b@evil.test", false},
		{`x"y,z@evil.test>@evil.test`, false},
		{"a@evil.test b@evil.test", false},
		{"Alice <alice@example.com>", false},
		{"", false},
		{"alice@example.com\r\nBcc: x@evil.test", false},
	}
	for _, tt := range tests {
		if got := SingleAddress(tt.in); got != tt.want {
			t.Errorf("SingleAddress(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestThrottleAttempt: the budget of a key within its window, the lockout
// that doubles with every lockout in a row up to a day, and a quiet day
// that forgets them.
func TestThrottleAttempt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at       time.Duration // since t0
		n        int           // attempts
		wantLock time.Duration // lockout left after them, at that time
	}
	tests := []struct {
		name  string
		limit int
		steps []step
	}{
		{"within the budget", 5, []step{{0, 4, 0}}},
		{"the budget's last attempt locks", 5, []step{{0, 5, 15 * time.Minute}}},
		{"attempts outside the window do not add up", 5, []step{{0, 4, 0}, {16 * time.Minute, 4, 0}}},
		{"the second lockout is twice as long", 5, []step{{0, 5, 15 * time.Minute}, {16 * time.Minute, 5, 30 * time.Minute}}},
		{"a quiet day forgets lockouts", 5, []step{{0, 5, 15 * time.Minute}, {25 * time.Hour, 5, 15 * time.Minute}}},
		{"a larger budget", 30, []step{{0, 29, 0}, {time.Minute, 1, 15 * time.Minute}}},
		{"the lockout is capped at a day", 1, []step{{0, 1, 15 * time.Minute}, {16 * time.Minute, 1, 30 * time.Minute},
			{47 * time.Minute, 1, time.Hour}, {108 * time.Minute, 1, 2 * time.Hour}, {229 * time.Minute, 1, 4 * time.Hour},
			{470 * time.Minute, 1, 8 * time.Hour}, {951 * time.Minute, 1, 16 * time.Hour}, {1912 * time.Minute, 1, 24 * time.Hour}}},
	}
	for _, tt := range tests {
		var e LoginThrottle
		for i, s := range tt.steps {
			now := t0.Add(s.at)
			for range s.n {
				e.attempt(now, tt.limit)
			}
			if got := max(0, e.LockedUntil.Sub(now)); got != s.wantLock {
				t.Errorf("%s, step %d: locked for %v, want %v", tt.name, i, got, s.wantLock)
			}
		}
	}
}
