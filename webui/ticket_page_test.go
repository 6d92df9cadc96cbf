package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/webui"
)

// TestTicketPageWhole serves the ticket page, larger than net/http's
// 4 KiB response buffer, from a real server: the customer and the agent
// get it with its length and not in chunks, and the length is the page's.
func TestTicketPageWhole(t *testing.T) {
	e := newEnv(t)
	e.agent("alice", "Alice")
	b := e.browser()
	id := b.create("carol@example.com", "Printer <b>jam</b>", strings.Repeat("The printer is jammed again. ", 200))
	b.login("alice")
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	for _, who := range []string{"customer", "agent"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/ticket?id="+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if who == "agent" {
			req.AddCookie(&http.Cookie{Name: "tt_session", Value: b.cookies["tt_session"]})
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("%s: read page: %v", who, err)
		}
		if res.StatusCode != http.StatusOK || len(body) < 4096 {
			t.Fatalf("%s: status %d, %d bytes", who, res.StatusCode, len(body))
		}
		if len(res.TransferEncoding) > 0 || res.ContentLength != int64(len(body)) {
			t.Errorf("%s: transfer encoding %v, Content-Length %d for %d bytes", who, res.TransferEncoding, res.ContentLength, len(body))
		}
		expectContains(t, string(body), "Printer &lt;b&gt;jam&lt;/b&gt;", "</html>")
		if who == "agent" {
			expectContains(t, string(body), "Reply to customer")
		}
	}
}

// TestTicketPageSession: the ticket page reads the viewer's session with
// the ticket (not in loadSession) and keeps loadSession's rules: a valid
// session sees the agent's page, also for a ticket that does not exist; a
// session that was ended or expired gets the customer's page and its
// cookie cleared, also for a ticket that does not exist.
func TestTicketPageSession(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	e := newEnvService(t, core.Config{Now: func() time.Time { return time.Unix(0, now.Load()) }}, func(*webui.Config) {})
	e.agent("alice", "Alice Agent")
	customer := e.browser()
	id := customer.create("carol@example.com", "Scanner", "The scanner is broken.")
	a := e.browser()
	a.login("alice")
	expectRedirect(t, a.post("/ticket/save", url.Values{"id": {id}, "status": {"open"}, "reply": {"internal"}, "comment": {"Secret note for agents"}}),
		"/ticket?id="+id, "internal note")

	r := a.get("/ticket?id=" + id)
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, "Alice Agent", ">Logout</button>", "Secret note for agents", `value="internal"`)
	r = a.get("/ticket?id=" + core.NewTicketID())
	expectCode(t, r, http.StatusNotFound)
	expectContains(t, r.Body, "Alice Agent", ">Logout</button>")
	if _, ok := a.cookies["tt_session"]; !ok {
		t.Fatal("a valid session's cookie was cleared")
	}

	ended := func(what string, b *browser, missing bool) {
		t.Helper()
		path := "/ticket?id=" + id
		if missing {
			path = "/ticket?id=" + core.NewTicketID()
		}
		r := b.get(path)
		if missing {
			expectCode(t, r, http.StatusNotFound)
		} else {
			expectCode(t, r, http.StatusOK)
			expectContains(t, r.Body, "The scanner is broken.")
		}
		expectContains(t, r.Body, `action="/login"`)
		expectLacks(t, r.Body, "Secret note", ">Logout</button>", `value="internal"`)
		if _, ok := b.cookies["tt_session"]; ok {
			t.Errorf("%s: the session cookie was not cleared", what)
		}
	}
	for _, missing := range []bool{false, true} {
		token := a.cookies["tt_session"]
		other := e.browser()
		other.login("alice") // a second session, ended at once
		stale := e.browser()
		stale.cookies["tt_session"] = other.cookies["tt_session"]
		expectCode(t, other.post("/logout", nil), http.StatusSeeOther)
		ended("ended session", stale, missing)

		expired := e.browser()
		expired.cookies["tt_session"] = token
		now.Add(int64(core.SessionLifetime + time.Minute))
		ended("expired session", expired, missing)
		now.Add(-int64(core.SessionLifetime + time.Minute))
	}
}
