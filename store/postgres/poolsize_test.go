package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
)

// Without pool_max_conns, DefaultPoolSize transactions run at once: each
// waits inside its transaction until all are inside, which pgx's default
// of max(4, CPUs) connections would never let happen on a small machine.
func TestDefaultPoolRunsManyTransactionsAtOnce(t *testing.T) {
	st := openURL(t, newDatabase(t))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var inside sync.WaitGroup
	inside.Add(DefaultPoolSize)
	all := make(chan struct{})
	go func() { inside.Wait(); close(all) }()
	errs := make(chan error, DefaultPoolSize)
	for range DefaultPoolSize {
		go func() {
			errs <- st.View(ctx, func(tx core.Tx) error {
				if _, err := tx.CountTickets(ctx, core.TicketQuery{}); err != nil {
					return err
				}
				inside.Done()
				select {
				case <-all:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		}()
	}
	for range DefaultPoolSize {
		if err := <-errs; err != nil {
			t.Fatalf("%d transactions at once with the default pool: %v", DefaultPoolSize, err)
		}
	}
}

// A pool_max_conns in the URL wins over DefaultPoolSize.
func TestPoolSizeFromURL(t *testing.T) {
	st := openURL(t, newDatabase(t)+"&pool_max_conns=3")
	if got := st.pool.Stat().MaxConns(); got != 3 {
		t.Errorf("pool of %d connections with pool_max_conns=3", got)
	}
}

func TestSetsPoolSize(t *testing.T) {
	for _, c := range []struct {
		conn string
		want bool
	}{
		{"postgres://u@127.0.0.1:5432/db", false},
		{"postgres://u@127.0.0.1:5432/db?sslmode=disable&pool_max_conns=8", true},
		{"postgresql://u@h/db?pool_max_conns=2", true},
		{"postgres://u@h/db?application_name=pool_max_conns", false},
		{"host=127.0.0.1 dbname=db pool_max_conns=5", true},
		{"host=127.0.0.1 dbname=db", false},
	} {
		if got := setsPoolSize(c.conn); got != c.want {
			t.Errorf("setsPoolSize(%q) = %v, want %v", c.conn, got, c.want)
		}
	}
}
