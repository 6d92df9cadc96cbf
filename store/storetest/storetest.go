// Package storetest is the conformance suite that every core.Store
// implementation must pass (the embedded SQLite store now, PostgreSQL later).
//
// Run covers each core.Tx method, the transaction semantics of Update and
// View, concurrency, and core's rules end to end: a core.Service on top of
// the store under test. A store package calls it from its own test:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) core.Store { … a new, empty store … })
//	}
//
// The package is for tests only; no program should import it.
package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
)

// Run runs the whole suite as subtests of t. open must return a new, empty
// store and arrange for it to be closed when the test ends (t.Cleanup); it is
// called once per subtest, and the subtests run in parallel, each on its own
// store.
func Run(t *testing.T, open func(t *testing.T) core.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, core.Store)
	}{
		{"Tickets", testTickets},
		{"ListTickets", testListTickets},
		{"Entries", testEntries},
		{"MessageIDs", testMessageIDs},
		{"Outbox", testOutbox},
		{"PendingMails", testPendingMails},
		{"PendingListings", testPendingListings},
		{"Dispatch", testDispatch},
		{"ConcurrentClaims", testConcurrentClaims},
		{"Leases", testLeases},
		{"Agents", testAgents},
		{"AgentMail", testAgentMail},
		{"Sessions", testSessions},
		{"UpdateRollback", testUpdateRollback},
		{"ViewIsReadOnly", testViewReadOnly},
		{"TxAfterReturn", testTxAfterReturn},
		{"ContextCancel", testContextCancel},
		{"DeadlineIsUnavailable", testDeadlineUnavailable},
		{"ViewDuringUpdate", testViewDuringUpdate},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentDuplicateMessageID", testConcurrentDuplicate},
		{"ConcurrentCounts", testConcurrentCounts},
		{"InboundQueue", testInboundQueue},
		{"ConcurrentInboundClaims", testConcurrentInboundClaims},
		{"OpenTicket", testOpenTicket},
		{"ReceiveFacts", testReceiveFacts},
		{"TicketPage", testTicketPage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
	t.Run("Service", func(t *testing.T) { runService(t, open) })
}

// t0 is the base of the suite's times. Times are whole microseconds so that
// stores with microsecond resolution (PostgreSQL) pass too.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 plus n milliseconds.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func update(t *testing.T, st core.Store, fn func(core.Tx) error) {
	t.Helper()
	if err := st.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, st core.Store, fn func(core.Tx) error) {
	t.Helper()
	if err := st.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

func newTicket(createdAt time.Time, customer string) core.Ticket {
	return core.Ticket{
		ID: core.NewTicketID(), Subject: "Subject " + customer, Customer: customer, CustomerName: "Name",
		Status: core.StatusOpen, RootMessageID: "root-" + customer, LastMessageID: "last-" + customer,
		CreatedAt: createdAt, UpdatedAt: createdAt,
	}
}

func createAgents(t *testing.T, st core.Store, names ...string) {
	t.Helper()
	update(t, st, func(tx core.Tx) error {
		for _, n := range names {
			if err := tx.CreateAgent(t.Context(), core.Agent{Username: n, Name: "Agent " + n,
				PasswordHash: []byte("hash-" + n), CreatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
}

func sameTicket(t *testing.T, got, want core.Ticket) {
	t.Helper()
	if got.ID != want.ID || got.Subject != want.Subject || got.Customer != want.Customer ||
		got.CustomerName != want.CustomerName || got.Status != want.Status || got.Assignee != want.Assignee ||
		got.MergedInto != want.MergedInto || got.RootMessageID != want.RootMessageID ||
		got.LastMessageID != want.LastMessageID || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("ticket:\n got  %+v\n want %+v", got, want)
	}
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("ticket %s: times not in UTC: %v %v", got.ID, got.CreatedAt, got.UpdatedAt)
	}
}

func testTickets(t *testing.T, st core.Store) {
	ctx := t.Context()
	createAgents(t, st, "bob")
	tk := newTicket(at(1), "alice@example.com")
	update(t, st, func(tx core.Tx) error { return tx.CreateTicket(ctx, tk) })
	view(t, st, func(tx core.Tx) error {
		got, err := tx.Ticket(ctx, tk.ID)
		if err != nil {
			return err
		}
		sameTicket(t, got, tk)
		_, err = tx.Ticket(ctx, "nosuchticketaaaa")
		wantErr(t, "Ticket(missing)", err, core.ErrNotFound)
		return nil
	})
	err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateTicket(ctx, tk) })
	wantErr(t, "CreateTicket(same id)", err, core.ErrDuplicate)

	// UpdateTicket writes Status, Assignee, MergedInto, LastMessageID and
	// UpdatedAt, and nothing else.
	changed := tk
	changed.Status, changed.Assignee, changed.MergedInto = core.StatusInProgress, "bob", "othertickettttt2"
	changed.LastMessageID, changed.UpdatedAt = "new-last", at(5)
	changed.Subject, changed.Customer, changed.RootMessageID = "other subject", "eve@example.com", "other-root"
	update(t, st, func(tx core.Tx) error { return tx.UpdateTicket(ctx, changed) })
	want := tk
	want.Status, want.Assignee, want.MergedInto = changed.Status, changed.Assignee, changed.MergedInto
	want.LastMessageID, want.UpdatedAt = changed.LastMessageID, changed.UpdatedAt
	view(t, st, func(tx core.Tx) error {
		got, err := tx.Ticket(ctx, tk.ID)
		if err == nil {
			sameTicket(t, got, want)
		}
		return err
	})
	// Back to unassigned.
	want.Assignee, want.MergedInto = "", ""
	update(t, st, func(tx core.Tx) error { return tx.UpdateTicket(ctx, want) })
	view(t, st, func(tx core.Tx) error {
		got, err := tx.Ticket(ctx, tk.ID)
		if err == nil {
			sameTicket(t, got, want)
		}
		return err
	})
	missing := newTicket(at(2), "x@example.com")
	err = st.Update(ctx, func(tx core.Tx) error { return tx.UpdateTicket(ctx, missing) })
	wantErr(t, "UpdateTicket(missing)", err, core.ErrNotFound)
}

// listModel is what ListTickets must return, computed in Go.
func listModel(all []core.Ticket, q core.TicketQuery) []core.Ticket {
	var out []core.Ticket
	for _, t := range all {
		if t.Merged() || (q.Status != "" && t.Status != q.Status) || (q.Assignee != "" && t.Assignee != q.Assignee) ||
			(q.Unassigned && t.Assignee != "") || (q.Customer != "" && t.Customer != q.Customer) ||
			(q.Exclude != "" && t.ID == q.Exclude) {
			continue
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b core.Ticket) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out
}

// ids returns the ids of ts, in order.
func ids(ts []core.Ticket) []string {
	return mapped(ts, func(t core.Ticket) string { return t.ID })
}

// mapped returns f of every element of xs, in order.
func mapped[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func testListTickets(t *testing.T, st core.Store) {
	ctx := t.Context()
	createAgents(t, st, "bob", "carol")
	customers := []string{"alice@example.com", "dave@example.com", "erin@example.org"}
	statuses := core.Statuses
	assignees := []string{"", "bob", "carol", ""}
	var all []core.Ticket
	for i := range 60 {
		// Every third ticket shares its creation time with the one before, so
		// the id decides the order.
		tk := newTicket(at(i-i%3/2), customers[i%len(customers)])
		tk.Status = statuses[i%len(statuses)]
		tk.Assignee = assignees[i%len(assignees)]
		if i%7 == 0 {
			tk.MergedInto = "mergedtargetaaaa"
		}
		all = append(all, tk)
	}
	update(t, st, func(tx core.Tx) error {
		for _, tk := range all {
			if err := tx.CreateTicket(ctx, tk); err != nil {
				return err
			}
		}
		return nil
	})
	// One ticket merged by UpdateTicket rather than at creation.
	all[1].MergedInto = all[2].ID
	update(t, st, func(tx core.Tx) error { return tx.UpdateTicket(ctx, all[1]) })

	queries := map[string]core.TicketQuery{
		"all":                  {},
		"open":                 {Status: core.StatusOpen},
		"in progress":          {Status: core.StatusInProgress},
		"closed":               {Status: core.StatusClosed},
		"bob":                  {Assignee: "bob"},
		"carol in progress":    {Assignee: "carol", Status: core.StatusInProgress},
		"unassigned":           {Unassigned: true},
		"unassigned open":      {Unassigned: true, Status: core.StatusOpen},
		"customer":             {Customer: "dave@example.com"},
		"customer unassigned":  {Customer: "alice@example.com", Unassigned: true},
		"customer bob exclude": {Customer: "alice@example.com", Assignee: "bob", Exclude: all[4].ID},
		"exclude":              {Exclude: all[10].ID},
		"nobody":               {Customer: "nobody@example.com"},
	}
	for name, q := range queries {
		want := listModel(all, q)
		if name != "nobody" && len(want) == 0 {
			t.Fatalf("%s: the test data has no matching ticket", name)
		}
		view(t, st, func(tx core.Tx) error {
			n, err := tx.CountTickets(ctx, q)
			if err != nil {
				return err
			}
			if n != len(want) {
				t.Errorf("%s: CountTickets = %d, want %d", name, n, len(want))
			}
			// Whole list in one page.
			q1 := q
			q1.Limit = 1000
			got, err := tx.ListTickets(ctx, q1)
			if err != nil {
				return err
			}
			if !slices.Equal(ids(got), ids(want)) {
				t.Errorf("%s: ListTickets =\n %v\nwant\n %v", name, ids(got), ids(want))
			}
			for i := range min(len(got), len(want)) {
				if got[i].ID == want[i].ID {
					sameTicket(t, got[i], want[i])
				}
			}
			// Keyset paging, several page sizes: no gaps, no repeats.
			for _, size := range []int{1, 4, 7} {
				var paged []core.Ticket
				qp := q
				qp.Limit = size
				for range len(want) + 2 {
					page, err := tx.ListTickets(ctx, qp)
					if err != nil {
						return err
					}
					if len(page) > size {
						t.Fatalf("%s: page of %d tickets with limit %d", name, len(page), size)
					}
					paged = append(paged, page...)
					if len(page) < size {
						break
					}
					last := page[len(page)-1]
					qp.After = &core.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
				}
				if !slices.Equal(ids(paged), ids(want)) {
					t.Errorf("%s: paged by %d =\n %v\nwant\n %v", name, size, ids(paged), ids(want))
				}
			}
			// Counting ignores After and Limit.
			qc := q
			qc.Limit = 1
			qc.After = &core.Cursor{CreatedAt: at(30), ID: "zzzzzzzzzzzzzzzz"}
			if n, err := tx.CountTickets(ctx, qc); err != nil || n != len(want) {
				t.Errorf("%s: CountTickets with After and Limit = %d, %v; want %d", name, n, err, len(want))
			}
			capped := qc
			capped.CountMax = 3
			if n, err := tx.CountTickets(ctx, capped); err != nil || n != min(len(want), 3) {
				t.Errorf("%s: CountTickets with CountMax 3 = %d, %v; want %d", name, n, err, min(len(want), 3))
			}
			return nil
		})
	}
	// A cursor in the middle of equal creation times.
	want := listModel(all, core.TicketQuery{})
	for i := 1; i < len(want); i++ {
		if !want[i].CreatedAt.Equal(want[i-1].CreatedAt) {
			continue
		}
		c := want[i-1]
		view(t, st, func(tx core.Tx) error {
			got, err := tx.ListTickets(ctx, core.TicketQuery{After: &core.Cursor{CreatedAt: c.CreatedAt, ID: c.ID}, Limit: 3})
			if err != nil {
				return err
			}
			if exp := want[i:min(i+3, len(want))]; !slices.Equal(ids(got), ids(exp)) {
				t.Errorf("after tie %s: %v, want %v", c.ID, ids(got), ids(exp))
			}
			return nil
		})
		break
	}
}

func testEntries(t *testing.T, st core.Store) {
	ctx := t.Context()
	tk := newTicket(at(0), "alice@example.com")
	other := newTicket(at(0), "bob@example.com")
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	// Added out of creation order; entries with equal times keep id order.
	in := []core.Entry{
		{TicketID: tk.ID, CreatedAt: at(30), AuthorKind: core.AuthorAgent, Author: "bob", AuthorName: "Bob", Text: "third"},
		{TicketID: tk.ID, CreatedAt: at(10), AuthorKind: core.AuthorCustomer, Author: "alice@example.com", AuthorName: "Alice",
			Text: "first", MessageID: "m1@example.com", Automatic: true,
			Attachments: []core.Attachment{
				{Filename: "a.txt", ContentType: "text/plain", Data: []byte("hello"), Size: 5},
				{Filename: "big.bin", ContentType: "application/octet-stream", ContentID: "cid1", Data: big, Size: int64(len(big))},
			}},
		{TicketID: tk.ID, CreatedAt: at(20), AuthorKind: core.AuthorSystem, Internal: true, Text: "second, internal",
			Attachments: []core.Attachment{{Filename: "secret.txt", ContentType: "text/plain", Data: []byte("secret"), Size: 6}}},
		{TicketID: tk.ID, CreatedAt: at(20), AuthorKind: core.AuthorAgent, Author: "bob", Text: "second b", FromTicket: other.ID},
		{TicketID: other.ID, CreatedAt: at(15), AuthorKind: core.AuthorCustomer, Text: "other ticket"},
	}
	update(t, st, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		if err := tx.CreateTicket(ctx, other); err != nil {
			return err
		}
		for i := range in {
			if err := tx.AddEntry(ctx, &in[i]); err != nil {
				return err
			}
			if in[i].ID == 0 {
				t.Errorf("AddEntry did not set the entry id")
			}
			for _, a := range in[i].Attachments {
				if a.ID == 0 {
					t.Errorf("AddEntry did not set the attachment id of %s", a.Filename)
				}
			}
		}
		return nil
	})
	order := []int{1, 2, 3, 0} // by created_at, then id
	if in[2].ID > in[3].ID {
		order = []int{1, 3, 2, 0}
	}
	view(t, st, func(tx core.Tx) error {
		for _, withInternal := range []bool{true, false} {
			got, err := tx.Entries(ctx, tk.ID, withInternal)
			if err != nil {
				return err
			}
			var want []core.Entry
			for _, i := range order {
				if withInternal || !in[i].Internal {
					want = append(want, in[i])
				}
			}
			if len(got) != len(want) {
				t.Fatalf("Entries(internal %v): %d entries, want %d: %+v", withInternal, len(got), len(want), got)
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.ID != w.ID || g.TicketID != w.TicketID || !g.CreatedAt.Equal(w.CreatedAt) || g.AuthorKind != w.AuthorKind ||
					g.Author != w.Author || g.AuthorName != w.AuthorName || g.Internal != w.Internal || g.Text != w.Text ||
					g.Automatic != w.Automatic || g.MessageID != w.MessageID || g.FromTicket != w.FromTicket {
					t.Errorf("Entries(internal %v)[%d]:\n got  %+v\n want %+v", withInternal, i, g, w)
				}
				if len(g.Attachments) != len(w.Attachments) {
					t.Errorf("entry %q: %d attachments, want %d", g.Text, len(g.Attachments), len(w.Attachments))
					continue
				}
				for j, a := range g.Attachments {
					wa := w.Attachments[j]
					if a.ID != wa.ID || a.Filename != wa.Filename || a.ContentType != wa.ContentType || a.Size != wa.Size ||
						a.ContentID != wa.ContentID || len(a.Data) != 0 {
						t.Errorf("entry %q attachment %d: got %+v (data %d bytes), want metadata of %s", g.Text, j, a, len(a.Data), wa.Filename)
					}
				}
			}
		}
		got, err := tx.Entries(ctx, "nosuchticketaaaa", true)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			t.Errorf("Entries(missing ticket): %v", err)
		}
		if len(got) != 0 {
			t.Errorf("Entries(missing ticket): %d entries", len(got))
		}
		// Attachment returns the data and the entry it belongs to.
		for _, e := range in {
			for _, wa := range e.Attachments {
				a, ae, err := tx.Attachment(ctx, wa.ID)
				if err != nil {
					return err
				}
				if a.ID != wa.ID || a.Filename != wa.Filename || a.ContentType != wa.ContentType || a.Size != wa.Size ||
					a.ContentID != wa.ContentID || string(a.Data) != string(wa.Data) {
					t.Errorf("Attachment(%d) = %s %s %d %q, %d bytes; want %s", wa.ID, a.Filename, a.ContentType, a.Size, a.ContentID, len(a.Data), wa.Filename)
				}
				if ae.ID != e.ID || ae.TicketID != e.TicketID || ae.Internal != e.Internal || ae.Text != e.Text {
					t.Errorf("Attachment(%d) entry = %+v, want entry %d", wa.ID, ae, e.ID)
				}
			}
		}
		_, _, err = tx.Attachment(ctx, 987654321)
		wantErr(t, "Attachment(missing)", err, core.ErrNotFound)
		return nil
	})
	// An entry for a ticket that does not exist is refused.
	err := st.Update(ctx, func(tx core.Tx) error {
		return tx.AddEntry(ctx, &core.Entry{TicketID: "nosuchticketaaaa", CreatedAt: at(1), AuthorKind: core.AuthorSystem, Text: "x"})
	})
	if err == nil {
		t.Errorf("AddEntry for a missing ticket: no error")
	}
}

func testMessageIDs(t *testing.T, st core.Store) {
	ctx := t.Context()
	a, b := newTicket(at(0), "a@example.com"), newTicket(at(1), "b@example.com")
	update(t, st, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, a); err != nil {
			return err
		}
		if err := tx.CreateTicket(ctx, b); err != nil {
			return err
		}
		if err := tx.RememberMessageID(ctx, "in-1@example.com", a.ID, true); err != nil {
			return err
		}
		return tx.RememberMessageID(ctx, "out-1.tt@help.example", b.ID, false)
	})
	view(t, st, func(tx core.Tx) error {
		for _, c := range []struct {
			id      string
			ticket  string
			inbound bool
		}{{"in-1@example.com", a.ID, true}, {"out-1.tt@help.example", b.ID, false}} {
			tid, inbound, err := tx.MessageIDTicket(ctx, c.id)
			if err != nil || tid != c.ticket || inbound != c.inbound {
				t.Errorf("MessageIDTicket(%s) = %s, %v, %v; want %s, %v", c.id, tid, inbound, err, c.ticket, c.inbound)
			}
		}
		_, _, err := tx.MessageIDTicket(ctx, "unknown@example.com")
		wantErr(t, "MessageIDTicket(unknown)", err, core.ErrNotFound)
		return nil
	})
	for _, tid := range []string{a.ID, b.ID} {
		err := st.Update(ctx, func(tx core.Tx) error { return tx.RememberMessageID(ctx, "in-1@example.com", tid, false) })
		wantErr(t, "RememberMessageID(again)", err, core.ErrDuplicate)
	}
	view(t, st, func(tx core.Tx) error {
		tid, inbound, err := tx.MessageIDTicket(ctx, "in-1@example.com")
		if err != nil || tid != a.ID || !inbound {
			t.Errorf("after duplicate: MessageIDTicket = %s, %v, %v; want %s, true", tid, inbound, err, a.ID)
		}
		return nil
	})
}

