package storetest

import (
	"reflect"
	"slices"
	"time"

	"trivialtickets/core"
)

// svcWorkspace: Workspace reads the same lists, counts, view counts and
// agents as the reads of their own, for the views, a status the view does
// not hold, a later page and a search.
func svcWorkspace(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.agent("carol", true)
	var ids []string
	for i := range 7 {
		ids = append(ids, e.newTicket([]string{"Printer jam", "Scanner broken", "Printer toner"}[i%3]))
	}
	e.must("assign", e.svc.Assign(ctx, "bob", ids[0], "bob"))
	e.must("assign", e.svc.Assign(ctx, "bob", ids[1], "bob"))
	e.must("close", e.svc.Save(ctx, "bob", ids[1], core.Change{Status: core.StatusClosed}))
	e.clock.Advance(time.Minute)

	mine := core.ViewMine.Query("bob")
	closedMine := mine
	closedMine.Status, closedMine.NotClosed = core.StatusClosed, false
	page2 := core.TicketQuery{Limit: 3, Offset: 3}
	found := core.TicketQuery{Search: "printer", Viewer: "bob"}
	for _, search := range []string{"", "printer"} {
		wq := core.WorkspaceQuery{Lists: []core.TicketQuery{mine, page2, found}, Counts: []core.TicketQuery{closedMine, found},
			ViewCounts: true, Viewer: "bob", Search: search}
		w, err := e.svc.Workspace(ctx, wq)
		e.must("Workspace", err)
		for i, q := range wq.Lists {
			l, err := e.svc.ListTickets(ctx, q)
			e.must("ListTickets", err)
			if !reflect.DeepEqual(w.Lists[i], l) {
				t.Errorf("Workspace list %d = %+v, want %+v", i, w.Lists[i], l)
			}
		}
		for i, q := range wq.Counts {
			q.Limit = 1
			l, err := e.svc.ListTickets(ctx, q)
			e.must("ListTickets", err)
			if c := (core.Count{N: l.Total, More: l.More}); w.Counts[i] != c {
				t.Errorf("Workspace count %d = %+v, want %+v", i, w.Counts[i], c)
			}
		}
		vc, err := e.svc.ViewCounts(ctx, "bob", search)
		e.must("ViewCounts", err)
		if !reflect.DeepEqual(w.ViewCounts, vc) {
			t.Errorf("Workspace view counts (search %q) = %+v, want %+v", search, w.ViewCounts, vc)
		}
		as, err := e.svc.Agents(ctx)
		e.must("Agents", err)
		if !reflect.DeepEqual(w.Agents, as) {
			t.Errorf("Workspace agents = %+v, want %+v", w.Agents, as)
		}
	}
	if w, err := e.svc.Workspace(ctx, core.WorkspaceQuery{Counts: []core.TicketQuery{closedMine}}); err != nil ||
		len(w.Counts) != 1 || w.Counts[0].N != 1 || w.ViewCounts != nil || len(w.Lists) != 0 {
		t.Errorf("Workspace of one count = %+v, %v; want 1 closed ticket of bob's and nothing else", w, err)
	}
	_, err := e.svc.Workspace(ctx, core.WorkspaceQuery{ViewCounts: true, Search: "printer"})
	wantErr(t, "Workspace search without a viewer", err, core.ErrForbidden)
	_, err = e.svc.Workspace(ctx, core.WorkspaceQuery{Lists: []core.TicketQuery{{Search: "printer", Viewer: "nobody"}}})
	wantErr(t, "Workspace search by an unknown agent", err, core.ErrNotFound)
	if !slices.Equal(core.ViewAll.Statuses(), core.Statuses) || slices.Contains(core.ViewMine.Statuses(), core.StatusClosed) {
		t.Errorf("view statuses: all %v, mine %v", core.ViewAll.Statuses(), core.ViewMine.Statuses())
	}
}
