//go:build !linux

package dovecottest

import (
	"os"
	"syscall"
)

// procAttr has nothing to add outside Linux.
func procAttr() *syscall.SysProcAttr { return nil }

// signalAll sends sig to the master process.
func signalAll(p *os.Process, sig syscall.Signal) { p.Signal(sig) }

// groupAlive cannot tell outside Linux.
func groupAlive(*os.Process) bool { return false }