func testOutbox(t *testing.T, st core.Store) {
	ctx := t.Context()
	tk := newTicket(at(0), "alice@example.com")
	var queued []core.OutMail
	update(t, st, func(tx core.Tx) error {
		queued = nil // a store may run fn again
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		for i := range 25 {
			m := core.OutMail{
				TicketID: tk.ID, From: "support@help.example", To: "alice@example.com",
				ReplyTo: "support+" + tk.ID + "@help.example", Subject: fmt.Sprintf("mail %d", i),
				Body: "body\nline 2", MessageID: fmt.Sprintf("out-%d.tt@help.example", i), InReplyTo: "root@example.com",
				Automatic: i%2 == 0, CreatedAt: at(i * 1000), State: core.MailPending,
			}
			switch i % 3 {
			case 1:
				m.References = []string{"root@example.com"}
			case 2:
				m.References = []string{"root@example.com", "last@example.com"}
			}
			if i%5 == 0 {
				m.To = "dave@example.com"
			}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
			if m.ID == 0 || (len(queued) > 0 && m.ID <= queued[len(queued)-1].ID) {
				t.Errorf("QueueMail set id %d after %v", m.ID, queued)
			}
			queued = append(queued, m)
		}
		return nil
	})
	pendingAll := func() []core.OutMail {
		var all []core.OutMail
		view(t, st, func(tx core.Tx) error {
			after := int64(0)
			for {
				ms, err := tx.PendingMails(ctx, after, 10)
				if err != nil {
					return err
				}
				if len(ms) > 10 {
					t.Fatalf("PendingMails(limit 10) returned %d", len(ms))
				}
				all = append(all, ms...)
				if len(ms) < 10 {
					return nil
				}
				after = ms[len(ms)-1].ID
			}
		})
		return all
	}
	got := pendingAll()
	if len(got) != len(queued) {
		t.Fatalf("PendingMails: %d mails, want %d", len(got), len(queued))
	}
	for i, g := range got {
		w := queued[i]
		if !samePendingMail(g, w) || !g.SentAt.IsZero() || g.Attempts != 0 || g.LastError != "" {
			t.Errorf("PendingMails[%d]:\n got  %+v\n want %+v", i, g, w)
		}
	}
	view(t, st, func(tx core.Tx) error {
		ms, err := tx.PendingMails(ctx, queued[22].ID, 10)
		if err != nil {
			return err
		}
		if len(ms) != 2 || ms[0].ID != queued[23].ID {
			t.Errorf("PendingMails(after %d) = %d mails", queued[22].ID, len(ms))
		}
		// Automatic mails to alice (even i, not a multiple of 5) created at
		// or after i = 10: 12, 14, 16, 18, 22, 24.
		n, err := tx.CountAutomaticMails(ctx, "alice@example.com", at(10_000))
		if err != nil || n != 6 {
			t.Errorf("CountAutomaticMails(alice, since 10) = %d, %v; want 6", n, err)
		}
		n, err = tx.CountAutomaticMails(ctx, "dave@example.com", at(0))
		if err != nil || n != 3 { // 0, 10, 20
			t.Errorf("CountAutomaticMails(dave) = %d, %v; want 3", n, err)
		}
		n, err = tx.CountAutomaticMails(ctx, "nobody@example.com", at(0))
		if err != nil || n != 0 {
			t.Errorf("CountAutomaticMails(nobody) = %d, %v; want 0", n, err)
		}
		return nil
	})
	for i, want := range []bool{true, false} {
		update(t, st, func(tx core.Tx) error {
			ok, err := tx.MarkMailSent(ctx, queued[3].ID, at(99_000))
			if ok != want {
				t.Errorf("MarkMailSent #%d = %v, want %v", i+1, ok, want)
			}
			return err
		})
	}
	update(t, st, func(tx core.Tx) error {
		ok, err := tx.MarkMailSent(ctx, 987654321, at(99_000))
		if ok {
			t.Errorf("MarkMailSent(unknown id) = true")
		}
		return err
	})
	got = pendingAll()
	if len(got) != len(queued)-1 || slices.ContainsFunc(got, func(m core.OutMail) bool { return m.ID == queued[3].ID }) {
		t.Errorf("after MarkMailSent: %d pending, want %d without %d", len(got), len(queued)-1, queued[3].ID)
	}
	// Sent mails still count as automatic mails for the hourly cap.
	view(t, st, func(tx core.Tx) error {
		n, err := tx.CountAutomaticMails(ctx, "alice@example.com", at(0))
		if err != nil || n != 10 {
			t.Errorf("CountAutomaticMails(alice, since 0) = %d, %v; want 10", n, err)
		}
		return nil
	})
}

