package mailapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui/mailapi"
	"trivialtickets/webui/mailapi/wire"
)

const testToken = "test-token-0123456789abcdef"

// newStore opens a fresh SQLite store in a temporary directory.
func newStore(tb testing.TB) core.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "ticketd.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// newService returns a service on st that, as the daemon's, makes the
// listing of every mail it queues.
func newService(tb testing.TB, st core.Store) *core.Service {
	return core.NewService(st, core.Config{
		PublicURL:        "https://help.example.com",
		SupportAddresses: []string{"support@example.com"},
		ListMail:         mailapi.ListMail,
	})
}

// newAPI returns a Mail API handler on a fresh store with the test token
// and the small net/mail parser; mod may change the configuration.
func newAPI(tb testing.TB, mod func(*mailapi.Config)) (http.Handler, *core.Service, core.Store) {
	tb.Helper()
	return newAPIOn(tb, newStore(tb), mod)
}

// newAPIOn is newAPI on the store st.
func newAPIOn(tb testing.TB, st core.Store, mod func(*mailapi.Config)) (http.Handler, *core.Service, core.Store) {
	tb.Helper()
	svc := newService(tb, st)
	cfg := mailapi.Config{
		Service:  svc,
		Token:    testToken,
		ParseRaw: parseRaw,
		Logger:   slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	return mailapi.New(cfg), svc, st
}

// parseRaw is a tiny stand-in for mailgw/parse, built on net/mail: enough
// for From, Subject, the text body and the threading headers.
func parseRaw(r io.Reader) (core.InboundMessage, error) {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return core.InboundMessage{}, fmt.Errorf("read message: %w", err)
	}
	var m core.InboundMessage
	if from, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
		m.From, m.FromName = from.Address, from.Name
	} else {
		m.From = msg.Header.Get("From")
	}
	m.Subject = msg.Header.Get("Subject")
	m.MessageID = strings.Trim(msg.Header.Get("Message-ID"), "<> ")
	if irt := strings.Trim(msg.Header.Get("In-Reply-To"), "<> "); irt != "" {
		m.InReplyTo = []string{irt}
	}
	m.AutoSubmitted = msg.Header.Get("Auto-Submitted")
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return core.InboundMessage{}, fmt.Errorf("read body: %w", err)
	}
	m.Text = string(body)
	return m, nil
}

// request sends one request to h, with the test token unless token is
// "none".
func request(tb testing.TB, h http.Handler, method, path, contentType, body, token string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "none" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func post(tb testing.TB, h http.Handler, path, body string) *httptest.ResponseRecorder {
	tb.Helper()
	return request(tb, h, http.MethodPost, path, "application/json", body, testToken)
}

// receive posts a valid JSON message and returns the answer.
func receive(tb testing.TB, h http.Handler, from, subject, message string) wire.ReceiveResponse {
	tb.Helper()
	return postOK[wire.ReceiveResponse](tb, h, wire.PathReceive, wire.ReceiveRequest{From: from, Subject: subject, Message: message})
}

// postOK posts req as JSON to path, fails unless the answer is 200, and
// returns the answer decoded.
func postOK[Resp any](tb testing.TB, h http.Handler, path string, req any) Resp {
	tb.Helper()
	b, _ := json.Marshal(req)
	rec := post(tb, h, path, string(b))
	if rec.Code != http.StatusOK {
		tb.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	var resp Resp
	decode(tb, rec, &resp)
	return resp
}

// decode checks that rec is JSON and decodes it into v.
func decode(tb testing.TB, rec *httptest.ResponseRecorder, v any) {
	tb.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("Content-Type %q, want application/json (body %s)", ct, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		tb.Fatalf("decode %s: %v", rec.Body, err)
	}
}

// wantError checks that rec is the JSON error {status, message}.
func wantError(tb testing.TB, rec *httptest.ResponseRecorder, status int, message string) {
	tb.Helper()
	if rec.Code != status {
		tb.Fatalf("status %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
	var e wire.ErrorResponse
	decode(tb, rec, &e)
	if e.Status != status {
		tb.Errorf("status property %d, want %d", e.Status, status)
	}
	if message != "" && e.Message != message {
		tb.Errorf("message %q, want %q", e.Message, message)
	}
}

// fetch returns the pending mails in the order of the answer.
func fetch(tb testing.TB, h http.Handler) []wire.Mail {
	tb.Helper()
	rec := request(tb, h, http.MethodGet, wire.PathFetchMails, "", "", testToken)
	if rec.Code != http.StatusOK {
		tb.Fatalf("fetch: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("Content-Type %q", ct)
	}
	dec := json.NewDecoder(rec.Body)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		tb.Fatalf("fetch answer does not start an object: %v %v", tok, err)
	}
	var mails []wire.Mail
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			tb.Fatal(err)
		}
		var m wire.Mail
		if err := dec.Decode(&m); err != nil {
			tb.Fatal(err)
		}
		if m.ID != tok.(string) {
			tb.Fatalf("mail under key %q has id %q", tok, m.ID)
		}
		mails = append(mails, m)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		tb.Fatalf("fetch answer does not end the object: %v %v", tok, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		tb.Fatalf("data after the object: %v", err)
	}
	return mails
}

// verify confirms one mail and returns the answer.
func verify(tb testing.TB, h http.Handler, id string) wire.VerifyResponse {
	tb.Helper()
	return postOK[wire.VerifyResponse](tb, h, wire.PathVerifyMail, wire.VerifyRequest{ID: id})
}
