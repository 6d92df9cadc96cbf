package storetest

import (
	"slices"
	"time"

	"trivialtickets/core"
)

// svcSearchAfterEveryChange searches after every kind of change of a
// ticket's words: a new ticket, a mail answer (with characters a store may
// leave to SQL), an agent's note and answer, a customer's comment, status
// and assignment (no change of words), a transaction that creates a ticket,
// adds entries, deletes one of them and adds another, an entry deleted on
// its own, a merge, an erasure and retention. Stores that index words as
// they are written and rebuild them when words go (PostgreSQL) must find
// exactly what a rebuild would.
func svcSearchAfterEveryChange(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	check := func(step string, want map[string][]string) {
		t.Helper()
		for _, q := range slices.Sorted(func(yield func(string) bool) {
			for q := range want {
				if !yield(q) {
					return
				}
			}
		}) {
			if got := e.search(q); !slices.Equal(got, want[q]) {
				t.Errorf("after %s: search %q = %v, want %v", step, q, got, want[q])
			}
		}
	}

	a := e.receive(mail("Kaffeemaschine defekt", "Wasser läuft aus, 水漏れです。")).TicketID
	check("a new ticket", map[string][]string{"kaffeemaschine": {a}, "läuft": {a}, "水漏": {a}, "alice": {a}, a: {a}})

	e.receive(mail(core.Tag(a)+" Kaffeemaschine defekt", "Entkalker hilft nicht 😀 Ωmega, 5 €"))
	check("a mail answer", map[string][]string{"entkalker": {a}, "ωmega": {a}, "kaffeemaschine": {a}, "水漏": {a}})

	e.must("note", e.svc.Save(ctx, "bob", a, core.Change{Comment: "Ersatzteil bestellt"}))
	e.must("answer", e.svc.Save(ctx, "bob", a, core.Change{Comment: "Techniker kommt morgen", External: true}))
	_, err := e.svc.CustomerComment(ctx, a, "Danke für die schnelle Hilfe")
	e.must("comment", err)
	check("a note, an answer and a comment", map[string][]string{"ersatzteil": {a}, "techniker": {a}, "schnelle": {a}, "entkalker": {a}})

	e.must("take", e.svc.Assign(ctx, "bob", a, "bob"))
	e.must("close", e.svc.Save(ctx, "bob", a, core.Change{Status: core.StatusClosed}))
	e.must("reopen", e.svc.Save(ctx, "bob", a, core.Change{Status: core.StatusInProgress}))
	check("assignment and status", map[string][]string{"kaffeemaschine": {a}, "techniker": {a}, "bob": nil})

	// One transaction that adds words and takes some away again.
	b := newTicket(e.clock.Now(), "dora@example.org")
	b.Subject = "Drucker Papierstau"
	update(t, e.st, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, b); err != nil {
			return err
		}
		for _, text := range []string{"Papier klemmt in Fach 2", "Rolle tauschen"} {
			if err := tx.AddEntry(ctx, &core.Entry{TicketID: b.ID, CreatedAt: e.clock.Now(), AuthorKind: core.AuthorCustomer, Text: text}); err != nil {
				return err
			}
		}
		es, err := tx.Entries(ctx, b.ID, true)
		if err != nil {
			return err
		}
		if _, err := tx.DeleteEntries(ctx, []int64{es[len(es)-1].ID}); err != nil {
			return err
		}
		return tx.AddEntry(ctx, &core.Entry{TicketID: b.ID, CreatedAt: e.clock.Now(), AuthorKind: core.AuthorAgent, Author: "bob", Text: "Walze reinigen"})
	})
	check("a transaction that adds and deletes", map[string][]string{"papierstau": {b.ID}, "klemmt": {b.ID}, "rolle": nil, "walze": {b.ID}, "dora": {b.ID}})

	// An entry deleted on its own (what erasure does to others' tickets).
	es := e.entries(a, true)
	i := slices.IndexFunc(es, func(x core.Entry) bool { return x.Text == "Entkalker hilft nicht 😀 Ωmega, 5 €" })
	if i < 0 {
		t.Fatalf("the mail answer is not among the entries of %s", a)
	}
	update(t, e.st, func(tx core.Tx) error {
		_, err := tx.DeleteEntries(ctx, []int64{es[i].ID})
		return err
	})
	check("an entry delete", map[string][]string{"entkalker": nil, "ωmega": nil, "kaffeemaschine": {a}, "techniker": {a}})

	// A merge moves the words to the target.
	c := e.newTicket("Espresso bitter")
	e.must("take", e.svc.Assign(ctx, "bob", c, "bob"))
	e.must("merge", e.svc.Save(ctx, "bob", a, core.Change{MergeInto: c}))
	check("a merge", map[string][]string{"techniker": {c}, "schnelle": {c}, "espresso": {c}, "水漏": {c}, a: nil})

	// Erasure and retention take tickets and their words away.
	erin := mail("Geheimwort vergessen", "Mein Geheimwort ist weg")
	erin.From, erin.FromName = "erin@example.org", "Erin"
	d := e.receive(erin).TicketID
	check("another new ticket", map[string][]string{"geheimwort": {d}})
	_, err = e.svc.EraseCustomer(ctx, "erin@example.org")
	e.must("erase", err)
	check("an erasure", map[string][]string{"geheimwort": nil, "erin": nil, "espresso": {c}})

	e.must("close", e.svc.Save(ctx, "bob", b.ID, core.Change{Status: core.StatusClosed}))
	e.clock.Advance(31 * 24 * time.Hour)
	e.receive(mail(core.Tag(c)+" Espresso bitter", "Immer noch bitter"))
	_, err = e.svc.DeleteExpired(ctx, 30*24*time.Hour)
	e.must("DeleteExpired", err)
	check("retention", map[string][]string{"walze": nil, "papierstau": nil, "immer": {c}, "espresso": {c}})
}
