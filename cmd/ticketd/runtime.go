package main

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

// RuntimeConfig tunes the Go garbage collector of serve. The daemon's live
// heap is small while mail comes in (a few MiB), so Go's default (collect
// whenever the heap doubled) collects every few dozen messages of an SMTP
// burst; a higher GCPercent collects a fifth as often, and MemoryLimit
// keeps the large messages, which live heaps of tens of MiB, from growing
// the heap by the same factor: near the limit the collector runs as often
// as it must. README.md's "Limits" section documents both.
type RuntimeConfig struct {
	// GCPercent is Go's GOGC: how many percent the heap may grow over
	// what is live before the next collection. -1: never by growth.
	GCPercent int
	// MemoryLimit is Go's soft memory limit (GOMEMLIMIT) in bytes; 0:
	// derived from the message limits (memoryLimit), -1: none.
	MemoryLimit int64
	// envGOGC and envGOMEMLIMIT record that the environment set Go's own
	// variables, which the runtime read at start and which win.
	envGOGC, envGOMEMLIMIT bool
}

func init() {
	settings = append(settings, runtimeSettings...)
}

// runtimeSettings are the settings of RuntimeConfig.
var runtimeSettings = []setting{
	{name: "gc-percent", def: "400", help: "garbage collector target (Go's GOGC): the heap may grow this many percent over what is live before a collection; off: only at memory-limit. GOGC in the environment wins",
		set: func(c *Config, v string) error {
			if v == "off" {
				c.Runtime.GCPercent = -1
				return nil
			}
			n, err := positiveInt(v, 10)
			c.Runtime.GCPercent = n
			return err
		}},
	{name: "memory-limit", help: "soft limit of the Go runtime's memory (Go's GOMEMLIMIT), such as 512MiB, past which it collects as often as it must; off: none; default 64 MiB + 4 × max-message-size × max-large-messages. GOMEMLIMIT in the environment wins",
		set: func(c *Config, v string) (err error) { c.Runtime.MemoryLimit, err = parseBytes(v); return }},
}

// parseBytes reads a size in bytes with an optional unit B, KiB, MiB or
// GiB; "off" is -1 and "" is 0 (the default).
func parseBytes(v string) (int64, error) {
	switch v {
	case "off":
		return -1, nil
	case "":
		return 0, nil
	}
	num, mult := strings.TrimSpace(v), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 512MiB, or off", v)
	}
	return n * mult, nil
}

// fromEnv notes which of Go's own variables the environment sets.
func (r *RuntimeConfig) fromEnv(env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case v == "":
		case k == "GOGC":
			r.envGOGC = true
		case k == "GOMEMLIMIT":
			r.envGOMEMLIMIT = true
		}
	}
}

// memoryLimit is the configured memory limit, or the one derived from
// the message limits: 64 MiB for the sessions, the database and the
// runtime, and four times the largest message for each that may be
// stored at once (a large message costs about four times its size while
// it is parsed, encoded and stored); -1 for none.
func (c *Config) memoryLimit() int64 {
	if c.Runtime.MemoryLimit != 0 {
		return c.Runtime.MemoryLimit
	}
	return 64<<20 + 4*c.MaxMessageSize*int64(max(c.Limits.MaxLargeMessages, 1))
}

// applyRuntime sets the garbage collector for serve, leaving what GOGC or
// GOMEMLIMIT in the environment set.
func (c *Config) applyRuntime() {
	if !c.Runtime.envGOGC {
		debug.SetGCPercent(c.Runtime.GCPercent)
	}
	if l := c.memoryLimit(); !c.Runtime.envGOMEMLIMIT && l > 0 {
		debug.SetMemoryLimit(l)
	}
}
