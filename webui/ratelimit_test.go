package webui

import (
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
		err  bool
	}{
		{"20/1h", Rate{20, time.Hour}, false},
		{" 600/1m ", Rate{600, time.Minute}, false},
		{"0", Rate{}, false},
		{"20", Rate{}, true},
		{"0/1h", Rate{}, true},
		{"-1/1h", Rate{}, true},
		{"20/0s", Rate{}, true},
		{"x/1h", Rate{}, true},
		{"20/hour", Rate{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(Rate{3, 3 * time.Minute}, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != time.Minute {
		t.Fatalf("fourth request: %v, wait %v; want refused for 1m", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another address refused")
	}
	now = now.Add(30 * time.Second)
	if ok, wait := l.allow("a"); ok || wait != 30*time.Second {
		t.Fatalf("after 30 s: %v, wait %v; want refused for 30s", ok, wait)
	}
	now = now.Add(30 * time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("after a minute: refused, want one more")
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("a second one after a minute was allowed")
	}
}

func TestLimiterMemoryBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(Rate{1, time.Hour}, func() time.Time { return now })
	for i := range maxBuckets + 10 {
		l.allow(string(rune(i)) + "x")
	}
	if n := len(l.buckets); n > maxBuckets {
		t.Errorf("%d buckets, want at most %d", n, maxBuckets)
	}
}

func TestRetryText(t *testing.T) {
	for wait, want := range map[time.Duration]string{
		time.Millisecond: "1 second", 30 * time.Second: "30 seconds", 61 * time.Second: "2 minutes", time.Minute: "1 minute",
	} {
		if got := retryText(wait); got != want {
			t.Errorf("retryText(%v) = %q, want %q", wait, got, want)
		}
	}
}
