package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"trivialtickets/core"
)

// testTicketPage: core.ReadTicketPage (a store's TicketPageReader, which
// reads the parts together, or the fallback) returns what the separate
// Tx calls return, in a View and in an Update: for a customer with more
// tickets than the page lists, a merged ticket, unassigned tickets and
// tickets assigned to either of two agents, internal entries and
// attachments, closed tickets and another customer's tickets, with and
// without the viewer's session (one that exists and one that does not);
// a ticket that does not exist is ErrNotFound.
func testTicketPage(t *testing.T, st core.Store) {
	ctx := t.Context()
	createAgents(t, st, "alice", "bob")
	const customer = "many@example.com"
	var tks []core.Ticket
	update(t, st, func(tx core.Tx) error {
		tks = nil
		for i := range 14 {
			tk := newTicket(at(i*10), customer)
			tk.Subject = fmt.Sprintf("Request %d", i)
			tk.Assignee = []string{"", "alice", "bob"}[i%3]
			if i%4 == 3 {
				tk.Status = core.StatusClosed
			}
			if err := tx.CreateTicket(ctx, tk); err != nil {
				return err
			}
			tks = append(tks, tk)
		}
		other := newTicket(at(5), "other@example.com")
		if err := tx.CreateTicket(ctx, other); err != nil {
			return err
		}
		for i, tk := range tks {
			// Activity in another order than creation.
			e := core.Entry{TicketID: tk.ID, CreatedAt: at(1000 - i*7%50), AuthorKind: core.AuthorCustomer,
				Author: customer, Text: "customer's words"}
			if i%2 == 0 {
				e.Attachments = []core.Attachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("hello")}}
			}
			if err := tx.AddEntry(ctx, &e); err != nil {
				return err
			}
			note := core.Entry{TicketID: tk.ID, CreatedAt: at(1100 + i), AuthorKind: core.AuthorAgent, Author: "alice",
				Internal: true, Text: "internal note",
				Attachments: []core.Attachment{{Filename: "secret.txt", ContentType: "text/plain", Data: []byte("secret")}}}
			if err := tx.AddEntry(ctx, &note); err != nil {
				return err
			}
		}
		// tks[5] (bob's) merged into tks[2] (bob's).
		merged := tks[5]
		merged.MergedInto, merged.UpdatedAt = tks[2].ID, at(2000)
		if err := tx.UpdateTicket(ctx, merged); err != nil {
			return err
		}
		return tx.CreateSession(ctx, core.Session{TokenHash: "page-session", Username: "bob", CreatedAt: at(0), ExpiresAt: at(5000)})
	})

	list := core.TicketQuery{Sort: core.SortActivity, Limit: core.MaxCustomerTickets}
	queries := map[string]core.TicketPageQuery{
		"agent":       {WithInternal: true, Assignee: true, CustomerTickets: list, MergeCandidates: core.TicketQuery{Limit: 200}},
		"customer":    {Version: true},
		"short lists": {WithInternal: true, Assignee: true, CustomerTickets: core.TicketQuery{Sort: core.SortCreated, Limit: 3}, MergeCandidates: core.TicketQuery{Limit: 2}},
		"everything":  {WithInternal: true, Version: true, Assignee: true, CustomerTickets: list, MergeCandidates: core.TicketQuery{Limit: 200, NotClosed: true}},
		"session":     {WithInternal: true, Assignee: true, CustomerTickets: list, MergeCandidates: core.TicketQuery{Limit: 200}, SessionHash: "page-session"},
		"no session":  {WithInternal: true, Assignee: true, CustomerTickets: list, MergeCandidates: core.TicketQuery{Limit: 200}, SessionHash: "no-such-session"},
	}
	for _, i := range []int{0, 1, 2, 5, 13} { // unassigned, alice's, bob's, merged, the newest
		for name, q := range queries {
			q.ID = tks[i].ID
			what := fmt.Sprintf("ReadTicketPage(%s) of ticket %d", name, i)
			view(t, st, func(tx core.Tx) error {
				comparePage(t, what+" in a View", tx, q)
				return nil
			})
			update(t, st, func(tx core.Tx) error {
				comparePage(t, what+" in an Update", tx, q)
				return nil
			})
		}
	}

	// Merge candidates only where the page wants them.
	q := queries["agent"]
	q.ID = tks[2].ID
	q.WantCandidates = func(p *core.TicketPage) bool { return p.Ticket.Assignee == "alice" }
	view(t, st, func(tx core.Tx) error {
		p, err := core.ReadTicketPage(ctx, tx, q)
		if err != nil {
			return err
		}
		if p.MergeCandidates != nil {
			t.Errorf("ReadTicketPage of bob's ticket, candidates wanted for alice's only: %d candidates, want none", len(p.MergeCandidates))
		}
		return nil
	})
	// The session, for the page that decides by its agent.
	q = queries["session"]
	q.ID = tks[2].ID
	q.WantCandidates = func(p *core.TicketPage) bool {
		return p.SessionAgent != nil && p.SessionAgent.Username == p.Ticket.Assignee
	}
	view(t, st, func(tx core.Tx) error {
		p, err := core.ReadTicketPage(ctx, tx, q)
		if err != nil {
			return err
		}
		if p.Session == nil || p.Session.Username != "bob" || p.SessionAgent == nil || p.SessionAgent.Username != "bob" {
			t.Errorf("ReadTicketPage with bob's session: session %+v, agent %+v", p.Session, p.SessionAgent)
		}
		if len(p.MergeCandidates) == 0 {
			t.Errorf("ReadTicketPage of bob's ticket with bob's session, candidates wanted for the session's agent: none")
		}
		return nil
	})

	view(t, st, func(tx core.Tx) error {
		q := queries["everything"]
		q.ID = core.NewTicketID()
		_, err := core.ReadTicketPage(ctx, tx, q)
		wantErr(t, "ReadTicketPage of a ticket that does not exist", err, core.ErrNotFound)
		q = queries["agent"]
		q.ID, q.CustomerTickets.Search = tks[0].ID, "words"
		_, err = core.ReadTicketPage(ctx, tx, q)
		wantErr(t, "ReadTicketPage with a search", err, core.ErrInvalid)
		return nil
	})
}

