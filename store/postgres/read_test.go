package postgres

import (
	"fmt"
	"testing"
	"time"

	"trivialtickets/core"
)

// idle waits until no connection of st's pool is in use: a View's
// ROLLBACK is answered after View returns.
func idle(t *testing.T, st *Store) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); st.pool.Stat().AcquiredConns() > 0; {
		if time.Now().After(deadline) {
			t.Fatal("a connection stayed in use 5 s after the transactions ended")
		}
		time.Sleep(time.Millisecond)
	}
}

// secondRun runs f once to prepare its statements on the connection, then
// again, and returns the second run's result and its round trips, counted
// once no connection is in use (a View's ROLLBACK is answered after it
// returns).
func secondRun[T any](t *testing.T, st *Store, rt *roundTrips, f func() T) (T, int64) {
	t.Helper()
	f()
	idle(t, st)
	before := rt.n.Load()
	v := f()
	idle(t, st)
	return v, rt.n.Load() - before
}

// TestAllTicketsRoundTrips: an agent's All Tickets page reads its session
// in one round trip, and its agents, its page of tickets, their count and
// the nine view counts in three (BEGIN with the agents, the list with the
// sums of ticket_counts, ROLLBACK), where it took ten: a View each for the
// session (three), the view counts (two), the list (three) and the agents
// (two). The figures are the same as read one by one.
func TestAllTicketsRoundTrips(t *testing.T) {
	t.Parallel()
	st, rt, svc := tracedService(t)
	ctx := t.Context()
	if err := svc.AddAgent(ctx, "alice", "Alice", "password-alice"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		res, err := svc.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: fmt.Sprintf("c%d@example.com", i), Subject: "Printer", Text: "It jams."})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.TicketID)
	}
	if err := svc.Assign(ctx, "alice", ids[0], "alice"); err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.Login(ctx, "alice", "password-alice", "")
	if err != nil {
		t.Fatal(err)
	}
	page := func() core.Workspace {
		t.Helper()
		if _, err := svc.SessionAgent(ctx, token); err != nil {
			t.Fatal(err)
		}
		q := core.ViewAll.Query("alice")
		q.Viewer, q.Sort = "alice", core.SortActivity
		w, err := svc.Workspace(ctx, core.WorkspaceQuery{Lists: []core.TicketQuery{q}, ViewCounts: true, Viewer: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w, got := secondRun(t, st, rt, page)
	if got != 4 {
		t.Errorf("All Tickets took %d round trips, want 4", got)
	}
	if l := w.Lists[0]; len(l.Tickets) != 3 || l.Total != 3 {
		t.Errorf("list: %d tickets of %d, want 3 of 3", len(l.Tickets), l.Total)
	}
	want := map[core.View]int{core.ViewMine: 1, core.ViewUnassigned: 2, core.ViewAll: 3}
	for _, vc := range w.ViewCounts {
		if vc.Total.N != want[vc.View] || vc.ByStatus[core.StatusOpen].N+vc.ByStatus[core.StatusInProgress].N != want[vc.View] {
			t.Errorf("count of %s: %+v, want %d", vc.View, vc, want[vc.View])
		}
	}
}

// TestTicketViewRoundTrips counts what a ticket page costs: the agent's
// page reads the ticket, its entries and their attachments, the assignee,
// the customer's other tickets and the merge candidates in one batch with
// BEGIN (core.TicketPageReader), where it took five round trips; the
// customer's reads the ticket, its entries and its version in one, where
// it took three; the page as GET /ticket reads it for an agent
// (ViewTicketAs) has the session in the same batch, where it took a
// round trip of its own before. The ROLLBACK is not waited for but
// counted once it is answered.
func TestTicketViewRoundTrips(t *testing.T) {
	t.Parallel()
	st, rt, svc := tracedService(t)
	ctx := t.Context()
	if err := svc.AddAgent(ctx, "alice", "Alice", "password-alice"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		res, err := svc.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: "c@example.com", Subject: fmt.Sprintf("Printer %d", i), Text: "It jams.",
			Attachments: []core.Attachment{{Filename: "jam.txt", ContentType: "text/plain", Data: []byte("paper")}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.TicketID)
	}
	for _, id := range ids[:2] {
		if err := svc.Assign(ctx, "alice", id, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	alice, err := svc.Agent(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.Login(ctx, "alice", "password-alice", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		viewer *core.Agent
		token  string // the page as GET /ticket reads it, with the session
		want   int
	}{{"agent", &alice, "", 2}, {"customer", nil, "", 2}, {"agent with the session", &alice, token, 2}} {
		view := func() core.TicketView {
			t.Helper()
			if c.token != "" {
				v, a, err := svc.ViewTicketAs(ctx, c.token, ids[0])
				if err != nil {
					t.Fatal(err)
				}
				if a == nil || a.Username != "alice" {
					t.Fatalf("ViewTicketAs with alice's session: viewer %+v", a)
				}
				return v
			}
			v, err := svc.ViewTicket(ctx, c.viewer, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		v, got := secondRun(t, st, rt, view)
		if got != int64(c.want) {
			t.Errorf("the %s's ticket page took %d round trips, want %d", c.name, got, c.want)
		}
		if len(v.Entries) == 0 || len(v.Entries[0].Attachments) != 1 {
			t.Errorf("%s's ticket view: %d entries; want the first with its attachment", c.name, len(v.Entries))
		}
		if c.viewer != nil && (v.Assignee == nil || len(v.CustomerTickets) != 2 || len(v.MergeCandidates) != 1) {
			t.Errorf("agent's ticket view: assignee %v, %d other tickets, %d merge candidates; want alice, 2 and 1",
				v.Assignee, len(v.CustomerTickets), len(v.MergeCandidates))
		}
		if c.viewer == nil && v.Version == 0 {
			t.Error("customer's ticket view has no version")
		}
	}
}

// TestPageListsSQL: a ticket page's two lists are read with one statement
// exactly when they ask for the same tickets but for the assignee and the
// customer's list is not longer than the candidates'.
func TestPageListsSQL(t *testing.T) {
	list := core.TicketQuery{Sort: core.SortActivity, Limit: core.MaxCustomerTickets}
	for _, c := range []struct {
		name        string
		list, cands core.TicketQuery
		want        bool
	}{
		{"the agent's page", list, core.TicketQuery{Limit: 200}, true},
		{"equal limits", list, core.TicketQuery{Limit: core.MaxCustomerTickets}, true},
		{"both by creation", core.TicketQuery{Sort: core.SortCreated, Limit: 3}, core.TicketQuery{Sort: core.SortCreated, Limit: 5}, true},
		{"candidates fewer", list, core.TicketQuery{Limit: 2}, false},
		{"another order", core.TicketQuery{Sort: core.SortCreated, Limit: 3}, core.TicketQuery{Limit: 200}, false},
		{"another filter", list, core.TicketQuery{Limit: 200, NotClosed: true}, false},
		{"an offset", list, core.TicketQuery{Limit: 200, Offset: 1}, false},
		{"no customer's list", core.TicketQuery{}, core.TicketQuery{Limit: 200}, false},
	} {
		_, _, ok := pageListsSQL(core.TicketPageQuery{ID: "x", CustomerTickets: c.list, MergeCandidates: c.cands})
		if ok != c.want {
			t.Errorf("%s: one statement %v, want %v", c.name, ok, c.want)
		}
	}
}

// TestMergeLists: the customer's list from the two halves of pageListsSQL
// is the first of both in list order, ties broken by the id.
func TestMergeLists(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	tk := func(id string, activity, created int) core.Ticket {
		return core.Ticket{ID: id, ActivityAt: at(activity), CreatedAt: at(created)}
	}
	same := []core.Ticket{tk("b", 9, 1), tk("d", 5, 4), tk("a", 5, 2)}
	other := []core.Ticket{tk("c", 7, 3), tk("e", 5, 5)}
	ids := func(ts []core.Ticket) string {
		var s string
		for _, t := range ts {
			s += t.ID
		}
		return s
	}
	if got := ids(mergeLists(same, other, 4, core.SortActivity)); got != "bced" {
		t.Errorf("by activity, 4: %s, want bced", got)
	}
	if got := ids(mergeLists(same, other, 10, core.SortActivity)); got != "bceda" {
		t.Errorf("by activity, all: %s, want bceda", got)
	}
	if got := ids(mergeLists(same[:0], other, 10, core.SortActivity)); got != "ce" {
		t.Errorf("no candidates: %s, want ce", got)
	}
	byCreation := []core.Ticket{tk("d", 5, 4), tk("a", 5, 2), tk("b", 9, 1)}
	if got := ids(mergeLists(byCreation, []core.Ticket{tk("e", 5, 5), tk("c", 7, 3)}, 3, core.SortCreated)); got != "edc" {
		t.Errorf("by creation: %s, want edc", got)
	}
}
