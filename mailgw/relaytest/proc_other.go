//go:build !unix

package relaytest

import (
	"os"
	"syscall"
)

// newProcessGroup has nothing to set outside Unix.
func newProcessGroup() *syscall.SysProcAttr { return nil }

// terminate ends the relay; without process groups it cannot ask nicely.
func terminate(p *os.Process) { p.Kill() }

// kill ends the relay.
func kill(p *os.Process) { p.Kill() }
