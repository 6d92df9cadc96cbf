package mailapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi"
	"trivialtickets/webui/mailapi/client"
	"trivialtickets/webui/mailapi/wire"
)

const validBody = `{"from":"alice@example.com","subject":"Printer on fire","message":"Please help."}`

func TestAuth(t *testing.T) {
	h, _, _ := newAPI(t, nil)
	for _, tc := range []struct {
		name, auth string
	}{
		{"missing", ""},
		{"wrong", "Bearer wrong-token"},
		{"prefix of the token", "Bearer " + testToken[:10]},
		{"token with more", "Bearer " + testToken + "x"},
		{"other scheme", "Basic " + testToken},
		{"no scheme", testToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{wire.PathReceive, wire.PathFetchMails, wire.PathVerifyMail, "/api/nothing"} {
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(validBody))
				if tc.auth != "" {
					req.Header.Set("Authorization", tc.auth)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				wantError(t, rec, http.StatusUnauthorized, "missing or wrong bearer token")
				if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("%s: WWW-Authenticate %q", path, got)
				}
				if rec.Header().Get("Allow") != "" {
					t.Errorf("%s: 401 tells the allowed methods", path)
				}
			}
		})
	}
	// Nothing was received.
	if ms := fetch(t, h); len(ms) != 0 {
		t.Fatalf("%d mails after unauthorized requests", len(ms))
	}
	// The scheme is case-insensitive (RFC 9110 §11.1).
	rec := request(t, h, http.MethodGet, wire.PathFetchMails, "", "", "none")
	wantError(t, rec, http.StatusUnauthorized, "")
	req := httptest.NewRequest(http.MethodGet, wire.PathFetchMails, nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("lower-case scheme: %d", rec.Code)
	}
}

