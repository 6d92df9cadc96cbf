package webui_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"trivialtickets/webui"
)

// TestFormRateLimit: the anonymous forms share a budget per client
// address; the next one gets 429 with Retry-After and a message saying when
// to try again. Other addresses and logged-in agents are not limited.
func TestFormRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, func(c *webui.Config) { c.FormRate = webui.Rate{N: 3, Per: time.Hour} })
	e.agent("alice", "")
	b := e.browser()
	id := b.create("victim@example.com", "one", "m")
	b.create("victim+2@example.com", "two", "m")
	expectCode(t, b.post("/ticket/comment", url.Values{"id": {id}, "comment": {"hello"}}), http.StatusSeeOther)
	for _, r := range []resp{
		b.post("/ticket/new", url.Values{"email": {"Victim@example.com"}, "subject": {"four"}, "message": {"m"}}),
		b.post("/ticket/comment", url.Values{"id": {id}, "comment": {"again"}}),
	} {
		expectCode(t, r, http.StatusTooManyRequests)
		expectContains(t, r.Body, "Too many forms sent from your address; please try again in 20 minutes.")
		if got := r.Header.Get("Retry-After"); got != "1200" {
			t.Errorf("Retry-After %q, want 1200", got)
		}
	}
	other := e.browser()
	other.remote = "203.0.113.8:1000"
	other.create("carol@example.com", "mine", "m")
	b.login("alice")
	b.create("dave@example.com", "for a customer", "m")
}

// TestAPIRateLimit: the Mail API is limited per client address too, with
// its JSON error.
func TestAPIRateLimit(t *testing.T) {
	t.Parallel()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	e := newEnvConfig(t, func(c *webui.Config) { c.MailAPI = api; c.APIRate = webui.Rate{N: 2, Per: time.Minute} })
	get := func(remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/fetchMails", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	for range 2 {
		if rec := get("192.0.2.1:1"); rec.Code != 200 {
			t.Fatalf("within the rate: %d", rec.Code)
		}
	}
	rec := get("192.0.2.1:1")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "30" ||
		!strings.Contains(rec.Body.String(), `"message":"too many requests from your address; try again in 30 seconds"`) {
		t.Errorf("over the rate: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if rec := get("192.0.2.2:1"); rec.Code != 200 {
		t.Errorf("another address: %d", rec.Code)
	}
}
