package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"trivialtickets/core"
)

// TestSearchIndexWrittenOncePerTransaction: a ticket and its entries made
// in one transaction write the ticket's search index row once, at the
// commit (migration 0008), and a search afterwards finds the words of the
// subject and of every entry.
func TestSearchIndexWrittenOncePerTransaction(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	now := time.Now()
	tk := core.Ticket{ID: "aaaaaaaaaaaaaaaa", Subject: "Zebra printer", Customer: "alice@example.com",
		Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
	var writes int
	err := st.Update(ctx, func(c core.Tx) error {
		if err := c.CreateTicket(ctx, tk); err != nil {
			return err
		}
		for _, text := range []string{"the paper jams", "and the toner smears"} {
			if err := c.AddEntry(ctx, &core.Entry{TicketID: tk.ID, CreatedAt: now, AuthorKind: core.AuthorCustomer, Text: text}); err != nil {
				return err
			}
		}
		// Run the triggers deferred to the commit now, to count their
		// writes in this transaction's statistics.
		if _, err := c.(*tx).exec(ctx, "fire deferred triggers", `SET CONSTRAINTS ALL IMMEDIATE`); err != nil {
			return err
		}
		return c.(*tx).queryRow(ctx, "count index writes", []any{&writes},
			`SELECT (n_tup_ins + n_tup_upd)::int FROM pg_stat_xact_user_tables WHERE relname = 'ticket_search'`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if writes != 1 {
		t.Errorf("the search index row was written %d times in the transaction, want once", writes)
	}
	for _, word := range []string{"zebra", "jams", "toner", "alice"} {
		var found []core.Ticket
		if err := st.View(ctx, func(c core.Tx) error {
			var err error
			found, err = c.ListTickets(ctx, core.TicketQuery{Search: word, Limit: 10})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(found) != 1 || found[0].ID != tk.ID {
			t.Errorf("search %q found %v, want the ticket", word, found)
		}
	}
	// Its activity is its creation until an entry is later than that.
	var activity int64
	if err := st.pool.QueryRow(ctx, `SELECT activity_at FROM tickets WHERE id = $1`, tk.ID).Scan(&activity); err != nil {
		t.Fatal(err)
	}
	if activity != now.UnixNano() {
		t.Errorf("activity_at %d, want %d", activity, now.UnixNano())
	}
}

// roundTrips counts what a pool sends and waits for: each statement sent
// alone and each batch is one round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// tracedStore opens a store on the migrated database at url whose round
// trips are counted.
func tracedStore(t *testing.T, url string) (*Store, *roundTrips) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &Store{pool: pool}, rt
}

// TestNewTicketRoundTrips: a message that opens a ticket (the ticket, its
// entry, its Message-ID, the confirmation and its Message-ID) costs 6 round
// trips instead of 10: BEGIN goes with the first statement and the
// Message-IDs and the ticket's INSERT with the next statement or the
// COMMIT. A transaction that sends nothing costs none.
func TestNewTicketRoundTrips(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	openURL(t, url)
	st, rt := tracedStore(t, url)
	ctx := t.Context()
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}})
	receive := func(n int) core.ReceiveResult {
		res, err := svc.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: fmt.Sprintf("c%d@example.com", n),
			Subject: "Printer", Text: "It jams."})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	receive(0) // prepares the statements on the connection
	before := rt.n.Load()
	res := receive(1)
	if got := rt.n.Load() - before; got != 6 {
		t.Errorf("a new ticket took %d round trips, want 6", got)
	}
	if !res.Created {
		t.Fatalf("receive: %+v, want a new ticket", res)
	}
	var mails int
	if err := st.View(ctx, func(c core.Tx) error {
		var err error
		mails, err = c.CountMails(ctx, core.MailPending)
		return err
	}); err != nil || mails != 2 {
		t.Errorf("pending confirmations: %d, %v; want 2", mails, err)
	}

	idle(t, st) // the View's ROLLBACK is answered after it returns
	before = rt.n.Load()
	if err := st.Update(ctx, func(core.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.View(ctx, func(core.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := rt.n.Load() - before; got != 0 {
		t.Errorf("transactions without statements took %d round trips", got)
	}
}

// TestWriteSentAheadFails: a Message-ID recorded already, whose INSERT
// waited for the COMMIT, fails the transaction there; Update rolls it back
// and runs the function again with every write sent at its call, so the
// function sees ErrDuplicate from RememberMessageID itself, as core
// expects, and nothing of the first run is committed.
func TestWriteSentAheadFails(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	now := time.Now()
	tk := core.Ticket{ID: "bbbbbbbbbbbbbbbb", Subject: "Old", Customer: "alice@example.com", Status: core.StatusOpen,
		CreatedAt: now, UpdatedAt: now}
	if err := st.Update(ctx, func(c core.Tx) error {
		if err := c.CreateTicket(ctx, tk); err != nil {
			return err
		}
		return c.RememberMessageID(ctx, "taken@example.com", tk.ID, true)
	}); err != nil {
		t.Fatal(err)
	}

	var errs []error
	err := st.Update(ctx, func(c core.Tx) error {
		n := core.Ticket{ID: "cccccccccccccccc", Subject: "New", Customer: "bob@example.com", Status: core.StatusOpen,
			CreatedAt: now, UpdatedAt: now}
		if err := c.CreateTicket(ctx, n); err != nil {
			return err
		}
		err := c.RememberMessageID(ctx, "taken@example.com", n.ID, true)
		errs = append(errs, err)
		return err
	})
	if len(errs) != 2 || errs[0] != nil || !errors.Is(errs[1], core.ErrDuplicate) {
		t.Errorf("RememberMessageID in the runs: %v; want nil (sent ahead), then ErrDuplicate", errs)
	}
	if !errors.Is(err, core.ErrDuplicate) {
		t.Errorf("Update = %v, want ErrDuplicate", err)
	}
	if err := st.View(ctx, func(c core.Tx) error {
		_, err := c.Ticket(ctx, "cccccccccccccccc")
		return err
	}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the ticket of the failed transaction: %v, want ErrNotFound", err)
	}

	// A function that takes the duplicate in its stride commits the rest
	// (in the second run), as with every write sent at once.
	runs := 0
	err = st.Update(ctx, func(c core.Tx) error {
		runs++
		if err := c.RememberMessageID(ctx, "taken@example.com", tk.ID, false); err != nil && !errors.Is(err, core.ErrDuplicate) {
			return err
		}
		return c.RememberMessageID(ctx, "fresh@example.com", tk.ID, false)
	})
	if err != nil || runs != 2 {
		t.Errorf("Update = %v after %d runs, want success after 2", err, runs)
	}
	if err := st.View(ctx, func(c core.Tx) error {
		_, _, err := c.MessageIDTicket(ctx, "fresh@example.com")
		return err
	}); err != nil {
		t.Errorf("the Message-ID after the duplicate: %v", err)
	}
}

// TestCommitOutlastsTheBudget: once the COMMIT is sent, its answer is
// waited for past the caller's deadline. Cut off at the deadline, a commit
// the server made in the meantime was reported as a failure, and the Mail
// API answered 503 "nothing was stored" for a ticket that existed.
func TestCommitOutlastsTheBudget(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	// A trigger deferred to the commit makes the COMMIT take half a second.
	if _, err := st.pool.Exec(ctx, `
		CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$;
		CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON tickets
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tk := core.Ticket{ID: "bbbbbbbbbbbbbbbb", Subject: "Slow disk", Customer: "bob@example.com",
		Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
	budget, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := st.Update(budget, func(c core.Tx) error { return c.CreateTicket(budget, tk) }); err != nil {
		t.Fatalf("an Update whose commit outlasts the budget: %v, want it committed", err)
	}
	var n int
	if err := st.pool.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE id = $1`, tk.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d tickets stored, want the one committed", n)
	}
}
