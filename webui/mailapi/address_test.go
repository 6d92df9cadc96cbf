package mailapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/wire"
)

// TestFetchOneValidAddress: fetchMails' "to" is always one valid address.
// A sender that is not one (several addresses, junk) is refused at the Mail
// API's own door, makes an unanswerable ticket through the mail doors (no
// mail goes out when an agent answers), and a mail queued to such an
// address anyhow (by an older version) is set aside as failed, not listed.
func TestFetchOneValidAddress(t *testing.T) {
	h, svc, st := newAPI(t, nil)
	ctx := context.Background()
	for _, from := range []string{"a@evil.test,b@evil.test", `x"y,z@evil.test>@evil.test`} {
		wantError(t, request(t, h, http.MethodPost, wire.PathReceive, "message/rfc822",
			"From: "+from+"\r\nSubject: s\r\n\r\nbody\r\n", testToken), http.StatusBadRequest, fmt.Sprintf("%q is not a valid e-mail address", from))

		// Through SMTP: MAIL FROM:<a@evil.test,b@evil.test> and no From:.
		res, err := svc.Receive(ctx, core.InboundMessage{Door: core.DoorSMTP, From: from, Subject: "Help", Text: "call me"})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.AddAgent(ctx, "bob"+res.TicketID[:4], "", "password-bob"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Assign(ctx, "bob"+res.TicketID[:4], res.TicketID, "bob"+res.TicketID[:4]); err != nil {
			t.Fatal(err)
		}
		if err := svc.Save(ctx, "bob"+res.TicketID[:4], res.TicketID, core.Change{Comment: "Our answer", External: true}); err != nil {
			t.Fatal(err)
		}
	}
	if ms := fetch(t, h); len(ms) != 0 {
		t.Errorf("fetchMails after answering unanswerable tickets: %+v, want none", ms)
	}

	// Rows an older version queued.
	err := st.Update(ctx, func(tx core.Tx) error {
		for _, to := range []string{"a@evil.test,b@evil.test", "carol@example.com"} {
			if err := tx.QueueMail(ctx, &core.OutMail{From: "support@example.com", To: to, Subject: "s", Body: "b",
				MessageID: to + ".old@example.com", CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ms := fetch(t, h)
	if len(ms) != 1 || ms[0].To != "carol@example.com" {
		t.Fatalf("fetchMails: %+v, want only carol's", ms)
	}
	var failed int
	st.View(ctx, func(tx core.Tx) error {
		failed, err = tx.CountMails(ctx, core.MailFailed)
		return err
	})
	if failed != 1 {
		t.Errorf("failed mails: %d, want the one to several addresses", failed)
	}
}