func testAgents(t *testing.T, st core.Store) {
	ctx := t.Context()
	createAgents(t, st, "carol", "bob", "alice")
	err := st.Update(ctx, func(tx core.Tx) error {
		return tx.CreateAgent(ctx, core.Agent{Username: "bob", PasswordHash: []byte("x"), CreatedAt: t0})
	})
	wantErr(t, "CreateAgent(duplicate)", err, core.ErrDuplicate)
	view(t, st, func(tx core.Tx) error {
		a, err := tx.Agent(ctx, "bob")
		if err != nil {
			return err
		}
		if a.Username != "bob" || a.Name != "Agent bob" || string(a.PasswordHash) != "hash-bob" || a.Vacation || !a.CreatedAt.Equal(t0) {
			t.Errorf("Agent(bob) = %+v", a)
		}
		_, err = tx.Agent(ctx, "nobody")
		wantErr(t, "Agent(missing)", err, core.ErrNotFound)
		as, err := tx.Agents(ctx)
		if err != nil {
			return err
		}
		var names []string
		for _, a := range as {
			names = append(names, a.Username)
		}
		if !slices.Equal(names, []string{"alice", "bob", "carol"}) {
			t.Errorf("Agents = %v, want alice bob carol", names)
		}
		return nil
	})
	update(t, st, func(tx core.Tx) error {
		return tx.UpdateAgent(ctx, core.Agent{Username: "bob", Name: "Robert", PasswordHash: []byte("new"), Vacation: true, CreatedAt: at(5)})
	})
	view(t, st, func(tx core.Tx) error {
		a, err := tx.Agent(ctx, "bob")
		if err != nil {
			return err
		}
		if a.Name != "Robert" || string(a.PasswordHash) != "new" || !a.Vacation || !a.CreatedAt.Equal(t0) {
			t.Errorf("after UpdateAgent: %+v", a)
		}
		return nil
	})
	err = st.Update(ctx, func(tx core.Tx) error { return tx.UpdateAgent(ctx, core.Agent{Username: "nobody"}) })
	wantErr(t, "UpdateAgent(missing)", err, core.ErrNotFound)
	update(t, st, func(tx core.Tx) error { return tx.DeleteAgent(ctx, "bob") })
	err = st.Update(ctx, func(tx core.Tx) error { return tx.DeleteAgent(ctx, "bob") })
	wantErr(t, "DeleteAgent(again)", err, core.ErrNotFound)
	view(t, st, func(tx core.Tx) error {
		_, err := tx.Agent(ctx, "bob")
		wantErr(t, "Agent(deleted)", err, core.ErrNotFound)
		as, err := tx.Agents(ctx)
		if len(as) != 2 {
			t.Errorf("Agents after delete: %d", len(as))
		}
		return err
	})
}

