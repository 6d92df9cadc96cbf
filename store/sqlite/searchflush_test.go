package sqlite

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestSearchIndexAfterGroupCommits writes tickets and entries from many
// updates at once (so that they share transactions, some failing), then
// checks that every commit left the index exactly as the triggers of 0007
// kept it: one row per ticket, at its search_seq, with its current words,
// and nothing left in ticket_search_pending.
func TestSearchIndexAfterGroupCommits(t *testing.T) {
	st := openTemp(t).(*Store)
	ctx := t.Context()
	var err error
	errFail := errors.New("fail on purpose")
	ticket := func(id string, at int) core.Ticket {
		return core.Ticket{ID: id, Subject: "subject " + id, Customer: id + "@example.com", Status: core.StatusOpen,
			CreatedAt: time.Unix(int64(at), 0), UpdatedAt: time.Unix(int64(at), 0)}
	}
	entry := func(id, text string, at int) *core.Entry {
		return &core.Entry{TicketID: id, CreatedAt: time.Unix(int64(at), 0), AuthorKind: core.AuthorCustomer, Text: text}
	}
	const n = 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	// Update i fails when i%7 == 3 (ticket and entry gone); tickets with
	// i%5 == 0 get a second entry later.
	for i := range n {
		wg.Go(func() {
			<-start
			id := fmt.Sprintf("t%03d", i)
			st.Update(ctx, func(tx core.Tx) error {
				if err := tx.CreateTicket(ctx, ticket(id, i)); err != nil {
					return err
				}
				if err := tx.AddEntry(ctx, entry(id, fmt.Sprintf("word%d first", i), i)); err != nil {
					return err
				}
				if i%7 == 3 {
					return errFail
				}
				return nil
			})
			if i%5 == 0 && i%7 != 3 {
				// A second entry in a later update moves the ticket's row.
				st.Update(ctx, func(tx core.Tx) error {
					return tx.AddEntry(ctx, entry(id, fmt.Sprintf("later%d", i), n+i))
				})
			}
		})
	}
	close(start)
	wg.Wait()
	var pending, rows, tickets, wrong int
	for _, c := range []struct {
		n     *int
		query string
	}{
		{&pending, `SELECT count(*) FROM ticket_search_pending`},
		{&rows, `SELECT count(*) FROM ticket_search`},
		{&tickets, `SELECT count(*) FROM tickets`},
		{&wrong, `SELECT count(*) FROM ticket_search_docs d
			WHERE NOT EXISTS (SELECT 1 FROM ticket_search s WHERE s.rowid = d.search_seq AND s.words = d.words)`},
	} {
		if err := st.reader.QueryRowContext(ctx, c.query).Scan(c.n); err != nil {
			t.Fatal(err)
		}
	}
	if pending != 0 || rows != tickets || wrong != 0 || tickets != n-(n+3)/7 {
		t.Errorf("after the commits: %d pending, %d index rows for %d tickets, %d without their words", pending, rows, tickets, wrong)
	}
	for _, c := range []struct {
		word string
		want int
	}{{"word15", 1}, {"later15", 1}, {"later16", 0}, {"word3", 0}, {"first", tickets}} {
		var got int
		st.View(ctx, func(tx core.Tx) error {
			got, err = tx.CountTickets(ctx, core.TicketQuery{Search: c.word})
			return err
		})
		if err != nil || got != c.want {
			t.Errorf("search %q: %d tickets (%v), want %d", c.word, got, err, c.want)
		}
	}
}

// TestSearchInUpdateSeesItsWrites: a search inside an update finds the
// ticket that the update just created, before the commit.
func TestSearchInUpdateSeesItsWrites(t *testing.T) {
	st := openTemp(t)
	ctx := t.Context()
	err := st.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, core.Ticket{ID: "fresh", Subject: "zebra crossing", Customer: "c@example.com",
			Status: core.StatusOpen, CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)}); err != nil {
			return err
		}
		ts, err := tx.ListTickets(ctx, core.TicketQuery{Search: "zebra", Limit: 10})
		if err != nil {
			return err
		}
		if len(ts) != 1 || ts[0].ID != "fresh" {
			return fmt.Errorf("search in the update found %+v, want the new ticket", ts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
