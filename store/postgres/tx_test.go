package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"trivialtickets/core"
)

// forceSerializationFailure fails the current statement as PostgreSQL does
// when it aborts a transaction to keep transactions serializable.
const forceSerializationFailure = `DO $$ BEGIN
	RAISE EXCEPTION 'forced by the test' USING ERRCODE = 'serialization_failure';
END $$`

func agentExists(t *testing.T, st core.Store, username string) bool {
	t.Helper()
	err := st.View(t.Context(), func(tx core.Tx) error {
		_, err := tx.Agent(t.Context(), username)
		return err
	})
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestRetryOnSerializationFailure(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()

	// A function that fails once with a serialization failure is run
	// again, even when it ignored the error; the second run commits.
	calls := 0
	err := st.Update(ctx, func(c core.Tx) error {
		calls++
		if calls == 1 {
			c.(*tx).exec(ctx, "force", forceSerializationFailure)
			c.CreateAgent(ctx, core.Agent{Username: "lost", CreatedAt: time.Now()})
			return nil
		}
		return c.CreateAgent(ctx, core.Agent{Username: "bob", CreatedAt: time.Now()})
	})
	if err != nil || calls != 2 {
		t.Fatalf("Update = %v after %d calls, want success after 2", err, calls)
	}
	if !agentExists(t, st, "bob") || agentExists(t, st, "lost") {
		t.Errorf("the retried transaction committed the wrong run")
	}

	// One that always fails is given up after maxAttempts runs, with the
	// database's error.
	calls = 0
	start := time.Now()
	err = st.Update(ctx, func(c core.Tx) error {
		calls++
		_, err := c.(*tx).exec(ctx, "force", forceSerializationFailure)
		return err
	})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != codeSerializationFailure || calls != maxAttempts {
		t.Errorf("Update = %v after %d calls; want the serialization failure after %d", err, calls, maxAttempts)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("giving up took %v", d)
	}

	// A cancelled context ends the retries.
	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	err = st.Update(cctx, func(c core.Tx) error {
		calls++
		cancel()
		_, err := c.(*tx).exec(ctx, "force", forceSerializationFailure)
		return err
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("Update with the context cancelled = %v after %d calls", err, calls)
	}
}

// TestConcurrentAssign has several agents take one ticket at once: core
// reads, checks and writes in one Update, and exactly one of them wins.
func TestConcurrentAssign(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}})
	const agents = 6
	if err := st.Update(ctx, func(tx core.Tx) error {
		for i := range agents {
			if err := tx.CreateAgent(ctx, core.Agent{Username: fmt.Sprintf("a%d", i), PasswordHash: []byte("x"), CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		res, err := svc.Receive(ctx, core.InboundMessage{Door: core.DoorSMTP, From: "alice@example.com",
			Recipients: []string{"support@help.example"}, Subject: "Printer", Text: "Broken.",
			MessageID: fmt.Sprintf("assign-%d@example.com", round)})
		if err != nil {
			t.Fatal(err)
		}
		errs := make([]error, agents)
		var wg sync.WaitGroup
		startLine := make(chan struct{})
		for i := range agents {
			wg.Go(func() {
				<-startLine
				me := fmt.Sprintf("a%d", i)
				errs[i] = svc.Assign(ctx, me, res.TicketID, me)
			})
		}
		close(startLine)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil && winner == "":
				winner = fmt.Sprintf("a%d", i)
			case err == nil:
				t.Errorf("round %d: a%d and %s both took the ticket", round, i, winner)
			case !errors.Is(err, core.ErrNotAssignee):
				t.Errorf("round %d: a%d: %v, want ErrNotAssignee", round, i, err)
			}
		}
		view, err := svc.ViewTicket(ctx, &core.Agent{Username: "a0"}, res.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		if view.Ticket.Assignee != winner || winner == "" {
			t.Errorf("round %d: assignee %q, winner %q", round, view.Ticket.Assignee, winner)
		}
	}
	t.Logf("%d retries", st.retries.Load())
}

// TestNoLostUpdates increments a value with read-modify-write from several
// goroutines: serializable isolation with retries loses none.
func TestNoLostUpdates(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	tk := core.Ticket{ID: core.NewTicketID(), Subject: "counter", Customer: "a@example.com", Status: core.StatusOpen,
		LastMessageID: "0", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateTicket(ctx, tk) }); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				errs <- st.Update(ctx, func(tx core.Tx) error {
					got, err := tx.Ticket(ctx, tk.ID)
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(got.LastMessageID)
					if err != nil {
						return err
					}
					got.LastMessageID = strconv.Itoa(n + 1)
					return tx.UpdateTicket(ctx, got)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	err := st.View(ctx, func(tx core.Tx) error {
		got, err := tx.Ticket(ctx, tk.ID)
		if err == nil && got.LastMessageID != strconv.Itoa(workers*each) {
			t.Errorf("counter = %s, want %d", got.LastMessageID, workers*each)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d retries", st.retries.Load())
}

// TestDuplicateKeepsTransaction: ErrDuplicate leaves the transaction
// usable, as in SQLite; any other database error aborts it, and Update
// does not commit it even when the function ignores the error.
func TestDuplicateKeepsTransaction(t *testing.T) {
	t.Parallel()
	st := openTemp(t)
	ctx := t.Context()
	err := st.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateAgent(ctx, core.Agent{Username: "bob", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.CreateAgent(ctx, core.Agent{Username: "bob", CreatedAt: time.Now()}); !errors.Is(err, core.ErrDuplicate) {
			return fmt.Errorf("second CreateAgent(bob) = %v, want ErrDuplicate", err)
		}
		return tx.CreateAgent(ctx, core.Agent{Username: "carol", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !agentExists(t, st, "bob") || !agentExists(t, st, "carol") {
		t.Errorf("agents missing after a duplicate")
	}

	err = st.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateAgent(ctx, core.Agent{Username: "dave", CreatedAt: time.Now()}); err != nil {
			return err
		}
		err := tx.AddEntry(ctx, &core.Entry{TicketID: "nosuchticketaaaa", CreatedAt: time.Now(), AuthorKind: core.AuthorSystem})
		if !errors.Is(err, core.ErrNotFound) {
			return fmt.Errorf("AddEntry(missing ticket) = %v, want ErrNotFound", err)
		}
		if err := tx.CreateAgent(ctx, core.Agent{Username: "erin", CreatedAt: time.Now()}); !errors.Is(err, errTxAborted) {
			return fmt.Errorf("CreateAgent after a failed statement = %v, want errTxAborted", err)
		}
		return nil
	})
	if !errors.Is(err, errTxAborted) {
		t.Errorf("Update that ignored a failed statement = %v, want errTxAborted", err)
	}
	if agentExists(t, st, "dave") {
		t.Errorf("an aborted transaction was committed")
	}
}

// TestViewSnapshot: a View sees one snapshot, whatever commits meanwhile.
func TestViewSnapshot(t *testing.T) {
	t.Parallel()
	st := openTemp(t)
	ctx := t.Context()
	err := st.View(ctx, func(tx core.Tx) error {
		if _, err := tx.Agents(ctx); err != nil {
			return err
		}
		if err := st.Update(ctx, func(tx core.Tx) error {
			return tx.CreateAgent(ctx, core.Agent{Username: "bob", CreatedAt: time.Now()})
		}); err != nil {
			return err
		}
		as, err := tx.Agents(ctx)
		if len(as) != 0 {
			t.Errorf("View saw an agent committed after its first read")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCancelStopsQuery(t *testing.T) {
	t.Parallel()
	st := openTemp(t)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := st.View(ctx, func(c core.Tx) error {
		_, err := c.(*tx).exec(ctx, "slow", `SELECT pg_sleep(60)`)
		return err
	})
	if err == nil {
		t.Fatal("no error from a cancelled query")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the cancelled query ran %v", d)
	}
	// The store still works.
	if agentExists(t, st, "bob") {
		t.Errorf("agent bob in an empty store")
	}
}
