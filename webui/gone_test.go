package webui_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"trivialtickets/core"
	"trivialtickets/webui"
)

// TestClientGone: a browser that closes the connection before the answer
// creates no ticket, and the daemon logs it at info, not as its own error.
func TestClientGone(t *testing.T) {
	var logs strings.Builder
	e := newEnvConfig(t, func(c *webui.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	form := url.Values{"email": {"gone@example.com"}, "subject": {"Gone"}, "message": {"Hello"}}
	req := httptest.NewRequest(http.MethodPost, "/ticket/new", strings.NewReader(form.Encode())).WithContext(ctx)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.h.ServeHTTP(httptest.NewRecorder(), req)

	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a client that went away is logged as an error:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "went away") {
		t.Errorf("log does not say the client went away:\n%s", logs.String())
	}
	list, err := e.svc.ListTickets(context.Background(), core.TicketQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tickets) != 0 {
		t.Errorf("%d tickets stored for a request whose client went away", len(list.Tickets))
	}
}
