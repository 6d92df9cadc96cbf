package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
)

// testPendingMails checks what PendingMails reads of each mail: every field
// a mail service needs exactly as queued, whatever the text holds, the
// delivery bookkeeping zero, and only pending mails.
func testPendingMails(t *testing.T, st core.Store) {
	ctx := t.Context()
	tk := newTicket(at(0), "pending@example.com")
	texts := []string{
		"",
		"plain",
		"0:1:2 looks like a length, 12:ab",
		"Grüße, 日本語, emoji 🎫, \u2028 separators \u2029",
		`quotes " and \ backslashes, <html> & more`,
		"line 1\nline 2\r\n\ttabbed\x01\x1f",
		strings.Repeat("a long body line\n", 40_000),
	}
	var queued []core.OutMail
	update(t, st, func(tx core.Tx) error {
		queued = nil // a store may run fn again
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		for i, s := range texts {
			m := core.OutMail{
				TicketID: tk.ID, From: "support@help.example", To: fmt.Sprintf("c%d@example.com", i),
				ReplyTo: s, Subject: s, Body: s + s, MessageID: fmt.Sprintf("%.200s", s), InReplyTo: s,
				Automatic: i%2 == 0, Personal: i%3 == 0, CreatedAt: at(i * 1000),
			}
			if i > 0 { // Message-IDs, stored one a line
				m.References = []string{fmt.Sprintf("ref-%d@example.com", i), "second@example.com"}[:1+i%2]
			}
			if i == 0 { // a mail without a ticket, every optional field empty
				m.TicketID = ""
			}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
			queued = append(queued, m)
		}
		return nil
	})
	// A mail that failed once is still pending; one sent and one failed
	// for good are not.
	update(t, st, func(tx core.Tx) error {
		if err := tx.RetryMail(ctx, queued[1].ID, at(60_000), "451 4.3.0 try later"); err != nil {
			return err
		}
		if ok, err := tx.MarkMailSent(ctx, queued[2].ID, at(61_000)); !ok || err != nil {
			return fmt.Errorf("MarkMailSent = %v, %w", ok, err)
		}
		if ok, err := tx.MarkMailFailed(ctx, queued[3].ID, core.MailFailed, "550 5.1.1 no such user", at(62_000)); !ok || err != nil {
			return fmt.Errorf("MarkMailFailed = %v, %w", ok, err)
		}
		return nil
	})
	want := slices.Delete(slices.Clone(queued), 2, 4)
	var got []core.OutMail
	view(t, st, func(tx core.Tx) error {
		var err error
		got, err = tx.PendingMails(ctx, 0, 100)
		return err
	})
	if len(got) != len(want) {
		t.Fatalf("PendingMails: %d mails, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if !samePendingMail(g, w) || g.CreatedAt.Location() != time.UTC {
			t.Errorf("PendingMails[%d] (id %d) differs from the queued mail:\n got  %.300s\n want %.300s", i, g.ID, fmt.Sprintf("%+v", g), fmt.Sprintf("%+v", w))
		}
		if !g.SentAt.IsZero() || g.Attempts != 0 || !g.NextTry.IsZero() || g.LastError != "" {
			t.Errorf("PendingMails[%d]: delivery bookkeeping %v %d %v %q, want it zero", i, g.SentAt, g.Attempts, g.NextTry, g.LastError)
		}
	}
	// Paging: after an id, at most limit, in id order.
	view(t, st, func(tx core.Tx) error {
		ms, err := tx.PendingMails(ctx, want[1].ID, 2)
		if err != nil {
			return err
		}
		if len(ms) != 2 || ms[0].ID != want[2].ID || ms[1].ID != want[3].ID {
			t.Errorf("PendingMails(after %d, 2) = %d mails", want[1].ID, len(ms))
		}
		return nil
	})
}