func TestAuthSwitchedOff(t *testing.T) {
	h, _, _ := newAPI(t, func(c *mailapi.Config) { c.Token = "" })
	rec := request(t, h, http.MethodPost, wire.PathReceive, "application/json", validBody, "none")
	if rec.Code != http.StatusOK {
		t.Fatalf("without token check: %d %s", rec.Code, rec.Body)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h, _, _ := newAPI(t, nil)
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, wire.PathReceive, "POST"},
		{http.MethodPut, wire.PathReceive, "POST"},
		{http.MethodPost, wire.PathFetchMails, "GET, HEAD"},
		{http.MethodDelete, wire.PathFetchMails, "GET, HEAD"},
		{http.MethodGet, wire.PathVerifyMail, "POST"},
		{http.MethodHead, wire.PathVerifyMail, "POST"},
		{"get", wire.PathFetchMails, "GET, HEAD"},
	} {
		rec := request(t, h, tc.method, tc.path, "application/json", validBody, testToken)
		wantError(t, rec, http.StatusMethodNotAllowed, "method "+tc.method+" not allowed: use "+tc.allow)
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		if got := rec.Header().Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

func TestNotFound(t *testing.T) {
	h, _, _ := newAPI(t, nil)
	for _, path := range []string{"/api/", "/api/receive/", "/api/Receive", "/api/fetchmails", "/elsewhere",
		// Not clean: a 404 like any other unknown path, never a redirect.
		"/api//fetchMails", "/api/./fetchMails", "/api/x/../fetchMails", "//api/fetchMails"} {
		rec := request(t, h, http.MethodGet, path, "", "", testToken)
		wantError(t, rec, http.StatusNotFound, "")
		if loc := rec.Header().Get("Location"); loc != "" {
			t.Errorf("%s: redirected to %s", path, loc)
		}
	}
}

func TestReceiveValidation(t *testing.T) {
	h, _, _ := newAPI(t, nil)
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		message                 string // exact; prefix when it ends in "…"
	}{
		{"missing subject", "", `{"from":"a@example.com","message":"m"}`, 400, `missing required property "subject"`},
		{"missing from", "", `{"subject":"s","message":"m"}`, 400, `missing required property "from"`},
		{"missing message", "", `{"from":"a@example.com","subject":"s"}`, 400, `missing required property "message"`},
		{"empty object", "", `{}`, 400, `missing required property "from"`},
		{"from a number", "", `{"from":1,"subject":"s","message":"m"}`, 400, `property "from" must be a string`},
		{"from null", "", `{"from":null,"subject":"s","message":"m"}`, 400, `property "from" must be a string`},
		{"subject an object", "", `{"from":"a@example.com","subject":{},"message":"m"}`, 400, `property "subject" must be a string`},
		{"message an array", "", `{"from":"a@example.com","subject":"s","message":["m"]}`, 400, `property "message" must be a string`},
		{"extra cc", "", `{"from":"a@example.com","subject":"s","message":"m","cc":"b@example.com"}`, 400, `unknown property "cc"`},
		{"wrong case", "", `{"From":"a@example.com","subject":"s","message":"m"}`, 400, `unknown property "From"`},
		{"invalid address", "", `{"from":"x@","subject":"s","message":"m"}`, 400, `"x@" is not a valid e-mail address`},
		{"display name", "", `{"from":"Alice <a@example.com>","subject":"s","message":"m"}`, 400, `"Alice <a@example.com>" is not a valid e-mail address`},
		{"empty from", "", `{"from":"","subject":"s","message":"m"}`, 400, `property "from" must not be empty`},
		{"empty subject", "", `{"from":"a@example.com","subject":"","message":"m"}`, 400, `property "subject" must not be empty`},
		{"blank subject", "", `{"from":"a@example.com","subject":" \t","message":"m"}`, 400, `property "subject" must not be empty`},
		{"empty message", "", `{"from":"a@example.com","subject":"s","message":""}`, 400, `property "message" must not be empty`},
		{"duplicate key", "", `{"from":"a@example.com","from":"b@example.com","subject":"s","message":"m"}`, 400, `duplicate property "from"`},
		{"invalid JSON", "", `{"from":"a@example.com",`, 400, `invalid JSON…`},
		{"single quotes", "", `{'from':'a@example.com'}`, 400, `invalid JSON…`},
		{"trailing data", "", validBody + `{}`, 400, `invalid JSON…`},
		{"empty body", "", ``, 400, `invalid JSON: the body is empty…`},
		{"array", "", `[` + validBody + `]`, 400, `the body must be a JSON object…`},
		{"string", "", `"hello"`, 400, `the body must be a JSON object…`},
		{"text/plain", "text/plain", validBody, 415, `unsupported Content-Type "text/plain"…`},
		{"latin1 JSON", "application/json; charset=iso-8859-1", validBody, 415, `unsupported charset…`},
		{"broken content type", "application/json; charset", validBody, 415, `invalid Content-Type…`},
		{"valid", "application/json", validBody, 200, "OK"},
		{"valid with charset", "application/json; charset=UTF-8", validBody, 200, "OK"},
		{"valid without content type", "", validBody, 200, "OK"},
		{"valid with white space", "", " \n" + validBody + "\n", 200, "OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			rec := request(t, h, http.MethodPost, wire.PathReceive, ct, tc.body, testToken)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			var e wire.ErrorResponse
			decode(t, rec, &e)
			if e.Status != tc.status {
				t.Errorf("status property %d", e.Status)
			}
			if prefix, ok := strings.CutSuffix(tc.message, "…"); ok {
				if !strings.HasPrefix(e.Message, prefix) {
					t.Errorf("message %q, want it to start with %q", e.Message, prefix)
				}
			} else if e.Message != tc.message {
				t.Errorf("message %q, want %q", e.Message, tc.message)
			}
		})
	}
}

