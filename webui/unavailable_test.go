package webui_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store"
	"trivialtickets/store/sqlite"
	"trivialtickets/store/storetest"
	"trivialtickets/webui"
)

// TestStoreUnavailable holds SQLite's writer longer than the store's time
// budget: the customer form answers 503 with Retry-After and a page that
// says nothing was stored, nothing is stored, /healthz fails with the
// cause on one line; once the writer is free, the form works and /healthz
// is ok again.
func TestStoreUnavailable(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tickets.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	guard := store.NewGuard(st, 100*time.Millisecond)
	svc := core.NewService(guard, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}})
	h, err := webui.New(webui.Config{Service: svc, Logger: slog.New(slog.DiscardHandler), Health: guard.Health})
	if err != nil {
		t.Fatal(err)
	}
	post := func(subject string) *httptest.ResponseRecorder {
		form := url.Values{"email": {"c@example.com"}, "subject": {subject}, "message": {"Hello"}}
		req := httptest.NewRequest(http.MethodPost, "/ticket/new", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	health := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec
	}

	// Another writer holds the database for 600 ms.
	released := storetest.HoldWriter(st, 600*time.Millisecond)
	rec := post("While busy")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("form while the store is busy: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(rec.Body.String(), "nothing was stored") {
		t.Errorf("503 page does not say that nothing was stored:\n%s", rec.Body.String())
	}
	<-released
	hr := health()
	if hr.Code != http.StatusServiceUnavailable || strings.Count(hr.Body.String(), "\n") != 1 || !strings.Contains(hr.Body.String(), "budget") {
		t.Errorf("healthz after the failed write: %d %q; want 503 with the cause on one line", hr.Code, hr.Body.String())
	}
	list, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tickets) != 0 {
		t.Errorf("%d tickets stored for a request answered 503", len(list.Tickets))
	}

	if rec := post("When free"); rec.Code != http.StatusSeeOther {
		t.Errorf("form once the store is free: %d, want 303", rec.Code)
	}
	if hr := health(); hr.Code != http.StatusOK {
		t.Errorf("healthz after a successful write: %d %q", hr.Code, hr.Body.String())
	}
}
