package mailapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui/mailapi"
	"trivialtickets/webui/mailapi/wire"
)

// queueMails queues n mails to one new ticket; mod may change the i-th.
func queueMails(tb testing.TB, st core.Store, n int, mod func(i int, m *core.OutMail)) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	tk := core.Ticket{ID: core.NewTicketID(), Subject: "s", Customer: "c@example.com", Status: core.StatusOpen,
		CreatedAt: now, UpdatedAt: now}
	err := st.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		for i := range n {
			m := core.OutMail{TicketID: tk.ID, From: "support@help.example", To: fmt.Sprintf("c%d@example.com", i),
				ReplyTo: "support+" + tk.ID + "@help.example", Subject: core.Tag(tk.ID) + " Printer",
				Body:      "Hello,\n\nwe received your message and opened ticket " + tk.ID + ".\nFollow it here: https://help.example/ticket?id=" + tk.ID + "\n\nYour support team",
				MessageID: fmt.Sprintf("m%d.tt@help.example", i), InReplyTo: "x@example.com", References: []string{"x@example.com"},
				CreatedAt: now}
			if mod != nil {
				mod(i, &m)
			}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestFetchBodyAsEncodingJSON checks the answer byte for byte against
// what encoding/json makes of the same mails, with text that needs every
// kind of escaping, over several pages.
func TestFetchBodyAsEncodingJSON(t *testing.T) {
	h, svc, st := newAPI(t, nil)
	hostile := []string{"<script>alert(1)</script> & co", "quote \" backslash \\", "ctl \x00\x01\b\f\x1f\x7f",
		"Grüße 日本語 🎫", "sep\u2028ara\u2029tors", "bad \xff\xfe utf-8 \xc3", ""}
	queueMails(t, st, 1234, func(i int, m *core.OutMail) {
		s := hostile[i%len(hostile)]
		m.Subject, m.Body = s+m.Subject, m.Body+s
		if i%5 == 0 {
			m.ReplyTo, m.InReplyTo, m.References = "", "", nil
		}
		if i%7 == 0 {
			m.References = append(m.References, s)
		}
	})
	ms, err := svc.PendingMails(context.Background(), 0, 10_000)
	if err != nil || len(ms) != 1234 {
		t.Fatalf("PendingMails: %d, %v", len(ms), err)
	}
	var want bytes.Buffer
	want.WriteString("{")
	for i, m := range ms {
		if i > 0 {
			want.WriteString(",")
		}
		b, err := json.Marshal(wire.Mail{ID: strconv.FormatInt(m.ID, 10), From: m.From, To: m.To, Subject: m.Subject,
			Message: m.Body, TicketID: m.TicketID, ReplyTo: m.ReplyTo, MessageID: m.MessageID, InReplyTo: m.InReplyTo,
			References: m.References, CreatedAt: m.CreatedAt})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&want, "\n%q: %s\n", strconv.FormatInt(m.ID, 10), b)
	}
	want.WriteString("\n}\n")
	rec := request(t, h, http.MethodGet, wire.PathFetchMails, "", "", testToken)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if got := rec.Body.Bytes(); !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && i < len(want.Bytes()) && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("answer differs from encoding/json's at byte %d of %d:\n got  %.200q\n want %.200q",
			i, want.Len(), got[i:], want.Bytes()[i:])
	}
	// Nothing pending: an empty object.
	empty, _, _ := newAPI(t, nil)
	if rec := request(t, empty, http.MethodGet, wire.PathFetchMails, "", "", testToken); rec.Body.String() != "{}\n" {
		t.Errorf("empty answer %q, want {}", rec.Body)
	}
}

// TestFetchPastUnaddressable puts a mail that core refuses to hand out
// (its To is not one address) early in the queue: the page it was on comes
// back one short, and the mails after it must still be listed. Every
// other mail has a listing, among them one of the refused ones.
func TestFetchPastUnaddressable(t *testing.T) {
	h, _, st := newAPI(t, nil)
	const n = 1500
	queueMails(t, st, n, func(i int, m *core.OutMail) {
		if i == 10 || i == 700 {
			m.To = "two@example.com, addresses@example.com"
		}
		if i%2 == 0 {
			m.Listing = mailapi.ListMail(m)
		}
	})
	ms := fetch(t, h)
	if len(ms) != n-2 {
		t.Fatalf("%d mails listed, want %d", len(ms), n-2)
	}
	for _, m := range ms {
		if strings.Contains(m.To, ",") {
			t.Fatalf("mail %s to %q listed", m.ID, m.To)
		}
	}
}

