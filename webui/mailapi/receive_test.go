package mailapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi"
	"trivialtickets/webui/mailapi/wire"
)

// TestReceiveClientGone: a client that closes the connection before the
// answer stores nothing, and the daemon does not log that as its own
// error (a load balancer's timeout would otherwise page someone).
func TestReceiveClientGone(t *testing.T) {
	var logs strings.Builder
	h, svc, _ := newAPI(t, func(c *mailapi.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodPost, wire.PathReceive,
		strings.NewReader(`{"from":"gone@example.com","subject":"Gone","message":"Hello"}`)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	h.ServeHTTP(httptest.NewRecorder(), req)

	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a client that went away is logged as an error:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "went away") {
		t.Errorf("log does not say the client went away:\n%s", logs.String())
	}
	list, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tickets) != 0 {
		t.Errorf("%d tickets stored for a request whose client went away", len(list.Tickets))
	}
}
