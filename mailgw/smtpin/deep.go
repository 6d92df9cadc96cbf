package smtpin

import (
	"runtime"
	"sync"
)

// Encoding a message for the queue (DEFLATE's Huffman coding in
// particular) needs a deeper stack than a session's goroutine starts with.
// go-smtp starts a goroutine for each connection, and smtp-source and
// many real senders send one message per connection, so that stack was
// grown, which copies it, for nearly every message: 3 % of the gateway's
// CPU time under smtp-source at 10 sessions. deepRun hands such work to
// one of a few long-lived goroutines whose stacks have grown already, and
// waits for it; when all of them are busy the caller does the work
// itself, so that a large message never makes a small one wait.

var (
	deepOnce sync.Once
	deepJobs chan func()
)

// deepRun runs fn on a long-lived goroutine, or on the caller's when none
// is free, and returns when fn has returned. A panic in fn is raised again
// on the caller's goroutine, where go-smtp turns it into a 421 for that
// session instead of the whole daemon ending.
func deepRun(fn func()) {
	deepOnce.Do(func() {
		deepJobs = make(chan func())
		for range runtime.GOMAXPROCS(0) {
			go func() {
				for job := range deepJobs {
					job()
				}
			}()
		}
	})
	done := make(chan struct{})
	var panicked any
	job := func() {
		defer func() {
			panicked = recover()
			close(done)
		}()
		fn()
	}
	select {
	case deepJobs <- job:
		<-done
		if panicked != nil {
			panic(panicked)
		}
	default:
		fn()
	}
}