func TestReceiveCreatesTicket(t *testing.T) {
	h, svc, _ := newAPI(t, nil)
	resp := receive(t, h, "Alice@Example.COM", "Printer on fire", "Please help.")
	if resp.Status != 200 || resp.Message != "OK" || !resp.Created || !core.ValidTicketID(resp.TicketID) {
		t.Fatalf("answer %+v", resp)
	}
	if resp.Link != "https://help.example.com/ticket?id="+resp.TicketID {
		t.Errorf("link %q", resp.Link)
	}
	v, err := svc.ViewTicket(context.Background(), nil, resp.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Ticket.Customer != "Alice@example.com" || v.Ticket.Subject != "Printer on fire" || v.Ticket.Status != core.StatusOpen || v.Ticket.Assignee != "" {
		t.Errorf("ticket %+v", v.Ticket)
	}
	if len(v.Entries) != 1 || v.Entries[0].Text != "Please help." {
		t.Errorf("entries %+v", v.Entries)
	}
	// The confirmation waits in the outbox, with link and tag.
	ms := fetch(t, h)
	if len(ms) != 1 {
		t.Fatalf("%d pending mails, want the confirmation", len(ms))
	}
	m := ms[0]
	if m.To != "Alice@example.com" || m.Subject != `[Ticket "`+resp.TicketID+`"] Printer on fire` ||
		!strings.Contains(m.Message, resp.Link) || m.TicketID != resp.TicketID || m.MessageID == "" {
		t.Errorf("confirmation %+v", m)
	}
}

func TestReceiveReply(t *testing.T) {
	h, svc, _ := newAPI(t, nil)
	ctx := context.Background()
	first := receive(t, h, "bob@example.com", "Login broken", "I cannot log in.")
	tag := core.Tag(first.TicketID)

	// A reply with the tag is appended: no new ticket, no mail back.
	before := len(fetch(t, h))
	reply := receive(t, h, "bob@example.com", "Re: "+tag+" Login broken", "Still broken.")
	if reply.Created || reply.TicketID != first.TicketID {
		t.Fatalf("reply answer %+v, want created false on %s", reply, first.TicketID)
	}
	if after := len(fetch(t, h)); after != before {
		t.Errorf("the customer's reply queued %d mails", after-before)
	}
	v, err := svc.ViewTicket(ctx, nil, first.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.Entries); n != 2 || v.Entries[1].Text != "Still broken." {
		t.Fatalf("entries after reply: %+v", v.Entries)
	}

	// The tag is found in any case and spacing.
	r := receive(t, h, "bob@example.com", strings.ToUpper(`[ticket "`)+strings.ToUpper(first.TicketID)+`"]`, "Shouting.")
	if r.Created || r.TicketID != first.TicketID {
		t.Errorf("upper-case tag: %+v", r)
	}

	// A closed ticket goes back to Open.
	if err := svc.AddAgent(ctx, "agent", "Agent", "a long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Save(ctx, "agent", first.TicketID, core.Change{Status: core.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	if v, _ := svc.ViewTicket(ctx, nil, first.TicketID); v.Ticket.Status != core.StatusClosed {
		t.Fatalf("status %s after closing", v.Ticket.Status)
	}
	r = receive(t, h, "bob@example.com", tag+" thanks, but", "It is back.")
	if r.Created || r.TicketID != first.TicketID {
		t.Fatalf("reply to closed: %+v", r)
	}
	if v, _ := svc.ViewTicket(ctx, nil, first.TicketID); v.Ticket.Status != core.StatusOpen {
		t.Errorf("status %s after the customer answered the closed ticket, want open", v.Ticket.Status)
	}

	// A tag naming an unknown ticket opens a new ticket and keeps the tag.
	unknown := core.NewTicketID()
	r = receive(t, h, "bob@example.com", core.Tag(unknown)+" other", "New?")
	if !r.Created || r.TicketID == unknown || r.TicketID == first.TicketID {
		t.Fatalf("unknown tag: %+v", r)
	}
	if v, _ := svc.ViewTicket(ctx, nil, r.TicketID); !strings.Contains(v.Ticket.Subject, unknown) {
		t.Errorf("subject %q lost the unknown tag", v.Ticket.Subject)
	}
}

func TestReceiveTooLarge(t *testing.T) {
	h, _, _ := newAPI(t, func(c *mailapi.Config) { c.MaxBodyBytes = 200 })
	big := fmt.Sprintf(`{"from":"a@example.com","subject":"s","message":%q}`, strings.Repeat("x", 300))
	rec := post(t, h, wire.PathReceive, big)
	wantError(t, rec, http.StatusRequestEntityTooLarge, "")
	raw := "From: a@example.com\r\nSubject: s\r\n\r\n" + strings.Repeat("x", 300)
	rec = request(t, h, http.MethodPost, wire.PathReceive, "message/rfc822", raw, testToken)
	wantError(t, rec, http.StatusRequestEntityTooLarge, "")
	// Just under the limit is fine.
	rec = post(t, h, wire.PathReceive, validBody)
	if rec.Code != http.StatusOK {
		t.Fatalf("small body: %d %s", rec.Code, rec.Body)
	}
	if ms := fetch(t, h); len(ms) != 1 {
		t.Errorf("%d mails, want 1: the large bodies must not have been received", len(ms))
	}
}

func TestReceiveRFC822(t *testing.T) {
	h, svc, _ := newAPI(t, nil)
	raw := "From: Carol <carol@example.com>\r\n" +
		"To: support@example.com\r\n" +
		"Subject: Invoice missing\r\n" +
		"Message-ID: <abc123@mail.example.com>\r\n" +
		"\r\n" +
		"Where is my invoice?\r\n"
	postRaw := func(raw string) *httptest.ResponseRecorder {
		return request(t, h, http.MethodPost, wire.PathReceive, "message/rfc822", raw, testToken)
	}
	rec := postRaw(raw)
	if rec.Code != http.StatusOK {
		t.Fatalf("raw message: %d %s", rec.Code, rec.Body)
	}
	var first wire.ReceiveResponse
	decode(t, rec, &first)
	if !first.Created {
		t.Fatalf("answer %+v", first)
	}
	v, err := svc.ViewTicket(context.Background(), nil, first.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Ticket.Customer != "carol@example.com" || v.Ticket.Subject != "Invoice missing" || !strings.Contains(v.Entries[0].Text, "Where is my invoice?") {
		t.Errorf("ticket %+v entries %+v", v.Ticket, v.Entries)
	}

	// The same Message-ID again is a duplicate: acknowledged, nothing new.
	rec = postRaw(raw)
	var dup wire.ReceiveResponse
	decode(t, rec, &dup)
	if rec.Code != http.StatusOK || dup.Created || !dup.Duplicate || dup.TicketID != first.TicketID {
		t.Errorf("duplicate: %d %+v", rec.Code, dup)
	}

	// A reply threaded by In-Reply-To to our confirmation is appended.
	ms := fetch(t, h)
	if len(ms) != 1 {
		t.Fatalf("%d mails", len(ms))
	}
	reply := "From: carol@example.com\r\nSubject: Re: your request\r\nMessage-ID: <def456@mail.example.com>\r\n" +
		"In-Reply-To: <" + ms[0].MessageID + ">\r\n\r\nThanks.\r\n"
	rec = postRaw(reply)
	var rr wire.ReceiveResponse
	decode(t, rec, &rr)
	if rec.Code != http.StatusOK || rr.Created || rr.TicketID != first.TicketID {
		t.Errorf("threaded reply: %d %+v", rec.Code, rr)
	}

	// Parse errors and invalid senders are 400 with the reason.
	wantError(t, postRaw("this is not a mail"), http.StatusBadRequest, "")
	e := postRaw("From: x@\r\nSubject: s\r\n\r\nbody\r\n")
	wantError(t, e, http.StatusBadRequest, `"x@" is not a valid e-mail address`)

	// Without a parser, raw messages are refused.
	h2, _, _ := newAPI(t, func(c *mailapi.Config) { c.ParseRaw = nil })
	wantError(t, request(t, h2, http.MethodPost, wire.PathReceive, "message/rfc822", raw, testToken), http.StatusUnsupportedMediaType, "")
}

func TestFetchAndVerify(t *testing.T) {
	h, _, _ := newAPI(t, nil)
	// Nothing pending: {}.
	rec := request(t, h, http.MethodGet, wire.PathFetchMails, "", "", testToken)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "{}" {
		t.Fatalf("empty fetch: %d %q", rec.Code, rec.Body)
	}
	a := receive(t, h, "a@example.com", "one", "m")
	b := receive(t, h, "b@example.com", "two", "m")
	ms := fetch(t, h)
	if len(ms) != 2 || ms[0].TicketID != a.TicketID || ms[1].TicketID != b.TicketID {
		t.Fatalf("fetch: %+v", ms)
	}
	// Fetching changes nothing.
	if again := fetch(t, h); len(again) != 2 {
		t.Fatalf("second fetch: %d mails", len(again))
	}
	// HEAD answers like GET without a body.
	rec = request(t, h, http.MethodHead, wire.PathFetchMails, "", "", testToken)
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d %q", rec.Code, rec.Body)
	}

	resp := verify(t, h, ms[0].ID)
	if !resp.Verified || resp.Status != 200 || resp.Message != "mail "+ms[0].ID+" marked as sent" {
		t.Fatalf("verify: %+v", resp)
	}
	left := fetch(t, h)
	if len(left) != 1 || left[0].ID != ms[1].ID {
		t.Fatalf("after verify: %+v", left)
	}
	// Twice, unknown, not a number: 200 with verified false.
	for _, id := range []string{ms[0].ID, "999999", "abc", "-1", "0", " " + ms[1].ID, "1e3", "99999999999999999999999"} {
		if r := verify(t, h, id); r.Verified || r.Status != 200 {
			t.Errorf("verify %q: %+v", id, r)
		}
	}
	if len(fetch(t, h)) != 1 {
		t.Fatal("a failed verify changed the outbox")
	}

	for _, tc := range []struct{ body, message string }{
		{`{"id":5}`, `property "id" must be a string`},
		{`{}`, `missing required property "id"`},
		{`{"id":"1","x":1}`, `unknown property "x"`},
		{`{"id":"1","id":"2"}`, `duplicate property "id"`},
		{`{"id":""}`, `property "id" must not be empty`},
		{`{"id":`, ""},
	} {
		wantError(t, post(t, h, wire.PathVerifyMail, tc.body), http.StatusBadRequest, tc.message)
	}
	wantError(t, request(t, h, http.MethodPost, wire.PathVerifyMail, "text/plain", `{"id":"1"}`, testToken), http.StatusUnsupportedMediaType, "")
}

func TestFetchMany(t *testing.T) {
	h, _, st := newAPI(t, nil)
	ctx := context.Background()
	first := receive(t, h, "many@example.com", "many", "m")
	const n = 2000
	err := st.Update(ctx, func(tx core.Tx) error {
		for i := range n {
			m := core.OutMail{
				TicketID: first.TicketID, From: "support@example.com", To: "many@example.com",
				Subject: fmt.Sprintf("mail %d", i), Body: strings.Repeat("body ", 20),
				MessageID: fmt.Sprintf("m%d.tt@example.com", i), State: core.MailPending, CreatedAt: time.Now(),
			}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ms := fetch(t, h)
	if len(ms) != n+1 {
		t.Fatalf("%d mails, want %d", len(ms), n+1)
	}
	seen := map[string]bool{}
	var last int64
	for _, m := range ms {
		id, err := strconv.ParseInt(m.ID, 10, 64)
		if err != nil || id <= last || seen[m.ID] {
			t.Fatalf("id %q after %d: not ascending or twice", m.ID, last)
		}
		seen[m.ID], last = true, id
	}
	// Confirm a few in the middle of pages; the rest stays in order.
	for _, i := range []int{0, 499, 500, 1000, n} {
		if !verify(t, h, ms[i].ID).Verified {
			t.Fatalf("verify %s", ms[i].ID)
		}
	}
	if left := fetch(t, h); len(left) != n+1-5 {
		t.Fatalf("%d left", len(left))
	}
}

func TestStoreFailure(t *testing.T) {
	h, _, st := newAPI(t, nil)
	st.Close()
	wantError(t, post(t, h, wire.PathReceive, validBody), http.StatusInternalServerError, "internal error")
	wantError(t, request(t, h, http.MethodGet, wire.PathFetchMails, "", "", testToken), http.StatusInternalServerError, "internal error")
	wantError(t, post(t, h, wire.PathVerifyMail, `{"id":"1"}`), http.StatusInternalServerError, "internal error")
}

// TestClient runs the Go client against the handler over HTTP.
func TestClient(t *testing.T) {
	h, _, _ := newAPI(t, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL+"/", testToken, srv.Client())

	var ids []string
	for i := range 12 { // ids 1..12: numeric order differs from string order
		r, err := c.Receive(ctx, wire.ReceiveRequest{From: fmt.Sprintf("c%d@example.com", i), Subject: "s", Message: "m"})
		if err != nil || !r.Created {
			t.Fatalf("receive: %+v %v", r, err)
		}
		ids = append(ids, r.TicketID)
	}
	r, err := c.ReceiveRaw(ctx, strings.NewReader("From: raw@example.com\r\nSubject: raw\r\n\r\nraw body\r\n"))
	if err != nil || !r.Created {
		t.Fatalf("receive raw: %+v %v", r, err)
	}
	ms, err := c.FetchMails(ctx)
	if err != nil || len(ms) != 13 {
		t.Fatalf("fetch: %d %v", len(ms), err)
	}
	for i := 1; i < len(ms); i++ {
		a, _ := strconv.Atoi(ms[i-1].ID)
		b, _ := strconv.Atoi(ms[i].ID)
		if a >= b {
			t.Fatalf("not in numeric order: %s before %s", ms[i-1].ID, ms[i].ID)
		}
	}
	if ok, err := c.VerifyMail(ctx, ms[0].ID); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, err := c.VerifyMail(ctx, ms[0].ID); ok || err != nil {
		t.Fatalf("verify twice: %v %v", ok, err)
	}

	_, err = c.Receive(ctx, wire.ReceiveRequest{From: "x@", Subject: "s", Message: "m"})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Error() != `server answered 400: "x@" is not a valid e-mail address` {
		t.Fatalf("error %v", err)
	}
	_, err = client.New(srv.URL, "wrong", srv.Client()).FetchMails(ctx)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Message != "missing or wrong bearer token" {
		t.Fatalf("wrong token: %v", err)
	}
	// An answer that is not the Mail API's JSON still makes a readable error.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer plain.Close()
	_, err = client.New(plain.URL, "", nil).FetchMails(ctx)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || !strings.Contains(apiErr.Message, "bad gateway") {
		t.Fatalf("proxy error: %v", err)
	}
}
