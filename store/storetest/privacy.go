package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"trivialtickets/core"
)

// gone checks that ticket id and everything of it left the store.
func (e *env) gone(id string, msgIDs []string, attachments []int64) {
	e.t.Helper()
	ctx := e.t.Context()
	view(e.t, e.st, func(tx core.Tx) error {
		_, err := tx.Ticket(ctx, id)
		wantErr(e.t, "deleted ticket "+id, err, core.ErrNotFound)
		if es, err := tx.Entries(ctx, id, true); err != nil || len(es) != 0 {
			e.t.Errorf("entries of deleted ticket %s: %d, %v", id, len(es), err)
		}
		for _, m := range msgIDs {
			_, _, err := tx.MessageIDTicket(ctx, m)
			wantErr(e.t, "Message-ID "+m+" of deleted ticket", err, core.ErrNotFound)
		}
		for _, a := range attachments {
			_, _, err := tx.Attachment(ctx, a)
			wantErr(e.t, fmt.Sprintf("attachment %d of deleted ticket", a), err, core.ErrNotFound)
		}
		ms, err := tx.PendingMails(ctx, 0, 10000)
		if slices.ContainsFunc(ms, func(m core.OutMail) bool { return m.TicketID == id }) {
			e.t.Errorf("outbox still holds mail of deleted ticket %s", id)
		}
		return err
	})
}

// attachmentIDs lists the attachment ids of the ticket's entries.
func (e *env) attachmentIDs(id string) []int64 {
	var out []int64
	for _, en := range e.entries(id, true) {
		for _, a := range en.Attachments {
			out = append(out, a.ID)
		}
	}
	return out
}

func svcRetention(e *env) {
	t, ctx := e.t, e.t.Context()
	const keep = 30 * 24 * time.Hour
	e.agent("bob", false)

	// expired: closed and then untouched for longer than the retention.
	m := mail("Old invoice", "Please send the invoice again.")
	m.Attachments = []core.Attachment{{Filename: "scan.pdf", ContentType: "application/pdf", Data: []byte("%PDF old")}}
	expired := e.receive(m).TicketID
	expiredMsg := strings.Trim(m.MessageID, "<>")
	e.must("comment", e.svc.Save(ctx, "bob", expired, core.Change{Comment: "Sent.", External: true}))
	e.must("close", e.svc.Save(ctx, "bob", expired, core.Change{Status: core.StatusClosed}))
	expiredAttachments := e.attachmentIDs(expired)
	// reopened: closed at the same time, reopened by the customer a
	// minute before its deadline.
	reopened := e.newTicket("Reopened before its deadline")
	e.must("close", e.svc.Save(ctx, "bob", reopened, core.Change{Status: core.StatusClosed}))
	// reclosed: closed, reopened and closed again before its deadline.
	reclosed := e.newTicket("Closed twice")
	e.must("close", e.svc.Save(ctx, "bob", reclosed, core.Change{Status: core.StatusClosed}))
	// open: old, never closed.
	open := e.newTicket("Still open")
	// merged into a ticket that is still open: kept with its target.
	target := e.newTicket("Merge target")
	merged := e.newTicket("Merged")
	e.must("take", e.svc.Save(ctx, "bob", target, core.Change{Status: core.StatusInProgress}))
	e.must("take", e.svc.Save(ctx, "bob", merged, core.Change{Status: core.StatusInProgress}))
	e.must("merge", e.svc.Save(ctx, "bob", merged, core.Change{MergeInto: target}))
	// Many more expired tickets, beyond one batch.
	many := 2*core.RetentionBatch + 7
	update(t, e.st, func(tx core.Tx) error {
		for i := range many {
			tk := newTicket(e.clock.Now(), fmt.Sprintf("bulk%d@example.org", i))
			tk.Status = core.StatusClosed
			if err := tx.CreateTicket(ctx, tk); err != nil {
				return err
			}
		}
		return nil
	})

	e.clock.Advance(keep - time.Minute)
	r := mail(core.Tag(reopened)+" Reopened before its deadline", "It broke again.")
	e.receive(r)
	r = mail(core.Tag(reclosed)+" Closed twice", "And again.")
	e.receive(r)
	e.must("close again", e.svc.Save(ctx, "bob", reclosed, core.Change{Status: core.StatusClosed}))

	d, err := e.svc.DeleteExpired(ctx, keep)
	e.must("DeleteExpired before the deadline", err)
	if d.Tickets != 0 {
		t.Fatalf("a minute before the deadline DeleteExpired deleted %v", d)
	}
	e.clock.Advance(2 * time.Minute)
	d, err = e.svc.DeleteExpired(ctx, keep)
	e.must("DeleteExpired", err)
	if d.Tickets != many+1 || d.Entries < 2 || d.Attachments != 1 || d.MessageIDs < 1 || d.Mails < 1 {
		t.Errorf("DeleteExpired deleted %v, want %d tickets with their entries, 1 attachment, Message-IDs and mails", d, many+1)
	}
	e.gone(expired, []string{expiredMsg}, expiredAttachments)
	for _, id := range []string{reopened, reclosed, open, target, merged} {
		if tk := e.ticket(id); len(e.entries(id, true)) == 0 {
			t.Errorf("kept ticket %s (%s) lost its entries", id, tk.Subject)
		}
	}
	if tk := e.ticket(reopened); tk.Status != core.StatusOpen {
		t.Errorf("reopened ticket: status %s", tk.Status)
	}
	d, err = e.svc.DeleteExpired(ctx, keep)
	if err != nil || d != (core.Deleted{}) {
		t.Errorf("a second pass deleted %v, %v; want nothing", d, err)
	}
	_, err = e.svc.DeleteExpired(ctx, 0)
	wantErr(t, "DeleteExpired(0)", err, core.ErrInvalid)
}