// TestFetchClientGoesAway closes the connection in the middle of a long
// answer: the handler and its loader stop, and the next fetch is whole.
func TestFetchClientGoesAway(t *testing.T) {
	h, _, st := newAPI(t, nil)
	const n = 3000
	queueMails(t, st, n, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req := httptestRequest(ctx, wire.PathFetchMails)
	w := &stopWriter{header: http.Header{}, stopAfter: 100 << 10, cancel: cancel}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, req)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("fetchMails still running after the client went away")
	}
	if w.n >= n*300 {
		t.Errorf("wrote %d bytes to a client that had gone", w.n)
	}
	if ms := fetch(t, h); len(ms) != n {
		t.Fatalf("next fetch: %d mails, want %d", len(ms), n)
	}
}

// stopWriter is a client that reads stopAfter bytes and goes away: its
// request's context is cancelled and every later write fails.
type stopWriter struct {
	header    http.Header
	n         int
	stopAfter int
	cancel    context.CancelFunc
}

func (w *stopWriter) Header() http.Header { return w.header }
func (w *stopWriter) WriteHeader(int)     {}
func (w *stopWriter) Write(p []byte) (int, error) {
	if w.n >= w.stopAfter {
		w.cancel()
		return 0, context.Canceled
	}
	w.n += len(p)
	return len(p), nil
}

func httptestRequest(ctx context.Context, path string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://help.example"+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	return req
}

// TestFetchListedAsEncoded lists mails from the listings made when they
// were queued (by core, as the daemon does, and by hand with text that
// needs every kind of escaping and times in other zones), then the same
// mails without listings, as mails queued before the outbox kept them
// are: the two answers are the same, byte for byte.
func TestFetchListedAsEncoded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ticketd.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, _, _ := newAPIOn(t, st, nil)
	hostile := []string{"<script>alert(1)</script> & co", "quote \" backslash \\", "ctl \x00\x01\b\f\x1f\x7f",
		"Grüße 日本語 🎫", "sep\u2028ara\u2029tors", "bad \xff\xfe utf-8 \xc3", "plain"}
	for i := range 60 {
		s := hostile[i%len(hostile)]
		receive(t, h, fmt.Sprintf("c%d@example.com", i), "Printer "+s, "It is on fire. "+s)
	}
	zone := time.FixedZone("x", -5*3600-30*60)
	queueMails(t, st, 700, func(i int, m *core.OutMail) {
		s := hostile[i%len(hostile)]
		m.Subject, m.Body, m.References = s+m.Subject, m.Body+s, append(m.References, s)
		if i%3 == 0 {
			m.ReplyTo, m.InReplyTo, m.References = "", "", nil
		}
		if i%2 == 0 {
			m.CreatedAt = m.CreatedAt.In(zone)
		}
		m.Listing = mailapi.ListMail(m)
	})

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(where string) int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM outbox WHERE state = 'pending' AND ` + where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("listing IS NOT NULL"); n != 760 {
		t.Fatalf("%d pending mails with a listing, want 760", n)
	}
	listed := request(t, h, http.MethodGet, wire.PathFetchMails, "", "", testToken)
	if _, err := db.Exec(`UPDATE outbox SET listing = NULL`); err != nil {
		t.Fatal(err)
	}
	if n := count("listing IS NULL"); n != 760 {
		t.Fatalf("%d pending mails without a listing, want 760", n)
	}
	encoded := request(t, h, http.MethodGet, wire.PathFetchMails, "", "", testToken)
	if listed.Code != http.StatusOK || encoded.Code != http.StatusOK {
		t.Fatalf("status %d and %d", listed.Code, encoded.Code)
	}
	got, want := listed.Body.Bytes(), encoded.Body.Bytes()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("listed from listings differs from encoded at byte %d of %d:\n got  %.200q\n want %.200q",
			i, len(want), got[i:], want[i:])
	}
	if ms := fetch(t, h); len(ms) != 760 {
		t.Fatalf("%d mails listed, want 760", len(ms))
	}
}
