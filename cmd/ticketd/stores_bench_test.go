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
	"slices"
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

// benchStores are the stores that BenchmarkStores and
// BenchmarkStoresPaired compare.
var benchStores = []struct {
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
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			st, loaded := s.open(b)
			defer st.Close()
			benchStore(b, st, loaded)
		})
	}
}

// benchSite is a store filled with 100,000 tickets and the daemon's
// handler on it, logged in as alice.
type benchSite struct {
	svc    *core.Service
	h      http.Handler
	cookie *http.Cookie
	someID string // a ticket in the middle
}

// benchPage is one page (or read) that the store benchmarks measure.
type benchPage struct {
	name string
	run  func(s benchSite) error
}

// benchGet returns a benchPage that GETs path (with the ticket's id for
// %s) as alice, or as the customer without a session.
func benchGet(name, path string, customer bool) benchPage {
	return benchPage{name, func(s benchSite) error {
		req := httptest.NewRequest("GET", strings.ReplaceAll(path, "%s", s.someID), nil)
		if !customer {
			req.AddCookie(s.cookie)
		}
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			return fmt.Errorf("%s: %d", req.URL, rec.Code)
		}
		return nil
	}}
}

// benchPages are the pages measured on each store.
var benchPages = []benchPage{
	benchGet("all-tickets-100k", "/tickets", false),
	benchGet("ticket-page-100k", "/ticket?id=%s", false),
	// The customer's page comes from the page cache.
	benchGet("customer-ticket-page-100k", "/ticket?id=%s", true),
	// The customer's view as read on a page cache miss (after any
	// change of the ticket).
	{"customer-view-100k", func(s benchSite) error {
		_, err := s.svc.ViewTicket(context.Background(), nil, s.someID)
		return err
	}},
	// The agent's view as the ticket page reads it (without the session
	// and the rendering), and the session check of every other agent page.
	{"agent-view-100k", func(s benchSite) error {
		a := core.Agent{Username: "alice"}
		_, err := s.svc.ViewTicket(context.Background(), &a, s.someID)
		return err
	}},
	{"session", func(s benchSite) error {
		_, err := s.svc.SessionAgent(context.Background(), s.cookie.Value)
		return err
	}},
}

func benchStore(b *testing.B, st core.Store, loaded func()) {
	s := fillStore(b, st, loaded)
	for _, p := range benchPages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				if err := p.run(s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
	benchReceive(b, s.h)
}

// fillStore fills st with 100,000 tickets of 5,000 customers, runs loaded
// and logs alice in.
func fillStore(b *testing.B, st core.Store, loaded func()) benchSite {
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
	return benchSite{svc: svc, h: h, cookie: &http.Cookie{Name: "tt_session", Value: token}, someID: someID}
}

// benchReceive measures POST /api/receive over HTTP with as many clients
// as -cpu says.
func benchReceive(b *testing.B, h http.Handler) {
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

// BenchmarkStoresPaired measures the pages of BenchmarkStores on SQLite and
// on PostgreSQL request by request in turn (which store goes first
// alternates), so that the load of a shared machine falls on both alike,
// and reports each store's median time per request and their ratio:
//
//	PGTEST_DURABLE=1 go test ./cmd/ticketd -run '^$' -bench StoresPaired -benchtime 2000x
func BenchmarkStoresPaired(b *testing.B) {
	var sites []benchSite
	for _, s := range benchStores {
		st, loaded := s.open(b)
		defer st.Close()
		sites = append(sites, fillStore(b, st, loaded))
	}
	for _, p := range benchPages {
		b.Run(p.name, func(b *testing.B) {
			times := make([][]time.Duration, len(sites))
			turn := 0
			for b.Loop() {
				for k := range sites {
					i := (turn + k) % len(sites)
					start := time.Now()
					if err := p.run(sites[i]); err != nil {
						b.Fatal(err)
					}
					times[i] = append(times[i], time.Since(start))
				}
				turn++
			}
			var names []string
			for _, s := range benchStores {
				names = append(names, s.name)
			}
			medians := reportMedians(b, times, names)
			b.ReportMetric(medians[1]/medians[0], benchStores[1].name+"/"+benchStores[0].name)
		})
	}
}

// separateReads is a core.Store whose transactions hide the store's
// core.TicketPageReader, so that core reads a ticket page with one call
// for each part.
type separateReads struct{ core.Store }

// separateTx hides every method but core.Tx's.
type separateTx struct{ core.Tx }

func (s separateReads) View(ctx context.Context, fn func(core.Tx) error) error {
	return s.Store.View(ctx, func(tx core.Tx) error { return fn(separateTx{tx}) })
}

// BenchmarkTicketPageReads measures the reads of the agent's and the
// customer's ticket page (core.Service.ViewTicket) on PostgreSQL over
// 100,000 tickets, in one batch (core.TicketPageReader) and with a round
// trip for each part, view by view in turn, and reports the median time
// of each and their ratio:
//
//	PGTEST_DURABLE=1 go test ./cmd/ticketd -run '^$' -bench TicketPageReads -benchtime 4000x
func BenchmarkTicketPageReads(b *testing.B) {
	st, loaded := benchStores[1].open(b)
	defer st.Close()
	s := fillStore(b, st, loaded)
	ctx := context.Background()
	alice, err := s.svc.Agent(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	svcs := []*core.Service{s.svc,
		core.NewService(separateReads{st}, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"help@help.example"}})}
	for _, v := range []struct {
		name   string
		viewer *core.Agent
	}{{"agent", &alice}, {"customer", nil}} {
		b.Run(v.name, func(b *testing.B) {
			times := make([][]time.Duration, len(svcs))
			turn := 0
			for b.Loop() {
				for k := range svcs {
					i := (turn + k) % len(svcs)
					start := time.Now()
					if _, err := svcs[i].ViewTicket(ctx, v.viewer, s.someID); err != nil {
						b.Fatal(err)
					}
					times[i] = append(times[i], time.Since(start))
				}
				turn++
			}
			medians := reportMedians(b, times, []string{"batch", "separate"})
			b.ReportMetric(medians[0]/medians[1], "batch/separate")
		})
	}
}

// reportMedians reports the median of each list of times as
// "<name>-µs/op" and returns them in µs.
func reportMedians(b *testing.B, times [][]time.Duration, names []string) []float64 {
	var medians []float64
	for i, ts := range times {
		slices.Sort(ts)
		m := float64(ts[len(ts)/2]) / float64(time.Microsecond)
		medians = append(medians, m)
		b.ReportMetric(m, names[i]+"-µs/op")
	}
	return medians
}