func testSessions(t *testing.T, st core.Store) {
	ctx := t.Context()
	createAgents(t, st, "bob", "carol")
	sess := []core.Session{
		{TokenHash: "h1", Username: "bob", CreatedAt: at(0), ExpiresAt: at(10_000)},
		{TokenHash: "h2", Username: "bob", CreatedAt: at(0), ExpiresAt: at(50_000)},
		{TokenHash: "h3", Username: "carol", CreatedAt: at(0), ExpiresAt: at(10_000)},
		{TokenHash: "h4", Username: "carol", CreatedAt: at(0), ExpiresAt: at(50_000)},
		{TokenHash: "h5", Username: "carol", CreatedAt: at(0), ExpiresAt: at(60_000)},
	}
	update(t, st, func(tx core.Tx) error {
		for _, s := range sess {
			if err := tx.CreateSession(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateSession(ctx, sess[0]) })
	wantErr(t, "CreateSession(duplicate)", err, core.ErrDuplicate)
	err = st.Update(ctx, func(tx core.Tx) error {
		return tx.CreateSession(ctx, core.Session{TokenHash: "hx", Username: "nobody", CreatedAt: at(0), ExpiresAt: at(1)})
	})
	if err == nil {
		t.Errorf("CreateSession for a missing agent: no error")
	}
	exists := func(hash string) bool {
		var ok bool
		view(t, st, func(tx core.Tx) error {
			s, err := tx.Session(ctx, hash)
			if errors.Is(err, core.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			ok = true
			for _, w := range sess {
				if w.TokenHash == hash && (s.Username != w.Username || !s.CreatedAt.Equal(w.CreatedAt) || !s.ExpiresAt.Equal(w.ExpiresAt)) {
					t.Errorf("Session(%s) = %+v, want %+v", hash, s, w)
				}
			}
			return nil
		})
		return ok
	}
	check := func(step string, want ...string) {
		t.Helper()
		for _, s := range sess {
			if got := exists(s.TokenHash); got != slices.Contains(want, s.TokenHash) {
				t.Errorf("%s: session %s exists = %v", step, s.TokenHash, got)
			}
		}
	}
	check("created", "h1", "h2", "h3", "h4", "h5")
	update(t, st, func(tx core.Tx) error { return tx.DeleteSession(ctx, "h4") })
	err = st.Update(ctx, func(tx core.Tx) error { return tx.DeleteSession(ctx, "h4") })
	wantErr(t, "DeleteSession(again)", err, core.ErrNotFound)
	check("DeleteSession", "h1", "h2", "h3", "h5")
	update(t, st, func(tx core.Tx) error { return tx.DeleteExpiredSessions(ctx, at(20_000)) })
	check("DeleteExpiredSessions", "h2", "h5")
	update(t, st, func(tx core.Tx) error { return tx.DeleteSessions(ctx, "bob") })
	check("DeleteSessions(bob)", "h5")
	update(t, st, func(tx core.Tx) error { return tx.DeleteSessions(ctx, "nobody") })
	check("DeleteSessions(nobody)", "h5")
}

var errTest = errors.New("storetest: fn failed on purpose")

func testUpdateRollback(t *testing.T, st core.Store) {
	ctx := t.Context()
	tk := newTicket(at(0), "alice@example.com")
	err := st.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateAgent(ctx, core.Agent{Username: "bob", PasswordHash: []byte("x"), CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		if err := tx.AddEntry(ctx, &core.Entry{TicketID: tk.ID, CreatedAt: at(1), AuthorKind: core.AuthorSystem, Text: "x"}); err != nil {
			return err
		}
		if err := tx.RememberMessageID(ctx, "rolled-back@example.com", tk.ID, true); err != nil {
			return err
		}
		m := core.OutMail{TicketID: tk.ID, From: "a@b.example", To: "c@d.example", CreatedAt: at(1), Automatic: true}
		if err := tx.QueueMail(ctx, &m); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.Ticket(ctx, tk.ID); err != nil {
			t.Errorf("Ticket inside the writing Update: %v", err)
		}
		return fmt.Errorf("wrapped: %w", errTest)
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	assertEmpty(t, st, tk.ID)
}

// assertEmpty checks that the store holds nothing of what the transaction
// tests try to write.
func assertEmpty(t *testing.T, st core.Store, ticketID string) {
	t.Helper()
	ctx := t.Context()
	view(t, st, func(tx core.Tx) error {
		if _, err := tx.Ticket(ctx, ticketID); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("ticket of a failed transaction: %v", err)
		}
		if n, err := tx.CountTickets(ctx, core.TicketQuery{}); err != nil || n != 0 {
			t.Errorf("CountTickets = %d, %v; want 0", n, err)
		}
		if es, err := tx.Entries(ctx, ticketID, true); len(es) != 0 {
			t.Errorf("Entries = %d, %v; want none", len(es), err)
		}
		if _, _, err := tx.MessageIDTicket(ctx, "rolled-back@example.com"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("message id of a failed transaction: %v", err)
		}
		if ms, err := tx.PendingMails(ctx, 0, 10); err != nil || len(ms) != 0 {
			t.Errorf("PendingMails = %d, %v; want none", len(ms), err)
		}
		if as, err := tx.Agents(ctx); err != nil || len(as) != 0 {
			t.Errorf("Agents = %d, %v; want none", len(as), err)
		}
		return nil
	})
}

func testViewReadOnly(t *testing.T, st core.Store) {
	ctx := t.Context()
	tk := newTicket(at(0), "alice@example.com")
	err := st.View(ctx, func(tx core.Tx) error { return tx.CreateTicket(ctx, tk) })
	if err == nil {
		t.Errorf("CreateTicket in View: no error")
	}
	err = st.View(ctx, func(tx core.Tx) error {
		tx.CreateTicket(ctx, tk)
		return tx.CreateAgent(ctx, core.Agent{Username: "bob", PasswordHash: []byte("x"), CreatedAt: t0})
	})
	if err == nil {
		t.Errorf("CreateAgent in View: no error")
	}
	assertEmpty(t, st, tk.ID)
}

func testTxAfterReturn(t *testing.T, st core.Store) {
	ctx := t.Context()
	var kept core.Tx
	update(t, st, func(tx core.Tx) error { kept = tx; return nil })
	tk := newTicket(at(0), "alice@example.com")
	if err := kept.CreateTicket(ctx, tk); err == nil {
		t.Errorf("CreateTicket on a Tx after Update returned: no error")
	}
	view(t, st, func(tx core.Tx) error { kept = tx; return nil })
	if _, err := kept.Ticket(ctx, tk.ID); err == nil || errors.Is(err, core.ErrNotFound) {
		t.Errorf("Ticket on a Tx after View returned: %v, want an error other than not found", err)
	}
	var failed core.Tx
	st.Update(ctx, func(tx core.Tx) error { failed = tx; return errTest })
	if err := failed.CreateTicket(ctx, tk); err == nil {
		t.Errorf("CreateTicket on a Tx after a failed Update: no error")
	}
	assertEmpty(t, st, tk.ID)
}

func testContextCancel(t *testing.T, st core.Store) {
	tk := newTicket(at(0), "alice@example.com")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := st.Update(ctx, func(tx core.Tx) error { called = true; return tx.CreateTicket(ctx, tk) })
	if err == nil {
		t.Errorf("Update with a cancelled context: no error (fn called: %v)", called)
	}
	if err := st.View(ctx, func(tx core.Tx) error { _, err := tx.Ticket(ctx, tk.ID); return err }); err == nil {
		t.Errorf("View with a cancelled context: no error")
	}
	// Cancelled while fn runs: nothing is committed, and the error says why.
	ctx, cancel = context.WithCancel(t.Context())
	err = st.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled during fn: %v, want context.Canceled", err)
	}
	assertEmpty(t, st, tk.ID)
	// The store still works afterwards.
	update(t, st, func(tx core.Tx) error { return tx.CreateTicket(t.Context(), tk) })
}

// testDeadlineUnavailable: a transaction whose deadline (a request's time
// budget) ends while it runs fails with core.ErrUnavailable, the error
// that clients get as 503 or 451, and commits nothing, even though its
// statements were given a context without that deadline (core passes its
// caller's). A cancelled caller is not ErrUnavailable.
func testDeadlineUnavailable(t *testing.T, st core.Store) {
	tk := newTicket(at(0), "alice@example.com")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := st.Update(ctx, func(tx core.Tx) error {
		time.Sleep(300 * time.Millisecond) // a slow database
		return tx.CreateTicket(t.Context(), tk)
	})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Update beyond its deadline: %v, want core.ErrUnavailable", err)
	}
	assertEmpty(t, st, tk.ID)
	cctx, ccancel := context.WithCancel(t.Context())
	ccancel()
	if err := st.Update(cctx, func(tx core.Tx) error { return tx.CreateTicket(cctx, tk) }); errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Update of a cancelled caller: %v, want an error that is not core.ErrUnavailable", err)
	}
}

func testViewDuringUpdate(t *testing.T, st core.Store) {
	ctx := t.Context()
	tk := newTicket(at(0), "alice@example.com")
	inside, viewed := make(chan struct{}), make(chan error, 1)
	go func() {
		<-inside
		viewed <- st.View(ctx, func(tx core.Tx) error {
			_, err := tx.Ticket(ctx, tk.ID)
			if !errors.Is(err, core.ErrNotFound) {
				return fmt.Errorf("View saw an uncommitted ticket: %v", err)
			}
			return nil
		})
	}()
	update(t, st, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		close(inside)
		select {
		case err := <-viewed:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("View waited for the Update to finish")
		}
		return nil
	})
}

