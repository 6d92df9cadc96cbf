package sqlite

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestPendingMailsSeparatorInText stores text that SQLite keeps byte for
// byte but UTF-8 never has, the separator of the joined column among it:
// such a mail is read again column by column, the mails around it as
// usual, and every one comes back as queued.
func TestPendingMailsSeparatorInText(t *testing.T) {
	st := openTemp(t)
	ctx := t.Context()
	texts := []string{"before", "a \xff in the middle", "\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "NUL \x00 byte", "after", "\xfe\xc3"}
	var queued []core.OutMail
	err := st.Update(ctx, func(tx core.Tx) error {
		queued = nil
		for i, s := range texts {
			m := core.OutMail{From: "support@help.example", To: fmt.Sprintf("c%d@example.com", i), Subject: s, Body: s,
				ReplyTo: s, MessageID: s, InReplyTo: s, References: []string{s}, Automatic: i%2 == 1, Personal: i%3 == 1, CreatedAt: time.Unix(1_700_000_000+int64(i), 0).UTC()}
			if i == 3 { // the separator in a field that mails read column by column do not otherwise test
				m.TicketID = s
			}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
			queued = append(queued, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []core.OutMail
	err = st.View(ctx, func(tx core.Tx) error {
		got, err = tx.PendingMails(ctx, 0, 100)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(queued) {
		t.Fatalf("%d mails, want %d", len(got), len(queued))
	}
	for i, g := range got {
		w := queued[i]
		if g.ID != w.ID || g.TicketID != w.TicketID || g.Subject != w.Subject || g.Body != w.Body || g.ReplyTo != w.ReplyTo ||
			g.MessageID != w.MessageID || g.InReplyTo != w.InReplyTo || !slices.Equal(g.References, w.References) ||
			g.To != w.To || g.Automatic != w.Automatic || g.Personal != w.Personal || !g.CreatedAt.Equal(w.CreatedAt) ||
			g.State != core.MailPending {
			t.Errorf("mail %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
}
