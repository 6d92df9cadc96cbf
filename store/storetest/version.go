package storetest

import (
	"time"

	"trivialtickets/core"
)

// version reads ticket id's version both ways, through the store's
// one-statement read (Service.TicketVersion) and through Tx in a View, and
// fails the test when they differ.
func (e *env) version(id string) int64 {
	e.t.Helper()
	ctx := e.t.Context()
	v, err := e.svc.TicketVersion(ctx, id)
	if err != nil {
		e.t.Fatalf("TicketVersion(%s): %v", id, err)
	}
	var inTx int64
	view(e.t, e.st, func(tx core.Tx) error {
		var err error
		inTx, err = tx.TicketVersion(ctx, id)
		return err
	})
	if inTx != v {
		e.t.Fatalf("TicketVersion(%s): %d outside a transaction, %d in a View", id, v, inTx)
	}
	return v
}

// bumps runs fn and fails the test unless it raised the version of every
// ticket in ids.
func (e *env) bumps(what string, fn func() error, ids ...string) {
	e.t.Helper()
	before := make([]int64, len(ids))
	for i, id := range ids {
		before[i] = e.version(id)
	}
	e.must(what, fn())
	for i, id := range ids {
		if after := e.version(id); after <= before[i] {
			e.t.Errorf("%s: version of %s went from %d to %d; the customer's cached page would stay stale", what, id, before[i], after)
		}
	}
}

// svcTicketVersion: every change of what a ticket's page shows raises the
// ticket's version in the same transaction, whoever makes it; reading
// leaves it alone; a deleted ticket has none.
func svcTicketVersion(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.agent("carol", false)
	id := e.newTicket("Printer")
	other := e.newTicket("Scanner")

	v := e.version(id)
	view(t, e.st, func(tx core.Tx) error {
		_, err := tx.TicketVersion(ctx, "aaaaaaaaaaaaaaaa")
		wantErr(t, "Tx.TicketVersion of an unknown ticket", err, core.ErrNotFound)
		return nil
	})
	_, err := e.svc.TicketVersion(ctx, "aaaaaaaaaaaaaaaa")
	wantErr(t, "TicketVersion of an unknown ticket", err, core.ErrNotFound)
	_, err = e.svc.TicketVersion(ctx, "not an id")
	wantErr(t, "TicketVersion of a malformed id", err, core.ErrNotFound)

	// Reading changes nothing, and the customer's view carries the
	// version it was read at.
	cv, err := e.svc.ViewTicket(ctx, nil, id)
	e.must("customer's view", err)
	_, err = e.svc.ViewTicket(ctx, &core.Agent{Username: "carol"}, id)
	e.must("agent's view", err)
	_, err = e.svc.ListTickets(ctx, core.TicketQuery{Limit: 10})
	e.must("list", err)
	e.entries(id, true)
	if now := e.version(id); now != v || cv.Version != v {
		t.Errorf("reading: version %d before, %d after, %d in the customer's view", v, now, cv.Version)
	}

	e.bumps("answer by mail", func() error {
		_, err := e.svc.Receive(ctx, mail(core.Tag(id)+" Printer", "It still jams."))
		return err
	}, id)
	e.bumps("agent's external reply", func() error {
		return e.svc.Save(ctx, "bob", id, core.Change{Comment: "We sent a technician.", External: true})
	}, id)
	e.bumps("internal note", func() error {
		return e.svc.Save(ctx, "bob", id, core.Change{Comment: "Fuser again."})
	}, id)
	e.bumps("status change", func() error {
		return e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusInProgress})
	}, id)
	e.bumps("hand over", func() error { return e.svc.Assign(ctx, "bob", id, "carol") }, id)
	e.bumps("release", func() error { return e.svc.Release(ctx, "carol", id) }, id)
	e.bumps("assign", func() error { return e.svc.Assign(ctx, "bob", id, "bob") }, id)
	e.bumps("customer's comment", func() error { return comment(ctx, e, id, "Thanks!") }, id)
	e.bumps("attachment by mail", func() error {
		m := mail(core.Tag(id)+" Printer", "A photo.")
		m.Attachments = []core.Attachment{{Filename: "jam.jpg", ContentType: "image/jpeg", Data: []byte("JPEG")}}
		_, err := e.svc.Receive(ctx, m)
		return err
	}, id)
	e.must("take the other", e.svc.Save(ctx, "bob", other, core.Change{Status: core.StatusInProgress}))
	e.bumps("merge", func() error {
		return e.svc.Save(ctx, "bob", id, core.Change{MergeInto: other})
	}, id, other)

	// A store-level entry delete (what erasure does) on its own.
	es := e.entries(other, true)
	e.bumps("entry delete", func() error {
		return e.st.Update(ctx, func(tx core.Tx) error {
			_, err := tx.DeleteEntries(ctx, []int64{es[len(es)-1].ID})
			return err
		})
	}, other)

	// Retention deletes the ticket: no version is left to match a cached
	// page.
	old := e.newTicket("Old")
	e.must("close", e.svc.Save(ctx, "bob", old, core.Change{Status: core.StatusClosed}))
	e.clock.Advance(40 * 24 * time.Hour)
	_, err = e.svc.DeleteExpired(ctx, 30*24*time.Hour)
	e.must("DeleteExpired", err)
	_, err = e.svc.TicketVersion(ctx, old)
	wantErr(t, "TicketVersion after retention", err, core.ErrNotFound)

	// Erasing alice deletes her entry on carol's ticket (a new version)
	// and her own tickets (none).
	c := mail("Carol's printer", "Carol's text.")
	c.From, c.FromName = "carol@example.net", "Carol"
	carol := e.receive(c).TicketID
	e.receive(mail(core.Tag(carol)+" Carol's printer", "Alice writes on Carol's ticket."))
	e.bumps("customer erase", func() error {
		_, err := e.svc.EraseCustomer(ctx, "alice@example.com")
		return err
	}, carol)
	_, err = e.svc.TicketVersion(ctx, id)
	wantErr(t, "TicketVersion after erasure", err, core.ErrNotFound)
}
