package pgtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartPrivate starts a server of t's own, with more server settings
// ("max_connections=20"), and stops it when t ends. Fault tests use it to
// stop, pause or starve a server without disturbing the tests that share
// the cluster of Start. It skips (fails with CI=true) like Start when
// PostgreSQL is not installed.
func StartPrivate(t testing.TB, settings ...string) *Cluster {
	t.Helper()
	initdb, postgres, err := findPrograms()
	if errors.Is(err, errNotInstalled) {
		missing(t)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c := &Cluster{prefix: "ticketd_private", settings: settings, postgresPath: postgres}
	if err := c.startPrivate(initdb, postgres); err != nil {
		c.stop()
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		c.Resume(t) // a stopped server cannot shut down
		if err := c.stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// missing skips t, or fails it when CI is "true".
func missing(t testing.TB) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(notInstalled)
	}
	t.Skip(notInstalled)
}

// signal sends sig to the private server's processes: the postmaster and
// its children (which each start a session of their own, so the process
// group does not reach them). Nothing else gets it. On SIGCONT the
// children continue before the postmaster, on any other signal after it.
func (c *Cluster) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if c.cmd == nil {
		t.Fatal("pgtest: signals go only to a server started by StartPrivate")
	}
	pid := c.cmd.Process.Pid
	if sig != syscall.SIGCONT {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("pgtest: signal %v to the server: %v", sig, err)
		}
	}
	for _, child := range children(pid) {
		syscall.Kill(child, sig) // may have exited meanwhile
	}
	if sig == syscall.SIGCONT {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("pgtest: signal %v to the server: %v", sig, err)
		}
	}
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if child, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			out = append(out, child)
		}
	}
	return out
}

// Pause stops every process of the server (SIGSTOP): connections are
// accepted by the kernel but nothing answers, as with a hung server.
func (c *Cluster) Pause(t testing.TB) { c.signal(t, syscall.SIGSTOP) }

// Resume continues the processes that Pause stopped (SIGCONT).
func (c *Cluster) Resume(t testing.TB) {
	if c.cmd != nil {
		c.signal(t, syscall.SIGCONT)
	}
}

// Down shuts the server down (fast shutdown: clients are disconnected, new
// connections refused) and waits until it has exited.
func (c *Cluster) Down(t testing.TB) {
	t.Helper()
	if c.cmd == nil {
		t.Fatal("pgtest: Down works only on a server started by StartPrivate")
	}
	c.admin.Close()
	c.admin = nil
	c.signal(t, syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		t.Fatal("pgtest: the server did not shut down")
	}
	c.cmd = nil
}

// Up starts the server again after Down, on the same port and data.
func (c *Cluster) Up(t testing.TB) {
	t.Helper()
	cred, err := serverUser()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.startServer(ctx, c.postgresPath, filepath.Join(c.dir, "data"), cred); err != nil {
		t.Fatalf("pgtest: start again: %v", err)
	}
}

// Log is the end of the server's log, for failure messages.
func (c *Cluster) Log() string { return tail(filepath.Join(c.dir, "postgres.log")) }
