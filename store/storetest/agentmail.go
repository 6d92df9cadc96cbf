package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"trivialtickets/core"
)

// testAgentMail: agents' addresses and notification choices, one address
// per agent and agent per address, gone with the agent; secrets keep the
// value stored first.
func testAgentMail(t *testing.T, st core.Store) {
	ctx := t.Context()
	createAgents(t, st, "bob", "carol")
	bob := core.AgentMail{Username: "bob", Email: "bob@agents.example", Notify: core.NotifyNew | core.NotifyReply}
	update(t, st, func(tx core.Tx) error { return tx.PutAgentMail(ctx, bob) })
	view(t, st, func(tx core.Tx) error {
		got, err := tx.AgentMail(ctx, "bob")
		if err != nil || got != bob {
			t.Errorf("AgentMail(bob) = %+v, %v; want %+v", got, err, bob)
		}
		_, err = tx.AgentMail(ctx, "carol")
		wantErr(t, "AgentMail(carol)", err, core.ErrNotFound)
		return nil
	})
	err := st.Update(ctx, func(tx core.Tx) error {
		return tx.PutAgentMail(ctx, core.AgentMail{Username: "carol", Email: "bob@agents.example"})
	})
	wantErr(t, "PutAgentMail(address of another agent)", err, core.ErrDuplicate)
	err = st.Update(ctx, func(tx core.Tx) error {
		return tx.PutAgentMail(ctx, core.AgentMail{Username: "nobody", Email: "nobody@agents.example"})
	})
	wantErr(t, "PutAgentMail(unknown agent)", err, core.ErrNotFound)

	bob.Notify = core.NotifyAssigned
	carol := core.AgentMail{Username: "carol", Email: "carol@agents.example"}
	update(t, st, func(tx core.Tx) error {
		if err := tx.PutAgentMail(ctx, bob); err != nil {
			return err
		}
		return tx.PutAgentMail(ctx, carol)
	})
	view(t, st, func(tx core.Tx) error {
		all, err := tx.AgentMails(ctx)
		if err != nil || len(all) != 2 || all[0] != bob || all[1] != carol {
			t.Errorf("AgentMails = %+v, %v", all, err)
		}
		return nil
	})
	update(t, st, func(tx core.Tx) error {
		if err := tx.DeleteAgentMail(ctx, "carol"); err != nil {
			return err
		}
		return tx.DeleteAgent(ctx, "bob")
	})
	view(t, st, func(tx core.Tx) error {
		all, err := tx.AgentMails(ctx)
		if err != nil || len(all) != 0 {
			t.Errorf("AgentMails after removing both = %+v, %v", all, err)
		}
		return nil
	})

	var first []byte
	update(t, st, func(tx core.Tx) error {
		var err error
		first, err = tx.Secret(ctx, "k", []byte("one"))
		return err
	})
	update(t, st, func(tx core.Tx) error {
		again, err := tx.Secret(ctx, "k", []byte("two"))
		if err != nil || !bytes.Equal(first, []byte("one")) || !bytes.Equal(again, []byte("one")) {
			t.Errorf("Secret = %q then %q, %v; want the first value both times", first, again, err)
		}
		return err
	})
}

// agentsByMail sets up bob (every notification) and carol (new tickets)
// with addresses, and dave without one.
func (e *env) agentsByMail() {
	ctx := e.t.Context()
	for _, a := range []string{"bob", "carol", "dave"} {
		e.agent(a, false)
	}
	e.must("bob's address", e.svc.SetAgentMail(ctx, "bob", "Bob@Agents.example", core.NotifyNew|core.NotifyAssigned|core.NotifyReply))
	e.must("carol's address", e.svc.SetAgentMail(ctx, "carol", "carol@agents.example", core.NotifyNew))
}

// mailsTo returns the pending mails to addr queued after the first skip.
func mailsTo(ms []core.OutMail, skip int, addr string) []core.OutMail {
	var out []core.OutMail
	for _, m := range ms[skip:] {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// svcAgentNotifications: agents get the notifications they chose, threaded,
// with the ticket link and a Reply-To signed for them and the ticket, never
// the customer's.
func svcAgentNotifications(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agentsByMail()
	err := e.svc.SetAgentMail(ctx, "dave", supportAddr, core.NotifyNew)
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("support address as an agent's: %v, want refused", err)
	}
	if err := e.svc.SetAgentMail(ctx, "dave", "bob@agents.example", core.NotifyNew); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("bob's address for dave: %v, want refused", err)
	}

	m := mail("Printer", "The printer is on fire.")
	id := e.receive(m).TicketID
	ms := e.pending()
	bob, carol := mailsTo(ms, 0, "bob@agents.example"), mailsTo(ms, 0, "carol@agents.example")
	if len(ms) != 3 || len(bob) != 1 || len(carol) != 1 {
		t.Fatalf("outbox after a new ticket: %d mails (%d to bob, %d to carol), want the confirmation and two notices", len(ms), len(bob), len(carol))
	}
	n := bob[0]
	if n.TicketID != id || !strings.Contains(n.Subject, core.Tag(id)) || n.InReplyTo != strings.Trim(m.MessageID, "<>") ||
		!strings.Contains(n.Body, "The printer is on fire.") || !strings.Contains(n.Body, e.svc.TicketURL(id)) ||
		!strings.HasPrefix(n.ReplyTo, "support+"+id+".bob.") || n.Personal {
		t.Errorf("notice to bob = %+v", n)
	}
	if carol[0].ReplyTo == n.ReplyTo {
		t.Error("bob and carol got the same reply address")
	}

	// Assigned by carol to bob: bob hears of it; carol assigning herself
	// would not.
	e.must("assign", e.svc.Assign(ctx, "carol", id, "bob"))
	ms2 := e.pending()
	if got := mailsTo(ms2, len(ms), "bob@agents.example"); len(got) != 1 || !strings.Contains(got[0].Body, "assigned to you") {
		t.Errorf("assignment notices to bob: %+v", got)
	}
	// The customer answers: only the assignee hears, with only what is new.
	r := mail(core.Tag(id)+" Printer", "Now it smokes.\n\nOn Monday, Support wrote:\n> We are on it.\n")
	e.receive(r)
	ms3 := e.pending()
	got := mailsTo(ms3, len(ms2), "bob@agents.example")
	if len(ms3) != len(ms2)+1 || len(got) != 1 || !strings.Contains(got[0].Body, "Now it smokes.") || strings.Contains(got[0].Body, "We are on it") {
		t.Errorf("reply notices: %d new mails, to bob %+v", len(ms3)-len(ms2), got)
	}
	// A notice never goes to the customer, not even when the customer is
	// an agent.
	for _, m := range ms3 {
		if m.To == "alice@example.com" && strings.HasPrefix(m.ReplyTo, "support+"+id+".") {
			t.Errorf("a notice went to the customer: %+v", m)
		}
	}
}

