package postgres

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
)

// TestOpenTicketWritesTheRowOnce: a ticket opened with its first entry
// (and a note in the same moment) is one row version, not one per entry
// (migration 0016), and still shows the entry's times; an entry added
// later raises the version. A failed OpenTicket of a taken id names no
// ticket as opened, so an entry that the same transaction then adds to
// the existing ticket still raises its version.
func TestOpenTicketWritesTheRowOnce(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	now := time.Now()
	tk := core.Ticket{ID: "aaaaaaaaaaaaaaaa", Subject: "Printer", Customer: "alice@example.com",
		Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
	entry := func(kind core.AuthorKind, at time.Time) *core.Entry {
		return &core.Entry{TicketID: tk.ID, CreatedAt: at, AuthorKind: kind, Text: "the paper jams"}
	}
	update := func(f func(core.Tx) error) {
		t.Helper()
		if err := st.Update(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	var written int
	var version int64
	row := func() {
		t.Helper()
		if err := st.pool.QueryRow(ctx, `SELECT version FROM tickets WHERE id = $1`, tk.ID).Scan(&version); err != nil {
			t.Fatal(err)
		}
	}
	// The transaction's own count of rows written (pg_stat_xact_*).
	update(func(c core.Tx) error {
		if err := c.(core.TicketOpener).OpenTicket(ctx, tk, entry(core.AuthorCustomer, now)); err != nil {
			return err
		}
		if err := c.AddEntry(ctx, entry(core.AuthorSystem, now)); err != nil {
			return err
		}
		var err error
		written, err = c.(*tx).count(ctx, "rows written", `SELECT (n_tup_ins + n_tup_upd)::int FROM pg_stat_xact_user_tables WHERE relname = 'tickets'`)
		return err
	})
	if written != 1 {
		t.Errorf("opening a ticket with two entries wrote %d row versions of tickets, want 1", written)
	}
	row()
	if version != 1 {
		t.Errorf("version %d after opening, want 1", version)
	}
	var got core.Ticket
	if err := st.View(ctx, func(tx core.Tx) error {
		var err error
		got, err = tx.Ticket(ctx, tk.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !got.ActivityAt.Equal(now) || !got.CustomerAt.Equal(now) || !got.RepliedAt.IsZero() {
		t.Errorf("opened: activity %v, customer %v, replied %v; want %v, %v and zero", got.ActivityAt, got.CustomerAt, got.RepliedAt, now, now)
	}

	// Sent ahead, the duplicate fails the commit and Update runs the
	// function again with each write sent at its call: the last run's
	// error counts.
	var openErr error
	update(func(tx core.Tx) error {
		openErr = tx.(core.TicketOpener).OpenTicket(ctx, tk, entry(core.AuthorCustomer, now))
		return tx.AddEntry(ctx, entry(core.AuthorSystem, now))
	})
	if !errors.Is(openErr, core.ErrDuplicate) {
		t.Errorf("OpenTicket of a taken id: %v, want ErrDuplicate", openErr)
	}
	row()
	if version != 2 {
		t.Errorf("version %d after a note in the transaction of a failed OpenTicket, want 2", version)
	}
	update(func(tx core.Tx) error { return tx.AddEntry(ctx, entry(core.AuthorCustomer, now.Add(time.Second))) })
	row()
	if version != 3 {
		t.Errorf("version %d after a later entry, want 3", version)
	}
}

// TestOpenTicketSkipsTriggers: a ticket opened with safe words calls
// neither the first entry's update trigger nor either deferred search
// check (migration 0018), and its index row is still exactly the rebuild's;
// whenever text is left to SQL, in the subject, the first entry or a later
// entry of the same transaction, or the ticket existed already, the row is
// rebuilt, and a later entry still moves the ticket's times.
func TestOpenTicketSkipsTriggers(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	now := time.Now()
	n := 0
	open := func(subject, text string, more ...string) (id string, calls map[string]int) {
		t.Helper()
		n++
		id = fmt.Sprintf("open%012d", n)
		calls = map[string]int{}
		if err := st.Update(ctx, func(c core.Tx) error {
			if _, err := c.(*tx).exec(ctx, "count calls", `SET LOCAL track_functions = 'all'`); err != nil {
				return err
			}
			tk := core.Ticket{ID: id, Subject: subject, Customer: "alice@example.com", Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
			if err := c.(core.TicketOpener).OpenTicket(ctx, tk, &core.Entry{TicketID: id, CreatedAt: now, AuthorKind: core.AuthorCustomer, Text: text}); err != nil {
				return err
			}
			for i, m := range more {
				if err := c.AddEntry(ctx, &core.Entry{TicketID: id, CreatedAt: now.Add(time.Duration(i+1) * time.Second), AuthorKind: core.AuthorCustomer, Text: m}); err != nil {
					return err
				}
			}
			// The deferred checks run at the commit, after this count:
			// an event queued for one shows in the ticket's index row.
			_, err := queryAll(ctx, c.(*tx), "calls", func(r pgx.CollectableRow) (string, error) {
				var f string
				var k int
				err := r.Scan(&f, &k)
				calls[f] = k
				return f, err
			}, `SELECT funcname::text, calls::int FROM pg_stat_xact_user_functions`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return id, calls
	}
	id, calls := open("Drucker kaputt", "Papier klemmt")
	if calls["tt_entries_added"] != 0 {
		t.Errorf("opened with safe words: the entry's update trigger was called %d times, want 0", calls["tt_entries_added"])
	}
	if merged, exact := indexRow(t, st, id); merged == nil || !exact {
		t.Errorf("opened with safe words: merged %v, exact %v; want the daemon's words, exact", merged, exact)
	}
	id, calls = open("Drucker kaputt", "Papier klemmt", "später mehr")
	if calls["tt_entries_added"] != 1 {
		t.Errorf("a second entry: the entry's update trigger was called %d times, want 1", calls["tt_entries_added"])
	}
	if merged, exact := indexRow(t, st, id); len(merged) != 2 || !exact {
		t.Errorf("a second entry with safe words: merged %v, exact %v; want both entries, exact", merged, exact)
	}
	var activity, customer int64
	if err := st.pool.QueryRow(ctx, `SELECT activity_at, customer_at FROM tickets WHERE id = $1`, id).Scan(&activity, &customer); err != nil {
		t.Fatal(err)
	}
	if want := nanos(now.Add(time.Second)); activity != want || customer != want {
		t.Errorf("a later entry: activity %d, customer %d; want %d", activity, customer, want)
	}
	for _, c := range [][]string{
		{"Smiley 😀", "Papier klemmt"},
		{"Drucker kaputt", "Smiley 😀"},
		{"Drucker kaputt", "Papier klemmt", "Smiley 😀"},
	} {
		id, _ := open(c[0], c[1], c[2:]...)
		if merged, exact := indexRow(t, st, id); merged != nil || !exact {
			t.Errorf("text left to SQL in %q: merged %v, exact %v; want the rebuild's nil, true", c, merged, exact)
		}
	}
	// A taken id: the entries go to the existing ticket, which no setting
	// names, so its index row is checked as for any entry.
	if err := st.Update(ctx, func(c core.Tx) error {
		tk := core.Ticket{ID: id, Subject: "Drucker kaputt", Customer: "alice@example.com", Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
		err := c.(core.TicketOpener).OpenTicket(ctx, tk, &core.Entry{TicketID: id, CreatedAt: now, AuthorKind: core.AuthorCustomer, Text: "Papier"})
		if !errors.Is(err, core.ErrDuplicate) {
			return fmt.Errorf("OpenTicket of a taken id: %v, want ErrDuplicate", err)
		}
		return c.AddEntry(ctx, &core.Entry{TicketID: id, CreatedAt: now, AuthorKind: core.AuthorCustomer, Text: "Smiley 😀 wieder"})
	}); err != nil {
		t.Fatal(err)
	}
	if merged, exact := indexRow(t, st, id); merged != nil || !exact {
		t.Errorf("an entry left to SQL for a taken id: merged %v, exact %v; want the rebuild's nil, true", merged, exact)
	}
}
