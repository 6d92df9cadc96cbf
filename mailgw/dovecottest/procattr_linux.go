package dovecottest

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procAttr puts Dovecot in a process group of its own, so that stopping it
// ends every process it started, and makes the kernel stop it when the test
// process dies without running its cleanups (a -timeout panic, a kill).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// signalAll sends sig to the master process and everything it started.
func signalAll(p *os.Process, sig syscall.Signal) {
	syscall.Kill(-p.Pid, sig)
}

// groupAlive reports whether a process of the master's group still runs.
// Zombies do not count: the reaper of orphans (PID 1) may take seconds to
// collect them.
func groupAlive(p *os.Process) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return !errors.Is(syscall.Kill(-p.Pid, 0), syscall.ESRCH)
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(p.Pid) {
			return true
		}
	}
	return false
}
