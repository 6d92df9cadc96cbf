package webui

import (
	"testing"
	"time"
)

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
