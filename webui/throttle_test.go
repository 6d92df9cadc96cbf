package webui

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	const (
		user  = "user:alice"
		other = "user:bob"
		ip    = "ip:192.0.2.1"
	)
	type step struct {
		advance  time.Duration // before the step
		fail     int           // failures to record for user and ip
		succeed  bool          // a successful login of user
		key      string        // key to ask about
		wantWait time.Duration // expected wait; -1: any positive value
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"four failures are allowed", []step{
			{fail: 4, key: user, wantWait: 0},
			{key: ip, wantWait: 0},
		}},
		{"fifth failure locks account and address", []step{
			{fail: 5, key: user, wantWait: 15 * time.Minute},
			{key: ip, wantWait: 15 * time.Minute},
			{key: other, wantWait: 0},
		}},
		{"lockout runs out", []step{
			{fail: 5, key: user, wantWait: 15 * time.Minute},
			{advance: 10 * time.Minute, key: user, wantWait: 5 * time.Minute},
			{advance: 5 * time.Minute, key: user, wantWait: 0},
		}},
		{"second lockout is twice as long", []step{
			{fail: 5},
			{advance: 16 * time.Minute, fail: 5, key: user, wantWait: 30 * time.Minute},
		}},
		{"third lockout four times", []step{
			{fail: 5},
			{advance: 16 * time.Minute, fail: 5},
			{advance: 31 * time.Minute, fail: 5, key: user, wantWait: 60 * time.Minute},
		}},
		{"failures outside the window do not add up", []step{
			{fail: 4},
			{advance: 16 * time.Minute, fail: 4, key: user, wantWait: 0},
		}},
		{"success clears the account, not the address", []step{
			{fail: 4},
			{succeed: true, fail: 1, key: user, wantWait: 0},
			{key: ip, wantWait: 15 * time.Minute},
		}},
		{"lockouts are forgotten after a quiet day", []step{
			{fail: 5},
			{advance: 25 * time.Hour, fail: 5, key: user, wantWait: 15 * time.Minute},
		}},
		{"lockout is capped", []step{
			{fail: 5}, {advance: 16 * time.Minute, fail: 5}, {advance: 31 * time.Minute, fail: 5},
			{advance: 61 * time.Minute, fail: 5}, {advance: 121 * time.Minute, fail: 5},
			{advance: 241 * time.Minute, fail: 5}, {advance: 481 * time.Minute, fail: 5},
			{advance: 961 * time.Minute, fail: 5, key: user, wantWait: 24 * time.Hour},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			th := newThrottle(func() time.Time { return now })
			for i, s := range tt.steps {
				now = now.Add(s.advance)
				if s.succeed {
					th.succeed(user)
				}
				for range s.fail {
					th.fail(user, ip)
				}
				if s.key == "" {
					continue
				}
				if got := th.wait(s.key); got != s.wantWait {
					t.Errorf("step %d: wait(%s) = %v, want %v", i, s.key, got, s.wantWait)
				}
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.7:51234", "ip:192.0.2.7"},
		{"[::ffff:192.0.2.7]:443", "ip:192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "ip:2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "ip:2001:db8:1:2::/64"},
		{"pipe", "ip:pipe"},
	}
	for _, tt := range tests {
		if got := clientKey(tt.remote); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}

func TestTooManyLogins(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want string
	}{
		{15 * time.Minute, "Too many failed logins; try again in 15 minutes."},
		{14*time.Minute + time.Second, "Too many failed logins; try again in 15 minutes."},
		{30 * time.Second, "Too many failed logins; try again in 1 minute."},
	}
	for _, tt := range tests {
		if got := tooManyLogins(tt.wait); got != tt.want {
			t.Errorf("tooManyLogins(%v) = %q, want %q", tt.wait, got, tt.want)
		}
	}
}
