package mailapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store"
	"trivialtickets/store/storetest"
	"trivialtickets/webui/mailapi"
)

// TestReceiveStoreUnavailable holds SQLite's writer longer than the
// store's time budget: POST /api/receive answers 503 with Retry-After and
// a message saying the request was not stored, and stores nothing; once
// the writer is free the same request gets 200.
func TestReceiveStoreUnavailable(t *testing.T) {
	st := newStore(t)
	guard := store.NewGuard(st, 100*time.Millisecond)
	svc := newService(t, guard)
	h := mailapi.New(mailapi.Config{Service: svc, Token: testToken, ParseRaw: parseRaw, Logger: slog.New(slog.DiscardHandler)})
	receive := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/receive",
			strings.NewReader(`{"from":"c@example.com","subject":"Busy","message":"Hello"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	// Another writer holds the database for 600 ms.
	released := storetest.HoldWriter(st, 600*time.Millisecond)
	rec := receive()
	<-released
	var body struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusServiceUnavailable || body.Status != 503 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("receive while the store is busy: %d %s, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(body.Message, "not stored") {
		t.Errorf("message %q does not say that the request was not stored", body.Message)
	}
	list, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tickets) != 0 {
		t.Errorf("%d tickets stored for a request answered 503", len(list.Tickets))
	}
	if rec := receive(); rec.Code != http.StatusOK {
		t.Errorf("receive once the store is free: %d %s", rec.Code, rec.Body)
	}
}

// TestReceiveRawParserBusy: a raw message the parser could not take for
// lack of room (too many large messages at once) is 503, not 400: the
// message was fine and is to be sent again.
func TestReceiveRawParserBusy(t *testing.T) {
	svc := newService(t, newStore(t))
	busy := func(io.Reader) (core.InboundMessage, error) {
		return core.InboundMessage{}, fmt.Errorf("%w: no turn for a large message", core.ErrUnavailable)
	}
	h := mailapi.New(mailapi.Config{Service: svc, Token: testToken, ParseRaw: busy, Logger: slog.New(slog.DiscardHandler)})
	req := httptest.NewRequest(http.MethodPost, "/api/receive", strings.NewReader("From: c@example.com\r\n\r\nHello\r\n"))
	req.Header.Set("Content-Type", "message/rfc822")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("busy parser: %d %s, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
}
