package storetest

import (
	"context"
	"time"

	"trivialtickets/core"
)

// HoldWriter runs a write transaction on st that does nothing for d, as
// a slow writer would, so that a test can see what others do meanwhile
// (on SQLite, wait for the one writer). It returns once the transaction
// is running; released is closed when it has ended.
func HoldWriter(st core.Store, d time.Duration) (released <-chan struct{}) {
	holding, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		st.Update(context.Background(), func(core.Tx) error {
			close(holding)
			time.Sleep(d)
			return nil
		})
	}()
	<-holding
	return done
}
