package main

import (
	"io"
	"runtime/debug"
	"testing"
)

// TestRuntimeSettings: the collector settings parse, the memory limit
// follows the message limits unless given, and Go's own variables in the
// environment win over both.
func TestRuntimeSettings(t *testing.T) {
	c, _, err := loadConfig(nil, nil, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Runtime.GCPercent != 400 {
		t.Errorf("default gc-percent %d, want 400", c.Runtime.GCPercent)
	}
	if got, want := c.memoryLimit(), int64(64<<20+4*26214400); got != want {
		t.Errorf("default memory limit %d, want %d (64 MiB + 4 x max-message-size)", got, want)
	}
	c, _, err = loadConfig([]string{"--gc-percent", "off", "--max-large-messages", "2", "--max-message-size", "1048576"},
		[]string{"TICKETD_MEMORY_LIMIT="}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Runtime.GCPercent != -1 || c.memoryLimit() != 64<<20+8<<20 {
		t.Errorf("gc-percent off, 2 large messages of 1 MiB: GCPercent %d, memory limit %d", c.Runtime.GCPercent, c.memoryLimit())
	}
	for v, want := range map[string]int64{"512MiB": 512 << 20, "1 GiB": 1 << 30, "300000000": 300000000, "64KiB": 64 << 10, "off": -1} {
		c, _, err := loadConfig([]string{"--memory-limit", v}, nil, io.Discard, nil)
		if err != nil || c.memoryLimit() != want {
			t.Errorf("memory-limit %q: %d, %v; want %d", v, c.memoryLimit(), err, want)
		}
	}
	for _, v := range []string{"0", "-5MiB", "12MB", "lots"} {
		if _, _, err := loadConfig([]string{"--memory-limit", v}, nil, io.Discard, nil); err == nil {
			t.Errorf("memory-limit %q accepted", v)
		}
	}
	if _, _, err := loadConfig([]string{"--gc-percent", "5"}, nil, io.Discard, nil); err == nil {
		t.Error("gc-percent 5 accepted")
	}

	c, _, err = loadConfig([]string{"--gc-percent", "250"}, []string{"GOGC=50", "GOMEMLIMIT=1GiB"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	prevGC := debug.SetGCPercent(77)
	prevLimit := debug.SetMemoryLimit(123 << 20)
	defer func() { debug.SetGCPercent(prevGC); debug.SetMemoryLimit(prevLimit) }()
	c.applyRuntime()
	if gc, limit := debug.SetGCPercent(77), debug.SetMemoryLimit(-1); gc != 77 || limit != 123<<20 {
		t.Errorf("with GOGC and GOMEMLIMIT set the daemon changed them to %d and %d", gc, limit)
	}
	c.Runtime.envGOGC, c.Runtime.envGOMEMLIMIT = false, false
	c.applyRuntime()
	if gc, limit := debug.SetGCPercent(77), debug.SetMemoryLimit(-1); gc != 250 || limit != c.memoryLimit() {
		t.Errorf("applied GC percent %d and limit %d, want 250 and %d", gc, limit, c.memoryLimit())
	}
}
