package postgres

import (
	"testing"
	"time"

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
