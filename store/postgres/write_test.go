package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"trivialtickets/core"
)

// TestSearchIndexWrittenOncePerTransaction: a ticket and its entries made
// in one transaction write the ticket's search index row once, at the
// commit, with the words the daemon computed (migration 0012: the commit's
// rebuild in SQL is skipped, its row is not rebuilt), and a search
// afterwards finds the words of the subject and of every entry.
func TestSearchIndexWrittenOncePerTransaction(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	now := time.Now()
	tk := core.Ticket{ID: "aaaaaaaaaaaaaaaa", Subject: "Zebra printer", Customer: "alice@example.com",
		Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
	var ids []int64
	err := st.Update(ctx, func(c core.Tx) error {
		if err := c.CreateTicket(ctx, tk); err != nil {
			return err
		}
		for _, text := range []string{"the paper jams", "and the toner smears"} {
			e := &core.Entry{TicketID: tk.ID, CreatedAt: now, AuthorKind: core.AuthorCustomer, Text: text}
			if err := c.AddEntry(ctx, e); err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if merged, exact := indexRow(t, st, tk.ID); !slices.Equal(merged, ids) || !exact {
		t.Errorf("index row: words of entries %v given by the daemon (want %v, the commit's rebuild skipped), words exact %v", merged, ids, exact)
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

// tracedService opens a new database with its round trips counted and
// a Service on it, for the tests that count what one operation costs.
func tracedService(t *testing.T) (*Store, *roundTrips, *core.Service) {
	t.Helper()
	url := newDatabase(t)
	openURL(t, url)
	st, rt := tracedStore(t, url)
	return st, rt, core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}})
}

// tracedStore opens a store on the migrated database at url whose round
// trips are counted.
func tracedStore(t *testing.T, url string) (*Store, *roundTrips) {
	t.Helper()
	rt := &roundTrips{}
	return openTraced(t, url, rt), rt
}

// openTraced opens a store on the migrated database at url whose
// statements tracer sees.
func openTraced(t *testing.T, url string, tracer pgx.QueryTracer) *Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st, err := newStore(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestNewTicketRoundTrips: a message that opens a ticket (the ticket, its
// entry, its Message-ID, the confirmation and its Message-ID) costs 2 round
// trips instead of 10: BEGIN goes with the first statement, the reads that
// come before the writes are one statement (ReceiveFacts), and every
// insert (the entry's and the mail's with ids taken from blocks) goes with
// the COMMIT; a transaction without statements costs none.
func TestNewTicketRoundTrips(t *testing.T) {
	t.Parallel()
	st, rt, svc := tracedService(t)
	ctx := t.Context()
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
	// The message-id lookup with the agents' addresses and the count of
	// automatic mails, and the COMMIT; the inserts go with it, their ids
	// taken from blocks.
	if got := rt.n.Load() - before; got != 2 {
		t.Errorf("a new ticket took %d round trips, want 2", got)
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

// TestIDsTakenAhead: the ids AddEntry and QueueMail return without waiting
// for their inserts (taken from blocks of the sequences, two daemons on
// one database) are those of the rows stored, unique, and rise within one
// daemon, entries with attachments among them (the order of entries made
// at one time).
func TestIDsTakenAhead(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	stores := []*Store{openURL(t, url), openURL(t, url)}
	ctx := t.Context()
	now := time.Now()
	entries, mails := map[int64]string{}, map[int64]string{}
	var prev [2][2]int64 // per store, the last entry and mail id
	for i := range 2*idBlockSize + 5 {
		st := stores[i%2]
		id := fmt.Sprintf("ids%013d", i)
		var last [2]int64
		err := st.Update(ctx, func(c core.Tx) error {
			if err := c.CreateTicket(ctx, core.Ticket{ID: id, Subject: "s", Customer: "c@example.org",
				Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			e := &core.Entry{TicketID: id, CreatedAt: now, AuthorKind: core.AuthorCustomer, Text: "entry of " + id}
			if i%7 == 0 {
				e.Attachments = []core.Attachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("x")}}
			}
			if err := c.AddEntry(ctx, e); err != nil {
				return err
			}
			m := &core.OutMail{TicketID: id, From: "support@help.example", To: "c@example.org", Subject: "mail of " + id,
				MessageID: id + ".tt@help.example", CreatedAt: now}
			if err := c.QueueMail(ctx, m); err != nil {
				return err
			}
			last = [2]int64{e.ID, m.ID}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := entries[last[0]]; dup || last[0] == 0 {
			t.Fatalf("entry id %d given twice or zero", last[0])
		}
		if _, dup := mails[last[1]]; dup || last[1] == 0 {
			t.Fatalf("mail id %d given twice or zero", last[1])
		}
		entries[last[0]], mails[last[1]] = "entry of "+id, "mail of "+id
		if p := prev[i%2]; last[0] <= p[0] || last[1] <= p[1] {
			t.Errorf("store %d: ids %v after %v, want rising", i%2, last, p)
		}
		prev[i%2] = last
	}
	for id, want := range entries {
		var got string
		if err := stores[0].pool.QueryRow(ctx, `SELECT text FROM entries WHERE id = $1`, id).Scan(&got); err != nil || got != want {
			t.Errorf("entry %d: %q, %v; want %q", id, got, err, want)
		}
	}
	for id, want := range mails {
		var got string
		if err := stores[0].pool.QueryRow(ctx, `SELECT subject FROM outbox WHERE id = $1`, id).Scan(&got); err != nil || got != want {
			t.Errorf("mail %d: %q, %v; want %q", id, got, err, want)
		}
	}
}

// TestMessageIDsInOneInsert: the Message-IDs a transaction remembers go in
// one insert, after the ticket each names even when that ticket was
// created after the first Message-ID; a Message-ID taken already, among
// them, still fails only its own call with ErrDuplicate, and the others are
// kept.
func TestMessageIDsInOneInsert(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	now := time.Now()
	newTicket := func(tx core.Tx, id string) error {
		return tx.CreateTicket(ctx, core.Ticket{ID: id, Subject: "s", Customer: "alice@example.com",
			Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now})
	}
	var waiting []queued
	if err := st.Update(ctx, func(c core.Tx) error {
		if err := newTicket(c, "msgids00000000a1"); err != nil {
			return err
		}
		if err := c.RememberMessageID(ctx, "one@example.com", "msgids00000000a1", true); err != nil {
			return err
		}
		if err := newTicket(c, "msgids00000000b2"); err != nil {
			return err
		}
		if err := c.RememberMessageID(ctx, "two@example.com", "msgids00000000b2", false); err != nil {
			return err
		}
		waiting = append(waiting[:0], c.(*tx).tx.queued...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(waiting) != 3 || !strings.Contains(waiting[2].query, "($4, $5, $6)") {
		t.Errorf("writes waiting: %d, the last %q; want 3, the Message-IDs in one insert", len(waiting), waiting[len(waiting)-1].query)
	}
	var dupErr error
	if err := st.Update(ctx, func(tx core.Tx) error {
		if err := tx.RememberMessageID(ctx, "three@example.com", "msgids00000000a1", true); err != nil {
			return err
		}
		dupErr = tx.RememberMessageID(ctx, "two@example.com", "msgids00000000a1", true)
		return tx.RememberMessageID(ctx, "four@example.com", "msgids00000000b2", true)
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dupErr, core.ErrDuplicate) {
		t.Errorf("a taken Message-ID among others: %v, want ErrDuplicate", dupErr)
	}
	want := map[string]string{"one@example.com": "msgids00000000a1", "two@example.com": "msgids00000000b2",
		"three@example.com": "msgids00000000a1", "four@example.com": "msgids00000000b2"}
	if err := st.View(ctx, func(tx core.Tx) error {
		for id, ticket := range want {
			got, _, err := tx.MessageIDTicket(ctx, id)
			if err != nil || got != ticket {
				t.Errorf("MessageIDTicket(%s) = %s, %v; want %s", id, got, err, ticket)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
