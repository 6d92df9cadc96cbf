package webui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui"
)

// benchEnv is a web interface over a store filled with 100,000 tickets,
// built once per process.
var benchEnv = sync.OnceValues(func() (*benchSetup, error) {
	dir, err := tempDirOutsideTest()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		return nil, err
	}
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example"})
	if err := svc.AddAgent(ctx, "alice", "Alice", "password-alice"); err != nil {
		return nil, err
	}
	const n = 100_000
	var someID string
	start := time.Unix(1_700_000_000, 0).UTC()
	err = st.Update(ctx, func(tx core.Tx) error {
		for i := range n {
			t := core.Ticket{ID: core.NewTicketID(), Subject: fmt.Sprintf("Request %d", i),
				Customer: fmt.Sprintf("c%d@example.com", i%5000), Status: core.Statuses[i%3],
				CreatedAt: start.Add(time.Duration(i) * time.Second), UpdatedAt: start}
			if err := tx.CreateTicket(ctx, t); err != nil {
				return err
			}
			for j := range 3 {
				if err := tx.AddEntry(ctx, &core.Entry{TicketID: t.ID, CreatedAt: t.CreatedAt.Add(time.Duration(j) * time.Minute),
					AuthorKind: core.AuthorCustomer, Author: t.Customer, Text: "Some text of a message.", Internal: j == 2}); err != nil {
					return err
				}
			}
			if i == n/2 {
				someID = t.ID
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	token, _, err := svc.Login(ctx, "alice", "password-alice", "")
	if err != nil {
		return nil, err
	}
	h, err := webui.New(webui.Config{Service: svc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	return &benchSetup{h: h, ticketID: someID, cookie: &http.Cookie{Name: "tt_session", Value: token}}, nil
})

type benchSetup struct {
	h        http.Handler
	ticketID string
	cookie   *http.Cookie
}

// BenchmarkPages100k measures the pages over 100,000 tickets, served by the
// handler without network: go test ./webui -run '^$' -bench Pages100k
func BenchmarkPages100k(b *testing.B) {
	s, err := benchEnv()
	if err != nil {
		b.Fatal(err)
	}
	pages := []struct {
		name, path string
		agent      bool
	}{
		{"ticket-customer", "/ticket?id=" + s.ticketID, false},
		{"ticket-agent", "/ticket?id=" + s.ticketID, true},
		{"all-tickets", "/tickets", true},
		{"all-tickets-closed", "/tickets?status=closed", true},
		{"dashboard", "/dashboard", true},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", p.path, nil)
				if p.agent {
					req.AddCookie(s.cookie)
				}
				rec := httptest.NewRecorder()
				s.h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%s: %d", p.path, rec.Code)
				}
				io.Discard.Write(rec.Body.Bytes())
			}
		})
	}
}

func tempDirOutsideTest() (string, error) {
	return os.MkdirTemp("", "ticketd-bench-")
}
