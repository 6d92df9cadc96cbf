package storetest

import (
	"fmt"
	"strings"

	"trivialtickets/core"
)

// svcBounceReturnedHeader: a bounce of a mail that did not carry our
// Message-ID (an agent's own mail client sent it) threads to the ticket
// named by the returned header's subject tag or a plus-address of ours, as
// an internal entry that nothing answers; without either it opens a ticket
// of its own as before.
func svcBounceReturnedHeader(e *env) {
	t := e.t
	id := e.newTicket("Printer")
	before := len(e.pending())
	dsn := func(n string, subject string, addrs ...string) core.InboundMessage {
		return core.InboundMessage{Door: core.DoorSMTP, From: "MAILER-DAEMON@mx.example.com", NullSender: true,
			Recipients: []string{supportAddr}, Subject: "Undelivered Mail Returned to Sender", MessageID: "dsn-" + n + "@mx.example.com",
			Text: "Status: 5.1.1", InReplyTo: []string{"not-ours-" + n + "@agents.example.com"}, Bounce: true,
			ReturnedSubject: subject, ReturnedAddresses: addrs}
	}
	for _, m := range []core.InboundMessage{
		dsn("tag", core.Tag(id)+" Printer", "agent@agents.example.com", "gone@example.net"),
		dsn("plus", "Re: Printer", "agent@agents.example.com", strings.Replace(supportAddr, "@", "+"+id+"@", 1)),
	} {
		res := e.receive(m)
		if res.TicketID != id || res.Created || res.Automatic == "" {
			t.Errorf("%s: %+v, want an automatic entry on %s", m.MessageID, res, id)
		}
	}
	es := e.entries(id, true)
	if len(es) != 3 || !es[1].Internal || !es[2].Internal {
		t.Errorf("entries %q, want the two bounces as internal entries", texts(es))
	}
	if n := len(e.pending()); n != before {
		t.Errorf("outbox grew from %d to %d: a bounce was answered", before, n)
	}
	// A tag or plus-address in the bounce's returned header counts only
	// for bounces, and an unknown ticket threads nowhere.
	res := e.receive(dsn("unknown", `[Ticket "zzzzzzzzzzzzzzzz"] Other`, "gone@example.net"))
	if !res.Created {
		t.Errorf("bounce naming no ticket of ours: %+v, want a ticket of its own", res)
	}
	m := mail("Forwarded", "not a bounce")
	m.ReturnedSubject = core.Tag(id) + " Printer"
	if res := e.receive(m); !res.Created {
		t.Errorf("no bounce with a returned subject: %+v, want a new ticket", res)
	}
}

// svcPersonalMail: an agent's written answer is queued as personal mail
// (it goes out without Auto-Submitted); the confirmation, the assignment
// notice and a change of status alone are not.
func svcPersonalMail(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	id := e.newTicket("Printer")
	e.must("assign", e.svc.Assign(ctx, "bob", id, "bob"))
	e.must("answer", e.svc.Save(ctx, "bob", id, core.Change{External: true, Comment: "We sent a technician."}))
	e.must("close", e.svc.Save(ctx, "bob", id, core.Change{External: true, Status: core.StatusClosed}))
	var got []bool
	for _, m := range e.pending() {
		got = append(got, m.Personal)
	}
	if want := []bool{false, false, true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Personal of confirmation, assignment, answer, status change = %v, want %v", got, want)
	}
}

// svcMailboxes: a ticket that comes in on a [[mailbox]] address keeps it
// (stored), shows the mailbox's name, and its mail (to the customer and to
// agents) leaves from that address with plus-addresses made from it; a
// ticket on the plain support address keeps the defaults.
func svcMailboxes(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agentsByMail()
	m := mail("Quote", "A quote, please.")
	m.Recipients = []string{"Sales+whatever@Help.example"}
	id := e.receive(m).TicketID
	if tk := e.ticket(id); tk.Mailbox != "sales@help.example" {
		t.Errorf("ticket mailbox = %q", tk.Mailbox)
	}
	v, err := e.svc.ViewTicket(ctx, &core.Agent{Username: "bob"}, id)
	if err != nil || v.MailboxName != "Sales" {
		t.Errorf("view: mailbox name %q, %v", v.MailboxName, err)
	}
	ms := e.pending()
	if len(ms) != 3 {
		t.Fatalf("outbox: %+v", ms)
	}
	for _, om := range ms {
		if om.From != "sales@help.example" || !strings.HasPrefix(om.ReplyTo, "sales+"+id) {
			t.Errorf("mail to %s leaves from %s with Reply-To %s, want the Sales mailbox", om.To, om.From, om.ReplyTo)
		}
	}
	// The customer answers the plus-address; the agent answers by mail.
	r := mail("Re: Quote", "How much?")
	r.Recipients = []string{ms[0].ReplyTo}
	if res := e.receive(r); res.TicketID != id {
		t.Errorf("reply to the Sales plus-address: %+v", res)
	}
	var signed string
	for _, om := range ms {
		if om.To == "bob@agents.example" {
			signed = om.ReplyTo
		}
	}
	a := mail("Re: Quote", "Ten euros.")
	a.From, a.Recipients = "bob@agents.example", []string{signed}
	e.must("assign", e.svc.Assign(ctx, "bob", id, "bob"))
	before := len(e.pending())
	e.receive(a)
	if out := e.pending()[before:]; len(out) != 1 || out[0].From != "sales@help.example" || !out[0].Personal {
		t.Errorf("bob's answer by mail: %+v", out)
	}
	// The default support address keeps the default From.
	other := e.newTicket("Printer")
	if tk := e.ticket(other); tk.Mailbox != "" {
		t.Errorf("ticket on the support address has mailbox %q", tk.Mailbox)
	}
	for _, om := range e.pending() {
		if om.TicketID == other && (om.From != supportAddr || !strings.HasPrefix(om.ReplyTo, "support+")) {
			t.Errorf("default ticket's mail leaves from %s, Reply-To %s", om.From, om.ReplyTo)
		}
	}
}

// svcLegacyTicketID: a ticket whose id an earlier version made (16 random
// characters, before ids began with a clock part) still opens by its link
// and still takes the customer's replies by tag and by plus-address.
func svcLegacyTicketID(e *env) {
	t, ctx := e.t, e.t.Context()
	old := newTicket(e.clock.Now(), "alice@example.com")
	old.ID = "abcdefghijklmnop"
	update(t, e.st, func(tx core.Tx) error { return tx.CreateTicket(ctx, old) })
	if v, err := e.svc.ViewTicket(ctx, nil, old.ID); err != nil || v.Ticket.ID != old.ID {
		t.Fatalf("ViewTicket(%q) = %+v, %v; want the ticket", old.ID, v.Ticket, err)
	}
	byPlus := mail("Re: Subject", "by plus-address")
	byPlus.Recipients = []string{strings.Replace(supportAddr, "@", "+"+old.ID+"@", 1)}
	for _, m := range []core.InboundMessage{mail("Re: "+core.Tag(old.ID)+" Subject", "by tag"), byPlus} {
		if res := e.receive(m); res.TicketID != old.ID || res.Created {
			t.Errorf("reply %q: %+v, want an entry on %s", m.Text, res, old.ID)
		}
	}
	if es := e.entries(old.ID, false); len(es) != 2 {
		t.Errorf("entries of %s: %q, want both replies", old.ID, texts(es))
	}
	if id := e.newTicket("New"); len(id) != core.TicketIDLength || id == old.ID {
		t.Errorf("new ticket's id %q: want one of %d characters", id, core.TicketIDLength)
	}
}