// customerFixture gives alice@example.com two tickets (one with an
// attachment, internal and external comments, queued mails), an entry on
// carol's ticket and a login record; carol has a ticket of her own.
type customerFixture struct {
	alice, alice2, carol string
	aliceOnCarol         string // Message-ID of alice's mail on carol's ticket
	attachments          []int64
}

func (e *env) customers() customerFixture {
	ctx := e.t.Context()
	e.agent("bob", false)
	var f customerFixture
	m := mail("Zanzibar login broken", "My password quuxfrobnicate does not work.")
	m.From = "Alice@Example.com"
	m.Attachments = []core.Attachment{{Filename: "screen.png", ContentType: "image/png", Data: []byte("PNG-of-alice")}}
	f.alice = e.receive(m).TicketID
	e.must("internal", e.svc.Save(ctx, "bob", f.alice, core.Change{Comment: "Alice again, internal note."}))
	e.must("external", e.svc.Save(ctx, "bob", f.alice, core.Change{Comment: "Try resetting it.", External: true}))
	f.alice2 = e.newTicket("Second question")
	f.attachments = e.attachmentIDs(f.alice)

	c := mail("Carol's printer", "Carol's text.")
	c.From, c.FromName = "carol@example.net", "Carol"
	f.carol = e.receive(c).TicketID
	e.must("carol comment", e.svc.Save(ctx, "bob", f.carol, core.Change{Comment: "Hello Carol.", External: true}))
	a := mail(core.Tag(f.carol)+" Carol's printer", "Alice writes on Carol's ticket: quuxfrobnicate.")
	f.aliceOnCarol = strings.Trim(a.MessageID, "<>")
	e.receive(a)
	update(e.t, e.st, func(tx core.Tx) error {
		for _, key := range []string{"user:alice@example.com", "ip:192.0.2.1"} {
			if err := tx.PutLoginThrottle(ctx, key, core.LoginThrottle{Failures: 2, Last: e.clock.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	return f
}

func svcCustomerExport(e *env) {
	t, ctx := e.t, e.t.Context()
	f := e.customers()
	d, err := e.svc.CustomerData(ctx, "alice@example.com")
	e.must("CustomerData", err)
	if len(d.Tickets) != 2 || d.Tickets[0].Ticket.ID != f.alice || d.Tickets[1].Ticket.ID != f.alice2 {
		t.Fatalf("exported tickets: %+v", d.Tickets)
	}
	for _, ct := range d.Tickets {
		want := e.entries(ct.Ticket.ID, true)
		if !slices.Equal(texts(ct.Entries), texts(want)) {
			t.Errorf("ticket %s: exported entries %q, the agent sees %q", ct.Ticket.ID, texts(ct.Entries), texts(want))
		}
	}
	es := d.Tickets[0].Entries
	if !slices.ContainsFunc(es, func(x core.Entry) bool { return x.Internal && x.Text == "Alice again, internal note." }) {
		t.Errorf("the internal comment is missing or not marked internal: %+v", es)
	}
	if len(es[0].Attachments) != 1 || !bytes.Equal(es[0].Attachments[0].Data, []byte("PNG-of-alice")) {
		t.Errorf("attachment of the first entry: %+v", es[0].Attachments)
	}
	if len(d.OtherEntries) != 1 || d.OtherEntries[0].TicketID != f.carol || !strings.Contains(d.OtherEntries[0].Text, "Alice writes") {
		t.Errorf("entries on other tickets: %+v", d.OtherEntries)
	}
	if len(d.Mails) < 3 {
		t.Errorf("exported %d mails, want the confirmations and the external comment", len(d.Mails))
	}
	for _, m := range d.Mails {
		if !strings.EqualFold(m.To, "alice@example.com") {
			t.Errorf("exported a mail to %s", m.To)
		}
	}
	if len(d.Queued) != 0 {
		t.Errorf("exported %d queued messages from an empty queue", len(d.Queued))
	}
	// Messages a door accepted that the queue's worker has not turned into
	// tickets yet are hers too; bob's are not.
	for _, from := range []string{"Alice@Example.com", "bob@example.com", "alice@example.com"} {
		_, err := e.svc.EnqueueInbound(ctx, core.InboundMessage{Door: core.DoorSMTP, From: from, Subject: "Queued from " + from,
			Text: "Still queued.", Attachments: []core.Attachment{{Filename: "q.txt", ContentType: "text/plain", Size: 3, Data: []byte("q!\n")}}})
		e.must("EnqueueInbound", err)
	}
	d, err = e.svc.CustomerData(ctx, "alice@example.com")
	e.must("CustomerData", err)
	if len(d.Queued) != 2 || d.Queued[0].Message.Subject != "Queued from Alice@Example.com" ||
		d.Queued[1].Message.Subject != "Queued from alice@example.com" || d.Queued[0].Row.Door != core.DoorSMTP ||
		d.Queued[0].Row.QueuedAt.IsZero() || len(d.Queued[0].Message.Attachments) != 1 ||
		!bytes.Equal(d.Queued[0].Message.Attachments[0].Data, []byte("q!\n")) {
		t.Errorf("exported queued messages: %+v", d.Queued)
	}
	for _, ct := range d.Tickets {
		for _, en := range ct.Entries {
			if strings.Contains(en.Text, "Carol") {
				t.Errorf("export holds carol's text: %q", en.Text)
			}
		}
	}
	_, err = e.svc.CustomerData(ctx, "not an address")
	wantErr(t, "CustomerData(bad address)", err, core.ErrInvalid)
}

func svcCustomerErase(e *env) {
	t, ctx := e.t, e.t.Context()
	f := e.customers()
	carolEntries := len(e.entries(f.carol, true))
	carolMails := 0
	for _, m := range e.pending() {
		if m.To == "carol@example.net" {
			carolMails++
		}
	}
	// A message of alice's that a door accepted and the queue's worker has
	// not turned into a ticket yet is hers too; bob's stays queued.
	for _, from := range []string{"Alice@Example.com", "bob@example.com"} {
		_, err := e.svc.EnqueueInbound(ctx, core.InboundMessage{Door: core.DoorSMTP, From: from, Subject: "Queued", Text: "Still queued."})
		e.must("EnqueueInbound", err)
	}
	d, err := e.svc.EraseCustomer(ctx, "alice@EXAMPLE.com")
	e.must("EraseCustomer", err)
	if d.Tickets != 2 || d.Entries < 5 || d.Attachments != 1 || d.MessageIDs < 3 || d.Mails < 3 || d.LoginKeys != 1 || d.Queued != 1 {
		t.Errorf("EraseCustomer deleted %v", d)
	}
	if st, err := e.svc.InboundQueueStats(ctx); err != nil || st.Depth != 1 {
		t.Errorf("inbound queue after erasing alice: %+v, %v; want bob's message left", st, err)
	}
	e.gone(f.alice, nil, f.attachments)
	e.gone(f.alice2, nil, nil)
	view(t, e.st, func(tx core.Tx) error {
		_, _, err := tx.MessageIDTicket(ctx, f.aliceOnCarol)
		wantErr(t, "Message-ID of alice's mail on carol's ticket", err, core.ErrNotFound)
		return nil
	})
	// LockLoginThrottle makes an empty record where none is left.
	update(t, e.st, func(tx core.Tx) error {
		if r, err := tx.LockLoginThrottle(ctx, "user:alice@example.com", e.clock.Now()); err != nil || r.Failures != 0 {
			t.Errorf("login record naming alice: %+v, %v", r, err)
		}
		if r, err := tx.LockLoginThrottle(ctx, "ip:192.0.2.1", e.clock.Now()); err != nil || r.Failures != 2 {
			t.Errorf("login record of an address: %+v, %v", r, err)
		}
		return nil
	})
	es := e.entries(f.carol, true)
	if len(es) != carolEntries-1 || slices.ContainsFunc(es, func(x core.Entry) bool { return strings.Contains(x.Text, "Alice") }) {
		t.Errorf("carol's ticket after the erasure: %q (had %d entries)", texts(es), carolEntries)
	}
	n := 0
	for _, m := range e.pending() {
		if strings.EqualFold(m.To, "alice@example.com") {
			t.Errorf("outbox still holds a mail to alice: %q", m.Subject)
		}
		if m.To == "carol@example.net" {
			n++
		}
	}
	if n != carolMails {
		t.Errorf("carol's mails: %d after the erasure, %d before", n, carolMails)
	}
	cd, err := e.svc.CustomerData(ctx, "alice@example.com")
	if err != nil || len(cd.Tickets)+len(cd.OtherEntries)+len(cd.Mails) != 0 {
		t.Errorf("after the erasure the export holds %+v, %v", cd, err)
	}
}
