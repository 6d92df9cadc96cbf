package storetest

import (
	"testing"
	"time"

	"trivialtickets/core"
)

// testOpenTicket: a store's OpenTicket (core.TicketOpener) leaves the
// ticket, its entry, the lists, the search and the version as
// CreateTicket followed by AddEntry does, also when more entries follow
// in the same transaction or later. Stores without it skip.
func testOpenTicket(t *testing.T, st core.Store) {
	skipWithout[core.TicketOpener](t, st, "OpenTicket")
	ctx := t.Context()
	entry := func(tk core.Ticket, when time.Time, kind core.AuthorKind, text string) *core.Entry {
		return &core.Entry{TicketID: tk.ID, CreatedAt: when, AuthorKind: kind, Author: tk.Customer, Text: text,
			MessageID: "m-" + tk.ID, Attachments: []core.Attachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("hi")}}}
	}
	opened := newTicket(at(10), "opened@example.com")
	created := newTicket(at(10), "created@example.com")
	var first *core.Entry
	update(t, st, func(tx core.Tx) error {
		first = entry(opened, at(10), core.AuthorCustomer, "walrus printer")
		if err := tx.(core.TicketOpener).OpenTicket(ctx, opened, first); err != nil {
			return err
		}
		if err := tx.CreateTicket(ctx, created); err != nil {
			return err
		}
		return tx.AddEntry(ctx, entry(created, at(10), core.AuthorCustomer, "walrus printer"))
	})
	if first.ID == 0 || first.Attachments[0].ID == 0 {
		t.Errorf("OpenTicket left the entry's id %d or its attachment's %d unset", first.ID, first.Attachments[0].ID)
	}
	same := func(what string) {
		t.Helper()
		var a, b core.Ticket
		var ea, eb []core.Entry
		view(t, st, func(tx core.Tx) error {
			var err error
			if a, err = tx.Ticket(ctx, opened.ID); err != nil {
				return err
			}
			if b, err = tx.Ticket(ctx, created.ID); err != nil {
				return err
			}
			if ea, err = tx.Entries(ctx, opened.ID, true); err != nil {
				return err
			}
			eb, err = tx.Entries(ctx, created.ID, true)
			return err
		})
		if !a.ActivityAt.Equal(b.ActivityAt) || !a.CustomerAt.Equal(b.CustomerAt) || !a.RepliedAt.Equal(b.RepliedAt) ||
			a.Status != b.Status || !a.UpdatedAt.Equal(b.UpdatedAt) {
			t.Errorf("%s: opened %+v, created and added to %+v", what, a, b)
		}
		if len(ea) != len(eb) {
			t.Fatalf("%s: %d entries opened, %d created and added", what, len(ea), len(eb))
		}
		for i := range ea {
			if ea[i].Text != eb[i].Text || ea[i].AuthorKind != eb[i].AuthorKind || !ea[i].CreatedAt.Equal(eb[i].CreatedAt) ||
				len(ea[i].Attachments) != len(eb[i].Attachments) {
				t.Errorf("%s: entry %d opened %+v, created and added %+v", what, i, ea[i], eb[i])
			}
		}
	}
	same("after opening")
	if got := listIDs(t, st, core.TicketQuery{Search: "walrus", Limit: 10}); len(got) != 2 {
		t.Errorf("search after opening found %v, want both tickets", got)
	}

	// A note in the same moment (as core adds for an unanswerable sender)
	// and a customer's answer later: the ticket comes first in the list
	// of activity, and search finds the answer.
	v := make(map[string]int64)
	view(t, st, func(tx core.Tx) error {
		for _, id := range []string{opened.ID, created.ID} {
			n, err := tx.TicketVersion(ctx, id)
			if err != nil {
				return err
			}
			v[id] = n
		}
		return nil
	})
	update(t, st, func(tx core.Tx) error {
		for _, tk := range []core.Ticket{opened, created} {
			if err := tx.AddEntry(ctx, &core.Entry{TicketID: tk.ID, CreatedAt: at(10), AuthorKind: core.AuthorSystem, Internal: true, Text: "note"}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, st, func(tx core.Tx) error {
		for _, id := range []string{opened.ID, created.ID} {
			if n, err := tx.TicketVersion(ctx, id); err != nil || n <= v[id] {
				t.Errorf("version of %s after a note: %d (%v), before %d", id, n, err, v[id])
			}
		}
		return nil
	})
	same("after a note")
	later := newTicket(at(20), "later@example.com")
	update(t, st, func(tx core.Tx) error {
		return tx.(core.TicketOpener).OpenTicket(ctx, later, entry(later, at(20), core.AuthorCustomer, "later"))
	})
	if got := listIDs(t, st, core.TicketQuery{Limit: 1}); len(got) != 1 || got[0] != later.ID {
		t.Errorf("first by activity %v, want the ticket opened last %s", got, later.ID)
	}
	update(t, st, func(tx core.Tx) error {
		for i, tk := range []core.Ticket{created, opened} {
			if err := tx.AddEntry(ctx, &core.Entry{TicketID: tk.ID, CreatedAt: at(30 + i), AuthorKind: core.AuthorCustomer, Author: tk.Customer, Text: "narwhal"}); err != nil {
				return err
			}
		}
		return nil
	})
	if got := listIDs(t, st, core.TicketQuery{Limit: 3}); len(got) != 3 || got[0] != opened.ID || got[2] != later.ID {
		t.Errorf("by activity after the answers %v, want %s (answered last) first and %s last", got, opened.ID, later.ID)
	}
	if got := listIDs(t, st, core.TicketQuery{Search: "narwhal walrus", Limit: 10}); len(got) != 2 || got[0] != opened.ID {
		t.Errorf("search after the answers found %v, want %s then %s", got, opened.ID, created.ID)
	}

	// An agent's first entry counts as a reply, not as the customer's.
	byAgent := newTicket(at(40), "agent@example.com")
	update(t, st, func(tx core.Tx) error {
		return tx.(core.TicketOpener).OpenTicket(ctx, byAgent, &core.Entry{TicketID: byAgent.ID, CreatedAt: at(40), AuthorKind: core.AuthorAgent, Author: "bob", Text: "hello"})
	})
	view(t, st, func(tx core.Tx) error {
		got, err := tx.Ticket(ctx, byAgent.ID)
		if err == nil && (!got.RepliedAt.Equal(at(40)) || !got.CustomerAt.IsZero() || !got.ActivityAt.Equal(at(40))) {
			t.Errorf("opened with an agent's entry: activity %v, replied %v, customer %v; want %v, %v and zero",
				got.ActivityAt, got.RepliedAt, got.CustomerAt, at(40), at(40))
		}
		return err
	})

	err := st.Update(ctx, func(tx core.Tx) error {
		other := newTicket(at(50), "other@example.com")
		return tx.(core.TicketOpener).OpenTicket(ctx, other, &core.Entry{TicketID: opened.ID, CreatedAt: at(50), AuthorKind: core.AuthorCustomer})
	})
	wantErr(t, "OpenTicket with another ticket's entry", err, core.ErrInvalid)
	err = st.Update(ctx, func(tx core.Tx) error {
		return tx.(core.TicketOpener).OpenTicket(ctx, opened, entry(opened, at(50), core.AuthorCustomer, "again"))
	})
	wantErr(t, "OpenTicket of an existing id", err, core.ErrDuplicate)
}

// listIDs lists the ids of the tickets that q selects.
func listIDs(t *testing.T, st core.Store, q core.TicketQuery) []string {
	t.Helper()
	var ids []string
	view(t, st, func(tx core.Tx) error {
		ts, err := tx.ListTickets(t.Context(), q)
		for _, tk := range ts {
			ids = append(ids, tk.ID)
		}
		return err
	})
	return ids
}

// skipWithout skips the test unless the store's Tx implements I, an
// optional interface of core (named what).
func skipWithout[I any](t *testing.T, st core.Store, what string) {
	t.Helper()
	var ok bool
	view(t, st, func(tx core.Tx) error {
		_, ok = tx.(I)
		return nil
	})
	if !ok {
		t.Skip("the store's Tx has no " + what)
	}
}
