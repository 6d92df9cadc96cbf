package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/mailgw/parse"
	"trivialtickets/store/postgres"
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui"
	"trivialtickets/webui/mailapi"
	"trivialtickets/webui/mailapi/wire"
)

// BenchmarkStores measures the same work on SQLite and on PostgreSQL in one
// run: the All Tickets page, the agent's and the customer's ticket page
// (the customer's from the page cache, and its view as read on a miss)
// over 100,000 tickets, and POST /api/receive over HTTP with as many
// clients as -cpu says (64 for the figures in README):
//
//	PGTEST_DURABLE=1 go test ./cmd/ticketd -run '^$' -bench Stores -benchtime 2000x -cpu 64
//
// PGTEST_DURABLE keeps fsync on in the private PostgreSQL server, so both
// stores commit durably.
func BenchmarkStores(b *testing.B) {
	stores := []struct {
		name string
		// open returns the store and what to run after the bulk load.
		open func(b *testing.B) (core.Store, func())
	}{
		{"sqlite", func(b *testing.B) (core.Store, func()) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			return st, func() {}
		}},
		{"postgres", func(b *testing.B) (core.Store, func()) {
			url := pgtest.Start(b).NewDatabase(b)
			st, err := postgres.Open(context.Background(), url)
			if err != nil {
				b.Fatal(err)
			}
			// Statistics, as autovacuum keeps them in production; right
			// after a bulk load the planner has none yet.
			return st, func() {
				conn, err := pgx.Connect(context.Background(), url)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close(context.Background())
				if _, err := conn.Exec(context.Background(), "VACUUM ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
		}},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			st, loaded := s.open(b)
			defer st.Close()
			benchStore(b, st, loaded)
		})
	}
}

func benchStore(b *testing.B, st core.Store, loaded func()) {
	ctx := context.Background()
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"help@help.example"}})
	if err := svc.AddAgent(ctx, "alice", "Alice", "password-alice"); err != nil {
		b.Fatal(err)
	}
	const n, chunk = 100_000, 5_000
	start := time.Unix(1_700_000_000, 0).UTC()
	var someID string
	for c := 0; c < n; c += chunk {
		err := st.Update(ctx, func(tx core.Tx) error {
			for i := c; i < c+chunk; i++ {
				t := core.Ticket{ID: core.NewTicketID(), Subject: fmt.Sprintf("Request %d", i),
					Customer: fmt.Sprintf("c%d@example.com", i%5000), Status: core.Statuses[i%3],
					CreatedAt: start.Add(time.Duration(i) * time.Second), UpdatedAt: start}
				if err := tx.CreateTicket(ctx, t); err != nil {
					return err
				}
				if err := tx.AddEntry(ctx, &core.Entry{TicketID: t.ID, CreatedAt: t.CreatedAt, AuthorKind: core.AuthorCustomer,
					Author: t.Customer, Text: "Some text of a message."}); err != nil {
					return err
				}
				if i == n/2 {
					someID = t.ID
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	loaded()
	token, _, err := svc.Login(ctx, "alice", "password-alice", "")
	if err != nil {
		b.Fatal(err)
	}
	limits := parse.DefaultLimits()
	api := mailapi.New(mailapi.Config{Service: svc, Token: "bench-token", Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		ParseRaw: func(r io.Reader) (core.InboundMessage, error) { return parse.Parse(r, limits) }})
	h, err := webui.New(webui.Config{Service: svc, Logger: slog.New(slog.DiscardHandler), MailAPI: api})
	if err != nil {
		b.Fatal(err)
	}
	cookie := &http.Cookie{Name: "tt_session", Value: token}
	for _, p := range []struct {
		name, path string
		customer   bool // no session: the customer's page, from the page cache
	}{
		{"all-tickets-100k", "/tickets", false},
		{"ticket-page-100k", "/ticket?id=" + someID, false},
		{"customer-ticket-page-100k", "/ticket?id=" + someID, true},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", p.path, nil)
				if !p.customer {
					req.AddCookie(cookie)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%s: %d", p.path, rec.Code)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
	// The customer's view as read on a page cache miss (after any change
	// of the ticket).
	b.Run("customer-view-100k", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.ViewTicket(ctx, nil, someID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("api-receive", func(b *testing.B) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		hc := srv.Client()
		hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
		var k atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := k.Add(1)
				body := fmt.Sprintf(`{"from":"bench%d@example.com","subject":"benchmark %d","message":"Hello."}`, i, i)
				req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.PathReceive, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer bench-token")
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}
