package smtpin

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDeepRunWaitsAndNeverQueues: deepRun returns only after its work is
// done, and when every long-lived goroutine is busy (here, blocked) the
// caller does the work itself instead of waiting for one.
func TestDeepRunWaitsAndNeverQueues(t *testing.T) {
	n := runtime.GOMAXPROCS(0)
	block := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	var busy sync.WaitGroup
	for range n {
		busy.Add(1)
		go func() {
			defer busy.Done()
			deepRun(func() { started.Done(); <-block })
		}()
	}
	started.Wait() // every worker (or a caller, if a worker was not ready) is blocked
	var ran atomic.Int64
	var all sync.WaitGroup
	for range 4 * n {
		all.Add(1)
		go func() {
			defer all.Done()
			deepRun(func() { ran.Add(1) })
		}()
	}
	finished := make(chan struct{})
	go func() { all.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		close(block)
		t.Fatalf("with every worker busy, %d of %d jobs ran in 10 s: deepRun waits for a worker", ran.Load(), 4*n)
	}
	close(block)
	busy.Wait()
	var after int
	deepRun(func() { after = 1 })
	if after != 1 {
		t.Error("deepRun returned before its work was done")
	}
}

// TestDeepRunPanicsOnCaller: a panic in the work reaches the caller (go-smtp
// recovers it there and answers 421), and the long-lived goroutines live on.
func TestDeepRunPanicsOnCaller(t *testing.T) {
	for range 2 * runtime.GOMAXPROCS(0) {
		func() {
			defer func() {
				if p := recover(); p != "encode failed" {
					t.Errorf("recovered %v, want the work's panic", p)
				}
			}()
			deepRun(func() { panic("encode failed") })
		}()
	}
	ran := false
	deepRun(func() { ran = true })
	if !ran {
		t.Error("deepRun did not run its work after panics")
	}
}