// samePendingMail reports whether got, read back as pending, is the mail
// want as queued: every field but the delivery bookkeeping.
func samePendingMail(got, want core.OutMail) bool {
	return got.ID == want.ID && got.TicketID == want.TicketID && got.From == want.From && got.To == want.To &&
		got.ReplyTo == want.ReplyTo && got.Subject == want.Subject && got.Body == want.Body &&
		got.MessageID == want.MessageID && got.InReplyTo == want.InReplyTo && slices.Equal(got.References, want.References) &&
		got.Automatic == want.Automatic && got.Personal == want.Personal && got.State == core.MailPending &&
		got.CreatedAt.Equal(want.CreatedAt)
}

// testPendingListings mixes mails queued with a listing and without: a
// listed mail comes back with its id, recipient and listing byte for byte
// and nothing else, any other mail with every field as before, in id
// order on every page, and neither once sent.
func testPendingListings(t *testing.T, st core.Store) {
	ctx := t.Context()
	tk := newTicket(at(0), "listings@example.com")
	listings := []string{
		`,"from":"support@help.example","to":"c@example.com","subject":"s","message":"m"}`,
		`,"subject":"Grüße, 日本語 🎫 \u003cb\u003e \\ \" \n"}`,
		strings.Repeat(`,"message":"a long listing"`, 5_000) + "}",
		"x",
	}
	var queued []core.OutMail
	update(t, st, func(tx core.Tx) error {
		queued = nil // a store may run fn again
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		for i := range 12 {
			m := core.OutMail{TicketID: tk.ID, From: "support@help.example", To: fmt.Sprintf("c%d@example.com", i),
				ReplyTo: "r@help.example", Subject: fmt.Sprintf("subject %d", i), Body: "body", MessageID: fmt.Sprintf("m%d@x", i),
				References: []string{"a@x"}, Automatic: i%2 == 0, CreatedAt: at(i * 1000)}
			if i%3 != 2 {
				m.Listing = listings[i%len(listings)]
			}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
			queued = append(queued, m)
		}
		return nil
	})
	update(t, st, func(tx core.Tx) error {
		for _, i := range []int{0, 5} { // one listed, one not
			if ok, err := tx.MarkMailSent(ctx, queued[i].ID, at(61_000)); !ok || err != nil {
				return fmt.Errorf("MarkMailSent = %v, %w", ok, err)
			}
		}
		return nil
	})
	want := slices.Delete(slices.Delete(slices.Clone(queued), 5, 6), 0, 1)
	for _, limit := range []int{100, 1, 2, 3, 5} {
		var got []core.OutMail
		after := int64(0)
		for {
			var ms []core.OutMail
			view(t, st, func(tx core.Tx) error {
				var err error
				ms, err = tx.PendingMails(ctx, after, limit)
				return err
			})
			if len(ms) > limit {
				t.Fatalf("PendingMails(limit %d) = %d mails", limit, len(ms))
			}
			got = append(got, ms...)
			if len(ms) < limit {
				break
			}
			after = ms[len(ms)-1].ID
		}
		if len(got) != len(want) {
			t.Fatalf("limit %d: %d mails, want %d", limit, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			if w.Listing == "" {
				if !samePendingMail(g, w) || g.Listing != "" {
					t.Errorf("limit %d: mail %d (id %d) without a listing:\n got  %+v\n want %+v", limit, i, g.ID, g, w)
				}
				continue
			}
			only := core.OutMail{ID: w.ID, To: w.To, Listing: w.Listing, State: core.MailPending}
			if g.ID != only.ID || g.To != only.To || g.Listing != only.Listing || g.State != only.State ||
				g.TicketID != "" || g.From != "" || g.Subject != "" || g.Body != "" || g.References != nil || !g.CreatedAt.IsZero() {
				t.Errorf("limit %d: listed mail %d (id %d):\n got  %.300s\n want %.300s", limit, i, g.ID, fmt.Sprintf("%+v", g), fmt.Sprintf("%+v", only))
			}
		}
	}
}
