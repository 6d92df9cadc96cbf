//go:build unix

package relaytest

import (
	"errors"
	"os"
	"syscall"
)

// newProcessGroup puts the relay in a process group of its own, so that
// stopping it reaches anything it started.
func newProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// terminate asks the relay's process group to exit.
func terminate(p *os.Process) { signalGroup(p, syscall.SIGTERM) }

// kill ends the relay's process group.
func kill(p *os.Process) { signalGroup(p, syscall.SIGKILL) }

func signalGroup(p *os.Process, sig syscall.Signal) {
	// The group id is the relay's pid (Setpgid). ESRCH: already gone.
	if err := syscall.Kill(-p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		p.Signal(sig)
	}
}
