package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestEveryReaderPreparesAtOnce: as many read transactions as the pool has
// connections, each holding one, all use a query never prepared before at
// the same moment (40 logins at once on a newly opened store). Each must
// answer; before, each waited for a free connection to prepare the query
// on the pool, and none ever came.
func TestEveryReaderPreparesAtOnce(t *testing.T) {
	st := openTemp(t).(*Store)
	n := st.reader.Stats().MaxOpenConnections
	var open sync.WaitGroup
	open.Add(n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- st.View(context.Background(), func(tx core.Tx) error {
				open.Done()
				open.Wait() // every connection is held by a transaction now
				var got int
				err := tx.(*sqliteTx).queryRow(context.Background(), "add", []any{&got}, `SELECT 40 + ?`, i)
				if err == nil && got != 40+i {
					err = fmt.Errorf("40 + %d = %d", i, got)
				}
				return err
			})
		}()
	}
	deadline := time.After(time.Minute) // a hang, not a speed limit
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-deadline:
			t.Fatalf("%d read transactions that each prepare a new query at once: still waiting after a minute", n)
		}
	}
}
