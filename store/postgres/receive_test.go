package postgres

import (
	"errors"
	"testing"
	"time"

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
