package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"trivialtickets/core"
)

// svcBounce: a DSN naming our confirmation lands on the ticket as an
// internal entry and marks that mail bounced; nothing answers it.
func svcBounce(e *env) {
	t, ctx := e.t, e.t.Context()
	id := e.newTicket("Printer")
	ms := e.pending()
	if len(ms) != 1 {
		t.Fatalf("outbox: %d mails, want the confirmation", len(ms))
	}
	dsn := core.InboundMessage{Door: core.DoorSMTP, From: "MAILER-DAEMON@mx.example.com", NullSender: true,
		Recipients: []string{supportAddr}, Subject: "Undelivered Mail Returned to Sender", MessageID: "dsn-1@mx.example.com",
		Text:      "Delivery failed.\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <alice@example.com>: user unknown",
		InReplyTo: []string{ms[0].MessageID}, Bounce: true}
	res := e.receive(dsn)
	if res.TicketID != id || res.Created || res.Automatic == "" {
		t.Fatalf("bounce: %+v, want an automatic entry on %s", res, id)
	}
	es := e.entries(id, true)
	last := es[len(es)-1]
	if !last.Internal || !strings.Contains(last.Text, "user unknown") {
		t.Errorf("bounce entry = %+v, want internal with the diagnostic", last)
	}
	if ext := e.entries(id, false); len(ext) != 1 {
		t.Errorf("customer sees %d entries, want 1 (not the bounce)", len(ext))
	}
	view(t, e.st, func(tx core.Tx) error {
		m, err := tx.MailByMessageID(ctx, ms[0].MessageID)
		if err != nil || m.State != core.MailBounced || !strings.Contains(m.LastError, "550 5.1.1") {
			t.Errorf("bounced mail = %+v, %v", m, err)
		}
		return nil
	})
	c, err := e.svc.OutboxCounts(ctx)
	if err != nil || c != (core.OutboxCounts{Bounced: 1}) {
		t.Errorf("OutboxCounts = %+v, %v", c, err)
	}
}

// svcDispatch walks a mail through the relay dispatcher's calls.
func svcDispatch(e *env) {
	t, ctx := e.t, e.t.Context()
	id := e.newTicket("Printer")
	id2 := e.newTicket("Scanner")
	if ms, err := e.svc.PendingMails(ctx, 0, 10); err != nil || len(ms) != 0 {
		t.Errorf("PendingMails with RelayOutbound = %d mails, %v; want none for the Mail API", len(ms), err)
	}
	claimed, err := e.svc.ClaimMails(ctx, "d1", time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimMails = %d, %v; want 2", len(claimed), err)
	}
	if ok, err := e.svc.VerifyMail(ctx, claimed[0].ID); ok || err != nil {
		t.Errorf("VerifyMail with RelayOutbound = %v, %v; want false", ok, err)
	}
	e.must("delivered", e.svc.MailDelivered(ctx, claimed[0].ID))
	e.must("deferred", e.svc.MailDeferred(ctx, claimed[1].ID, "451 busy", e.clock.Now().Add(time.Hour)))
	if again, err := e.svc.ClaimMails(ctx, "d2", time.Minute, 10); err != nil || len(again) != 0 {
		t.Errorf("claim before the next try = %d, %v", len(again), err)
	}
	e.clock.Advance(time.Hour)
	again, err := e.svc.ClaimMails(ctx, "d2", time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].Attempts != 1 || again[0].LastError != "451 busy" {
		t.Fatalf("claim at the next try = %+v, %v", again, err)
	}
	e.must("failed", e.svc.MailFailed(ctx, again[0], "550 5.1.1 user unknown"))
	es := e.entries(id2, true)
	if last := es[len(es)-1]; !last.Internal || !strings.Contains(last.Text, "550 5.1.1 user unknown") {
		t.Errorf("failure note = %+v, want an internal entry with the reason", last)
	}
	if len(e.entries(id, true)) != 1 {
		t.Errorf("the delivered mail's ticket got a note")
	}
	c, err := e.svc.OutboxCounts(ctx)
	if err != nil || c != (core.OutboxCounts{Failed: 1}) {
		t.Errorf("OutboxCounts = %+v, %v", c, err)
	}
}

// svcLeases: one lease holder at a time, taken over after expiry.
func svcLeases(e *env) {
	t, ctx := e.t, e.t.Context()
	ok1, err1 := e.svc.AcquireLease(ctx, "imap:support", "a", 10*time.Second)
	ok2, err2 := e.svc.AcquireLease(ctx, "imap:support", "b", 10*time.Second)
	if !ok1 || ok2 || err1 != nil || err2 != nil {
		t.Errorf("AcquireLease a, b = %v, %v (%v, %v); want true, false", ok1, ok2, err1, err2)
	}
	e.clock.Advance(11 * time.Second)
	if ok, err := e.svc.AcquireLease(ctx, "imap:support", "b", 10*time.Second); !ok || err != nil {
		t.Errorf("takeover after expiry = %v, %v", ok, err)
	}
	e.must("release", e.svc.ReleaseLease(ctx, "imap:support", "b"))
	if ok, err := e.svc.AcquireLease(ctx, "imap:support", "a", 10*time.Second); !ok || err != nil {
		t.Errorf("acquire after release = %v, %v", ok, err)
	}
}

// svcConcurrentAssign: two agents take the same ticket at once; exactly one
// gets it, and the other is told it is taken. Two replies to one ticket at
// once are both kept.
func svcConcurrentAssign(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.agent("carol", false)
	for round := range 5 {
		id := e.newTicket(fmt.Sprintf("Printer %d", round))
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, who := range []string{"bob", "carol"} {
			wg.Go(func() {
				<-start
				errs[i] = e.svc.Save(ctx, who, id, core.Change{Status: core.StatusInProgress})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if !errors.Is(err, core.ErrNotAssignee) && !errors.Is(err, core.ErrInvalid) {
				t.Errorf("round %d: loser's error %v, want that the ticket is taken", round, err)
			}
		}
		if tk := e.ticket(id); won != 1 || tk.Assignee == "" {
			t.Errorf("round %d: %d winners, assignee %q; want exactly one (%v)", round, won, tk.Assignee, errs)
		}
	}
	id := e.newTicket("Scanner")
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			m := mail(`Re: [Ticket "`+id+`"] Scanner`, fmt.Sprintf("reply %d", i))
			e.receive(m)
		})
	}
	wg.Wait()
	if es := e.entries(id, true); len(es) != 3 {
		t.Errorf("entries after two replies at once: %d, want 3", len(es))
	}
}
