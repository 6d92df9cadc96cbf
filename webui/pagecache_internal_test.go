package webui

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
)

// TestPageCacheRules: a page is served only for its ticket's version and
// zone and before its relative times move on; the bounds on pages and
// bytes hold, least recently used out first.
func TestPageCacheRules(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	page := func(id string, version int64, size int) *cachedPage {
		return &cachedPage{id: id, version: version, zone: "UTC", until: now.Add(time.Minute), body: bytes.Repeat([]byte("x"), size)}
	}
	c := newPageCache(3, 1000)
	c.put(page("a", 7, 100))
	tests := []struct {
		name    string
		id      string
		version int64
		zone    string
		at      time.Time
		hit     bool
	}{
		{"same version", "a", 7, "UTC", now, true},
		{"newer version", "a", 8, "UTC", now, false},
		{"older version", "a", 6, "UTC", now, false},
		{"other zone", "a", 7, "Europe/Berlin", now, false},
		{"relative time moved on", "a", 7, "UTC", now.Add(time.Minute), false},
		{"other ticket", "b", 7, "UTC", now, false},
	}
	for _, tt := range tests {
		if _, hit := c.get(tt.id, tt.version, tt.zone, tt.at); hit != tt.hit {
			t.Errorf("%s: hit = %v, want %v", tt.name, hit, tt.hit)
		}
	}

	for _, id := range []string{"b", "c"} {
		c.put(page(id, 1, 100))
	}
	c.get("a", 7, "UTC", now) // a is now the most recently used
	c.put(page("d", 1, 100))
	if n, _ := c.size(); n != 3 {
		t.Errorf("%d pages kept, bound 3", n)
	}
	if _, hit := c.get("b", 1, "UTC", now); hit {
		t.Error("the least recently used page b was kept beyond the bound")
	}
	if _, hit := c.get("a", 7, "UTC", now); !hit {
		t.Error("the recently used page a was dropped")
	}
	c.put(page("e", 1, 600))
	c.put(page("f", 1, 300))
	if n, b := c.size(); b > 1000 || n > 3 {
		t.Errorf("%d pages of %d bytes kept, bounds 3 and 1000", n, b)
	}
	c.put(page("huge", 1, 2000))
	if _, hit := c.get("huge", 1, "UTC", now); hit {
		t.Error("a page above the byte bound was kept")
	}
	c.put(page("g", 2, 10))
	c.put(page("g", 3, 10))
	if _, hit := c.get("g", 2, "UTC", now); hit {
		t.Error("a ticket's older page was kept beside the new one")
	}
	c.drop("g")
	if _, hit := c.get("g", 3, "UTC", now); hit {
		t.Error("a dropped page was served")
	}
}

// TestRelChange: the instant relChange gives is the first at which Rel
// reads differently.
func TestRelChange(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	for _, ago := range []time.Duration{-time.Hour, 0, 30 * time.Second, 5*time.Minute + 3*time.Second, 3*time.Hour + time.Minute,
		30 * time.Hour, 6*24*time.Hour + time.Hour, 40 * 24 * time.Hour} {
		tm := now.Add(-ago)
		c := clock{Now: now}
		ch := c.relChange(tm)
		before, at := clock{Now: ch.Add(-time.Nanosecond)}, clock{Now: ch}
		if c.Rel(tm) != before.Rel(tm) || before.Rel(tm) == at.Rel(tm) {
			t.Errorf("%v ago: Rel %q now, %q just before %v and %q at it", ago, c.Rel(tm), before.Rel(tm), ch, at.Rel(tm))
		}
	}
}

// openCachedHandler is the web interface on a fresh SQLite store, with its
// handler for a look at the cache.
func openCachedHandler(tb testing.TB) (*handler, http.Handler, *core.Service) {
	tb.Helper()
	st, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "tickets.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}})
	cfg := Config{Service: svc, Logger: slog.New(slog.DiscardHandler)}
	h, static, err := newHandler(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return h, h.routes(cfg, static), svc
}

func newCachedTicket(tb testing.TB, svc *core.Service) string {
	tb.Helper()
	res, err := svc.Receive(tb.Context(), core.InboundMessage{Door: core.DoorAPI, From: "alice@example.com",
		Recipients: []string{"support@help.example"}, Subject: "Printer", Text: "It jams on page two.",
		MessageID: "<printer-1@mail.example>"})
	if err != nil {
		tb.Fatal(err)
	}
	return res.TicketID
}

// TestCustomerPageServedFromCache: the second view of a customer's page
// is a hit with the same bytes; an agent's view never is; a change is a
// miss; a ticket that is gone is dropped and answers 404.
func TestCustomerPageServedFromCache(t *testing.T) {
	h, srv, svc := openCachedHandler(t)
	id := newCachedTicket(t, svc)
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ticket?id="+id, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(b)
	}
	_, first := get()
	_, second := get()
	if h.pages.hits.Load() != 1 || first != second {
		t.Fatalf("second view: %d hits, same bytes %v", h.pages.hits.Load(), first == second)
	}
	if _, err := svc.CustomerComment(t.Context(), id, "And on page three."); err != nil {
		t.Fatal(err)
	}
	if _, third := get(); !strings.Contains(third, "And on page three.") || h.pages.hits.Load() != 1 {
		t.Errorf("after a comment: hits %d, page shows it %v", h.pages.hits.Load(), strings.Contains(third, "And on page three."))
	}
	if _, err := svc.EraseCustomer(t.Context(), "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(); code != http.StatusNotFound {
		t.Errorf("erased ticket: %d, want 404", code)
	}
	if n, _ := h.pages.size(); n != 0 {
		t.Errorf("%d pages kept after the ticket was erased", n)
	}
}

// BenchmarkCustomerPageHit is the customer's ticket page served from the
// cache: the version read and the write of the bytes.
func BenchmarkCustomerPageHit(b *testing.B) {
	h, srv, svc := openCachedHandler(b)
	id := newCachedTicket(b, svc)
	req := httptest.NewRequest(http.MethodGet, "/ticket?id="+id, nil)
	srv.ServeHTTP(httptest.NewRecorder(), req)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
	if h.pages.hits.Load() == 0 {
		b.Fatal("no page came from the cache")
	}
}

// BenchmarkCustomerPageMiss is the same page rendered every time.
func BenchmarkCustomerPageMiss(b *testing.B) {
	h, srv, svc := openCachedHandler(b)
	id := newCachedTicket(b, svc)
	req := httptest.NewRequest(http.MethodGet, "/ticket?id="+id, nil)
	b.ReportAllocs()
	for b.Loop() {
		h.pages.drop(id)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
