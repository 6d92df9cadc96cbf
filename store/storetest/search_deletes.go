package storetest

import (
	"context"
	"slices"
	"testing"

	"trivialtickets/core"
)

// RawDeleter deletes rows behind core's back, as retention and customer
// erasure do, so that SearchFollowsDeletes can check that the search index
// follows. Each method runs in a transaction of its own.
type RawDeleter struct {
	// DeleteEntry deletes the entries of the ticket with this text.
	DeleteEntry func(ctx context.Context, ticketID, text string) error
	// DeleteTicket deletes a ticket (its entries go with it).
	DeleteTicket func(ctx context.Context, id string) error
	// IndexRows counts the rows of the search index.
	IndexRows func(ctx context.Context) (int, error)
}

// SearchFollowsDeletes checks that deleting an entry takes its words out of
// the search index and its time out of the ticket's last activity, and that
// deleting a ticket removes its row from the index and it from the counts.
func SearchFollowsDeletes(t *testing.T, open func(*testing.T) core.Store, del RawDeleter) {
	e := newEnv(t, open, core.Config{})
	ctx := t.Context()
	e.agent("bob", false)
	keep := e.newTicket("Printer")
	gone := e.newTicket("Scanner")
	e.receive(mail(`[Ticket "`+keep+`"]`, "Geheimnis 秘密の話"))
	if got := e.search("geheimnis"); !slices.Equal(got, []string{keep}) {
		t.Fatalf("search before the delete = %v", got)
	}
	rows, err := del.IndexRows(ctx)
	e.must("IndexRows", err)
	before := e.ticket(keep)

	e.must("DeleteEntry", del.DeleteEntry(ctx, keep, "Geheimnis 秘密の話"))
	for _, q := range []string{"geheimnis", "秘密"} {
		if got := e.search(q); len(got) != 0 {
			t.Errorf("search %q after its entry was deleted = %v", q, got)
		}
	}
	if got := e.search("printer"); !slices.Equal(got, []string{keep}) {
		t.Errorf("search for the ticket's other words = %v", got)
	}
	after := e.ticket(keep)
	if !after.ActivityAt.Before(before.ActivityAt) || !after.CustomerAt.Equal(after.ActivityAt) {
		t.Errorf("last activity after the delete: %v (was %v), customer %v", after.ActivityAt, before.ActivityAt, after.CustomerAt)
	}

	countAll := func() int {
		vcs, err := e.svc.ViewCounts(ctx, "bob", "")
		e.must("ViewCounts", err)
		return vcs[2].Total.N
	}
	all := countAll()
	e.must("DeleteTicket", del.DeleteTicket(ctx, gone))
	if n := countAll(); n != all-1 {
		t.Errorf("tickets counted after deleting one: %d, want %d", n, all-1)
	}
	if got := e.search("scanner"); len(got) != 0 {
		t.Errorf("search for a deleted ticket = %v", got)
	}
	n, err := del.IndexRows(ctx)
	e.must("IndexRows", err)
	if n != rows-1 {
		t.Errorf("index rows after deleting a ticket: %d, want %d", n, rows-1)
	}
}