func testConcurrentUpdates(t *testing.T, st core.Store) {
	ctx := t.Context()
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				tk := newTicket(at(w*each+i), fmt.Sprintf("w%d@example.com", w))
				errs <- st.Update(ctx, func(tx core.Tx) error {
					if err := tx.CreateTicket(ctx, tk); err != nil {
						return err
					}
					return tx.AddEntry(ctx, &core.Entry{TicketID: tk.ID, CreatedAt: tk.CreatedAt, AuthorKind: core.AuthorCustomer, Text: "x"})
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Update: %v", err)
		}
	}
	view(t, st, func(tx core.Tx) error {
		n, err := tx.CountTickets(ctx, core.TicketQuery{})
		if n != workers*each {
			t.Errorf("CountTickets = %d, want %d", n, workers*each)
		}
		ts, err2 := tx.ListTickets(ctx, core.TicketQuery{Customer: "w3@example.com", Limit: 100})
		if len(ts) != each {
			t.Errorf("tickets of worker 3: %d, want %d", len(ts), each)
		}
		return errors.Join(err, err2)
	})
}

func testConcurrentDuplicate(t *testing.T, st core.Store) {
	ctx := t.Context()
	tk := newTicket(at(0), "alice@example.com")
	update(t, st, func(tx core.Tx) error { return tx.CreateTicket(ctx, tk) })
	for round := range 10 {
		msgID := fmt.Sprintf("race-%d@example.com", round)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() {
				<-start
				// Both insert without looking first: the store's unique
				// constraint decides, and the loser's entry is rolled back.
				errs[i] = st.Update(ctx, func(tx core.Tx) error {
					if err := tx.AddEntry(ctx, &core.Entry{TicketID: tk.ID, CreatedAt: at(round), AuthorKind: core.AuthorCustomer,
						Text: msgID, MessageID: msgID}); err != nil {
						return err
					}
					return tx.RememberMessageID(ctx, msgID, tk.ID, true)
				})
			})
		}
		close(start)
		wg.Wait()
		ok, dup := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, core.ErrDuplicate):
				dup++
			default:
				t.Errorf("round %d: %v", round, err)
			}
		}
		if ok != 1 || dup != 1 {
			t.Errorf("round %d: %d succeeded, %d duplicates; want 1 and 1 (%v)", round, ok, dup, errs)
		}
	}
	view(t, st, func(tx core.Tx) error {
		es, err := tx.Entries(ctx, tk.ID, true)
		if len(es) != 10 {
			t.Errorf("entries after the races: %d, want 10", len(es))
		}
		return err
	})
}