// svcAgentAnswerByMail: an answer from the agent's address to the reply
// address signed for that agent and ticket is the agent's answer (external,
// its new part mailed to the customer as personal mail; internal with
// #internal); a forged From, another agent's signed address or a changed
// signature is not, and an out-of-office from the agent's mailbox is only
// noted.
func svcAgentAnswerByMail(e *env) {
	t := e.t
	e.agentsByMail()
	id := e.newTicket("Printer")
	var signed, carolSigned string
	for _, m := range e.pending() {
		switch m.To {
		case "bob@agents.example":
			signed = m.ReplyTo
		case "carol@agents.example":
			carolSigned = m.ReplyTo
		}
	}
	if signed == "" || carolSigned == "" {
		t.Fatalf("no notices: %+v", e.pending())
	}
	answer := func(from, to, text string, edit func(*core.InboundMessage)) (core.Entry, []core.OutMail) {
		t.Helper()
		before := len(e.pending())
		m := mail("Re: "+core.Tag(id)+" Printer", text)
		m.From, m.FromName, m.Recipients = from, "", []string{to}
		if edit != nil {
			edit(&m)
		}
		if res := e.receive(m); res.TicketID != id || res.Created {
			t.Fatalf("answer from %s to %s: %+v", from, to, res)
		}
		es := e.entries(id, true)
		for i := len(es) - 1; i >= 0; i-- {
			if es[i].MessageID == strings.Trim(m.MessageID, "<>") {
				return es[i], e.pending()[before:]
			}
		}
		t.Fatalf("no entry of %s", m.MessageID)
		return core.Entry{}, nil
	}

	quoted := "It is fixed now.\n\nOn Monday, Support <support@help.example> wrote:\n> New ticket from Alice\n"
	en, out := answer("bob@agents.example", signed, quoted, nil)
	if en.AuthorKind != core.AuthorAgent || en.Author != "bob" || en.Internal || en.Text != quoted {
		t.Errorf("bob's answer = %+v, want an external entry by bob with the full text", en)
	}
	if len(out) != 1 || out[0].To != "alice@example.com" || !out[0].Personal || !strings.Contains(out[0].Body, "It is fixed now.") ||
		strings.Contains(out[0].Body, "New ticket from Alice") {
		t.Errorf("mail to the customer = %+v, want bob's new text only, as personal mail", out)
	}
	if c := e.entries(id, false); c[len(c)-1].Text != quoted {
		t.Errorf("the customer does not see bob's answer")
	}

	en, out = answer("bob@agents.example", strings.ToUpper(signed), "#internal\nThe fuser is broken.\n", nil)
	if en.AuthorKind != core.AuthorAgent || !en.Internal || strings.Contains(en.Text, "#internal") || len(out) != 0 {
		t.Errorf("#internal answer = %+v, mails %+v; want an internal note and no mail", en, out)
	}

	for name, tc := range map[string]struct{ from, to string }{
		"forged From to the support address":       {"bob@agents.example", supportAddr},
		"forged From to the ticket's plus-address": {"bob@agents.example", strings.Replace(supportAddr, "@", "+"+id+"@", 1)},
		"carol with bob's signed address":          {"carol@agents.example", signed},
		"bob with carol's signed address":          {"bob@agents.example", carolSigned},
		"bob with a changed signature":             {"bob@agents.example", changedSignature(signed)},
		"a stranger with bob's signed address":     {"mallory@example.net", signed},
	} {
		en, out := answer(tc.from, tc.to, "Closing this, send me the invoice.", nil)
		if en.AuthorKind != core.AuthorCustomer || len(out) != 0 {
			t.Errorf("%s: entry %+v, mails %+v; want a customer entry and no mail", name, en, out)
		}
	}

	en, out = answer("bob@agents.example", signed, "I am out of office.", func(m *core.InboundMessage) { m.AutoSubmitted = "auto-replied" })
	if !en.Internal || !en.Automatic || len(out) != 0 {
		t.Errorf("out-of-office of bob's mailbox = %+v, mails %+v; want an internal automatic note", en, out)
	}
}

// changedSignature returns the signed reply address with the last
// character of its signature changed (to "a", or "b" where it is "a").
func changedSignature(signed string) string {
	at := strings.IndexByte(signed, '@')
	c := "a"
	if signed[at-1] == 'a' {
		c = "b"
	}
	return signed[:at-1] + c + signed[at:]
}