// comparePage checks core.ReadTicketPage(q) in tx against the separate
// calls that it stands for.
func comparePage(t *testing.T, what string, tx core.Tx, q core.TicketPageQuery) {
	t.Helper()
	got, err := core.ReadTicketPage(t.Context(), tx, q)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if q.SessionHash != "" && got.Session == nil && got.Ticket.ID == "" {
		// A reader may stop at a session that does not exist.
		if s, err := tx.Session(t.Context(), q.SessionHash); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("%s: no session and nothing else read, but the session is %+v, %v", what, s, err)
		}
		return
	}
	want, err := separatePage(t.Context(), tx, q)
	if err != nil {
		t.Errorf("%s: the separate calls: %v", what, err)
		return
	}
	if len(want.Entries) == 0 || (q.CustomerTickets.Limit > 0 && len(want.CustomerTickets) == 0) {
		t.Fatalf("%s: the test's data has no entries or no other tickets", what)
	}
	for _, p := range []*core.TicketPage{&got, &want} {
		for i := range p.Entries {
			if len(p.Entries[i].Attachments) == 0 {
				p.Entries[i].Attachments = nil
			}
		}
		if len(p.Entries) == 0 {
			p.Entries = nil
		}
		if len(p.CustomerTickets) == 0 {
			p.CustomerTickets = nil
		}
		if len(p.MergeCandidates) == 0 {
			p.MergeCandidates = nil
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// separatePage reads what q asks for with one Tx call each.
func separatePage(ctx context.Context, tx core.Tx, q core.TicketPageQuery) (core.TicketPage, error) {
	var p core.TicketPage
	var err error
	if q.SessionHash != "" {
		sess, err := tx.Session(ctx, q.SessionHash)
		switch {
		case err == nil:
			a, err := tx.Agent(ctx, sess.Username)
			if err != nil {
				return p, err
			}
			p.Session, p.SessionAgent = &sess, &a
		case !errors.Is(err, core.ErrNotFound):
			return p, err
		}
	}
	if p.Ticket, err = tx.Ticket(ctx, q.ID); err != nil {
		return p, err
	}
	tk := p.Ticket
	if p.Entries, err = tx.Entries(ctx, q.ID, q.WithInternal); err != nil {
		return p, err
	}
	if q.Version {
		if p.Version, err = tx.TicketVersion(ctx, q.ID); err != nil {
			return p, err
		}
	}
	if q.Assignee && tk.Assignee != "" {
		a, err := tx.Agent(ctx, tk.Assignee)
		if err != nil {
			return p, err
		}
		p.Assignee = &a
	}
	if q.CustomerTickets.Limit > 0 {
		lq := q.CustomerTickets
		lq.Customer, lq.Exclude = tk.Customer, tk.ID
		if p.CustomerTickets, err = tx.ListTickets(ctx, lq); err != nil {
			return p, err
		}
	}
	if q.MergeCandidates.Limit > 0 {
		lq := q.MergeCandidates
		lq.Customer, lq.Exclude, lq.Assignee, lq.Unassigned = tk.Customer, tk.ID, tk.Assignee, tk.Assignee == ""
		if p.MergeCandidates, err = tx.ListTickets(ctx, lq); err != nil {
			return p, err
		}
	}
	return p, nil
}
