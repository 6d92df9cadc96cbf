package sqlite

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestPendingMailsSeparatorInText stores text that SQLite keeps byte for
// byte but UTF-8 never has, the separator of the joined column among it:
// such a mail is read again column by column, the mails around it as
// usual, and every one comes back as queued.
func TestPendingMailsSeparatorInText(t *testing.T) {
	texts := []string{"before", "a \xff in the middle", "\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "NUL \x00 byte", "after", "\xfe\xc3"}
	var queued []core.OutMail
	for i, s := range texts {
		m := core.OutMail{From: "support@help.example", To: fmt.Sprintf("c%d@example.com", i), Subject: s, Body: s,
			ReplyTo: s, MessageID: s, InReplyTo: s, References: []string{s}, Automatic: i%2 == 1, Personal: i%3 == 1, CreatedAt: time.Unix(1_700_000_000+int64(i), 0).UTC()}
		if i == 3 { // the separator in a field that mails read column by column do not otherwise test
			m.TicketID = s
		}
		queued = append(queued, m)
	}
	got := queueAndRead(t, openTemp(t), queued)
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

// TestPendingListingSeparatorInAddress stores listed mails whose
// recipients hold the separators of the joined text (one even with what
// looks like a mail of its own): the page is read again a row per mail,
// they column by column, and every mail comes back with its recipient
// and listing.
func TestPendingListingSeparatorInAddress(t *testing.T) {
	tos := []string{"a@example.com", "\xff@example.com", "b\xff\xff@example.com", "c@example.com", "d\xfe@example.com",
		"\xfe12\xffforged@example.com", "e@example.com"}
	var queued []core.OutMail
	for i, to := range tos {
		queued = append(queued, core.OutMail{From: "support@help.example", To: to, Subject: "s",
			Listing: fmt.Sprintf(`,"n":%d}`, i), CreatedAt: time.Unix(1_700_000_000, 0)})
	}
	got := queueAndRead(t, openTemp(t), queued)
	for i, g := range got {
		w := queued[i]
		if g.ID != w.ID || g.To != w.To || g.Listing != w.Listing || g.Subject != "" || g.State != core.MailPending {
			t.Errorf("mail %d:\n got  %+v\n want ID %d, To %q, Listing %q", i, g, w.ID, w.To, w.Listing)
		}
	}
}

// queueAndRead queues ms (setting their ids) in one transaction and reads
// every pending mail back.
func queueAndRead(t *testing.T, st core.Store, ms []core.OutMail) []core.OutMail {
	t.Helper()
	ctx := t.Context()
	err := st.Update(ctx, func(tx core.Tx) error {
		for i := range ms {
			if err := tx.QueueMail(ctx, &ms[i]); err != nil {
				return err
			}
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
	if len(got) != len(ms) {
		t.Fatalf("%d mails, want %d", len(got), len(ms))
	}
	return got
}

// TestPendingListingsPlan: the pending mails with listings are read from
// the partial index alone, never from the outbox's rows.
func TestPendingListingsPlan(t *testing.T) {
	s := openTemp(t).(*Store)
	rows, err := s.reader.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+listedQuery, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING COVERING INDEX outbox_pending_listing") {
		t.Errorf("plan of listedQuery: %s", p)
	}
}

// TestSplitPage: the texts of a page split into its mails; a page out of
// id order, with an id that is not a number or a separator in a field is
// refused (and read a row per mail).
func TestSplitPage(t *testing.T) {
	ms, ok := splitPage(3, "5,6,7", "\xfea@x\xfeb@x", "\xfe,\"n\":6}\xfe,\"n\":7}")
	if !ok || len(ms) != 3 || ms[0].ID != 5 || ms[1].ID != 6 || ms[2].ID != 7 ||
		ms[0].Listing != "" || ms[1].To != "a@x" || ms[2].Listing != `,"n":7}` || ms[2].State != core.MailPending {
		t.Fatalf("splitPage = %+v, %v", ms, ok)
	}
	for name, texts := range map[string][3]string{
		"order":                  {"6,5", "a\xfeb", "x\xfey"},
		"id":                     {"5,x", "a\xfeb", "x\xfey"},
		"separator in address":   {"5,6", "a\xfe\xfeb", "x\xfey"},
		"separator in a listing": {"5,6", "a\xfeb", "x\xfe\xfey"},
		"too few":                {"5", "a", "x"},
	} {
		if _, ok := splitPage(2, texts[0], texts[1], texts[2]); ok {
			t.Errorf("%s: splitPage took %q", name, texts)
		}
	}
}
