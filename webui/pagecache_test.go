package webui_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/webui"
)

// getPage answers GET path on h without cookies, as a customer's browser
// asks for the ticket page.
func getPage(t *testing.T, h http.Handler, path string, cookies ...*http.Cookie) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Result().Header, string(body)
}

// TestCustomerPageCacheShowsChangesAtOnce: the customer's page, served
// from the cache the second time with the same bytes and headers, shows a
// comment, an agent's reply and a status change on the next view.
func TestCustomerPageCacheShowsChangesAtOnce(t *testing.T) {
	e := newEnv(t)
	e.agent("bob", "Bob")
	ctx := context.Background()
	cust := e.browser()
	id := cust.create("alice@example.com", "Printer jams", "It jams on page two.")
	path := "/ticket?id=" + id

	expectContains(t, cust.get(path).Body, "flash") // the message about the new ticket
	first := cust.get(path)
	second := cust.get(path)
	expectCode(t, second, http.StatusOK)
	if first.Body != second.Body {
		t.Errorf("the cached page differs from the rendered one")
	}
	for _, k := range []string{"Content-Type", "Content-Length", "Cache-Control", "Content-Security-Policy", "X-Frame-Options"} {
		if first.Header.Get(k) == "" || first.Header.Get(k) != second.Header.Get(k) {
			t.Errorf("header %s: %q rendered, %q cached", k, first.Header.Get(k), second.Header.Get(k))
		}
	}

	r := cust.post("/ticket/comment", url.Values{"id": {id}, "comment": {"Now it jams on page three."}})
	flashed := cust.follow(r)
	expectContains(t, flashed.Body, "Your comment was added", "Now it jams on page three.")
	plain := cust.get(path)
	expectContains(t, plain.Body, "Now it jams on page three.")
	expectLacks(t, plain.Body, "Your comment was added")

	if err := e.svc.Save(ctx, "bob", id, core.Change{Comment: "We sent a technician.", External: true}); err != nil {
		t.Fatal(err)
	}
	expectContains(t, cust.get(path).Body, "We sent a technician.")

	before := cust.get(path).Body
	if err := e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	after := cust.get(path).Body
	expectContains(t, after, "Closed")
	if after == before {
		t.Errorf("the page did not change when the ticket was closed")
	}
	// The cached page is the one a fresh render gives.
	if again := cust.get(path).Body; again != after {
		t.Errorf("the cached page after closing differs from the rendered one")
	}
}

// TestCustomerPageCacheTwoDaemons: daemon B changes the ticket in the
// shared store; daemon A, which has the page cached, shows the change on
// its next view.
func TestCustomerPageCacheTwoDaemons(t *testing.T) {
	for _, s := range guessStores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			d := newDaemons(t, s.open(t), 2)
			ctx := context.Background()
			res, err := d.svcs[1].Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: "carol@example.com",
				Recipients: []string{"support@help.example"}, Subject: "Login", Text: "I cannot log in.",
				MessageID: "<login-1@mail.example>"})
			if err != nil {
				t.Fatal(err)
			}
			path := "/ticket?id=" + res.TicketID
			for range 2 {
				if code, _, body := getPage(t, d.hs[0], path); code != http.StatusOK || !strings.Contains(body, "I cannot log in.") {
					t.Fatalf("A's page: %d %s", code, excerpt(body))
				}
			}
			if _, err := d.svcs[1].CustomerComment(ctx, res.TicketID, "Found it, never mind."); err != nil {
				t.Fatal(err)
			}
			if _, _, body := getPage(t, d.hs[0], path); !strings.Contains(body, "Found it, never mind.") {
				t.Errorf("daemon A shows a stale page after daemon B's change: %s", excerpt(body))
			}
			if err := d.svcs[1].Save(ctx, "alice", res.TicketID, core.Change{Status: core.StatusClosed}); err != nil {
				t.Fatal(err)
			}
			if _, _, body := getPage(t, d.hs[0], path); !strings.Contains(body, "Closed") {
				t.Errorf("daemon A does not show the status daemon B set: %s", excerpt(body))
			}
			if _, err := d.svcs[1].EraseCustomer(ctx, "carol@example.com"); err != nil {
				t.Fatal(err)
			}
			if code, _, body := getPage(t, d.hs[0], path); code != http.StatusNotFound || strings.Contains(body, "I cannot log in.") {
				t.Errorf("daemon A after daemon B erased the customer: %d %s", code, excerpt(body))
			}
		})
	}
}

// fakeNow is a clock for core.Config.Now that the test moves.
type fakeNow struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeNow) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeNow) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// TestCustomerPageCacheVariants: a flash message is never cached nor
// served from the cache, and relative times ("just now") move on.
func TestCustomerPageCacheVariants(t *testing.T) {
	clock := &fakeNow{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	e := newEnvService(t, core.Config{Now: clock.Now, DefaultTimeZone: "Europe/Berlin"}, func(*webui.Config) {})
	cust := e.browser()
	id := cust.create("alice@example.com", "Invoice", "Please send it again.")
	path := "/ticket?id=" + id

	flash := &http.Cookie{Name: "tt_flash", Value: base64.RawURLEncoding.EncodeToString([]byte("ok:Saved it."))}
	_, _, withFlash := getPage(t, e.h, path, flash)
	expectContains(t, withFlash, "Saved it.")
	_, _, plain := getPage(t, e.h, path)
	expectLacks(t, plain, "Saved it.")
	expectContains(t, plain, "just now", "Europe/Berlin")
	_, _, withFlash = getPage(t, e.h, path, flash)
	expectContains(t, withFlash, "Saved it.")

	clock.advance(2*time.Minute + time.Second)
	_, _, later := getPage(t, e.h, path)
	expectContains(t, later, "2 min ago")
	expectLacks(t, later, "just now")
	clock.advance(3 * time.Hour)
	_, _, later = getPage(t, e.h, path)
	expectContains(t, later, "3 h ago")
}
