package storetest

import (
	"reflect"
	"testing"
	"time"

	"trivialtickets/core"
)

// testReceiveFacts: a store's ReceiveFacts (core.ReceiveReader) reads what
// MessageIDTicket, AgentMails and CountAutomaticMails read, in the same
// transaction, with no agents, with several and after writes. Stores
// without it skip.
func testReceiveFacts(t *testing.T, st core.Store) {
	skipWithout[core.ReceiveReader](t, st, "ReceiveFacts")
	ctx := t.Context()
	// check reads the facts and compares them with the three reads.
	check := func(what, msgID, to string, since time.Time) core.ReceiveFacts {
		t.Helper()
		var f core.ReceiveFacts
		view(t, st, func(tx core.Tx) error {
			var err error
			if f, err = tx.(core.ReceiveReader).ReceiveFacts(ctx, msgID, to, since); err != nil {
				return err
			}
			tid, _, err := tx.MessageIDTicket(ctx, msgID)
			if err != nil {
				wantErr(t, what+": MessageIDTicket", err, core.ErrNotFound)
			}
			ams, err := tx.AgentMails(ctx)
			if err != nil {
				return err
			}
			n, err := tx.CountAutomaticMails(ctx, to, since)
			if err != nil {
				return err
			}
			if f.Ticket != tid || f.To != to || f.AutomaticMails != n || len(f.AgentMails) != len(ams) ||
				(len(ams) > 0 && !reflect.DeepEqual(f.AgentMails, ams)) {
				t.Errorf("%s: ReceiveFacts %+v, want ticket %q, %d automatic mails to %s, agents' addresses %+v", what, f, tid, n, to, ams)
			}
			return nil
		})
		return f
	}
	if f := check("empty", "none@example.com", "carol@example.com", at(0)); f.Ticket != "" || len(f.AgentMails) != 0 || f.AutomaticMails != 0 {
		t.Errorf("ReceiveFacts on an empty store: %+v", f)
	}

	tk := newTicket(at(0), "carol@example.com")
	createAgents(t, st, "bob", "alice")
	update(t, st, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		if err := tx.RememberMessageID(ctx, "first@example.com", tk.ID, true); err != nil {
			return err
		}
		for _, am := range []core.AgentMail{
			{Username: "bob", Email: "bob@agents.example", Notify: core.NotifyNew | core.NotifyReply},
			{Username: "alice", Email: "alice@agents.example", Notify: core.NotifyAssigned},
		} {
			if err := tx.PutAgentMail(ctx, am); err != nil {
				return err
			}
		}
		for i, to := range []string{"carol@example.com", "Carol+x@Example.com", "carol@example.com", "dave@example.com"} {
			m := core.OutMail{TicketID: tk.ID, From: "help@help.example", To: to, Subject: "s", Body: "b",
				MessageID: "out-" + to + string(rune('a'+i)), Automatic: i != 2, CreatedAt: at(i * 1000), State: core.MailPending}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	f := check("known Message-ID", "first@example.com", "carol@example.com", at(0))
	if f.Ticket != tk.ID || f.AutomaticMails != 2 || len(f.AgentMails) != 2 || f.AgentMails[0].Username != "alice" {
		t.Errorf("ReceiveFacts: %+v, want ticket %s, 2 automatic mails, alice's and bob's addresses", f, tk.ID)
	}
	if f := check("since the second mail", "second@example.com", "CAROL@example.com", at(1000)); f.Ticket != "" || f.AutomaticMails != 1 {
		t.Errorf("ReceiveFacts of an unknown Message-ID since the second mail: %+v, want no ticket and 1 automatic mail", f)
	}

	// In an update, after writes of the same transaction.
	update(t, st, func(tx core.Tx) error {
		if err := tx.RememberMessageID(ctx, "second@example.com", tk.ID, true); err != nil {
			return err
		}
		m := core.OutMail{TicketID: tk.ID, From: "help@help.example", To: "dave@example.com", Subject: "s", Body: "b",
			MessageID: "out-dave-2", Automatic: true, CreatedAt: at(5000), State: core.MailPending}
		if err := tx.QueueMail(ctx, &m); err != nil {
			return err
		}
		f, err := tx.(core.ReceiveReader).ReceiveFacts(ctx, "second@example.com", "dave@example.com", at(0))
		if err == nil && (f.Ticket != tk.ID || f.AutomaticMails != 2 || len(f.AgentMails) != 2) {
			t.Errorf("ReceiveFacts in an update after its writes: %+v, want ticket %s, 2 automatic mails to dave, 2 agents", f, tk.ID)
		}
		return err
	})
}
