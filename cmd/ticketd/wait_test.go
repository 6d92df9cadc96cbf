package main

import (
	"testing"
	"time"
)

// waitUntil checks cond every 20 ms until it holds and returns how long
// that took. After d it fails the test, saying what it waited for and what
// each info returns then (the daemons' /healthz, say).
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool, info ...func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			more := ""
			for _, f := range info {
				more += "\n" + f()
			}
			t.Fatalf("timed out after %s waiting for %s%s", d, what, more)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}
