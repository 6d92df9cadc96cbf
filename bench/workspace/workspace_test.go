package workspace

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/postgres"
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/store/sqlite"
)

// TestMain stops the private PostgreSQL server after the benchmarks.
func TestMain(m *testing.M) { pgtest.Main(m) }

// dbPath is the SQLite file made by bench/gendb.
func dbPath(b *testing.B) string {
	p := os.Getenv("TICKETD_BENCH_DB")
	if p == "" {
		b.Skip("set TICKETD_BENCH_DB to a database made by bench/gendb (bench/run.sh does)")
	}
	return p
}

// op is one measured operation of the workspace.
type op struct {
	name string
	run  func(ctx context.Context, svc *core.Service) error
}

// ops are the operations an agent's screen needs, as the agent "bench"
// whom gendb makes.
func ops(ticketID string) []op {
	list := func(q core.TicketQuery) func(context.Context, *core.Service) error {
		return func(ctx context.Context, svc *core.Service) error {
			q.Viewer = "bench"
			l, err := svc.ListTickets(ctx, q)
			if err == nil && len(l.Tickets) == 0 {
				err = fmt.Errorf("nothing listed for %+v", q)
			}
			return err
		}
	}
	view := func(v core.View) core.TicketQuery { return v.Query("bench") }
	return []op{
		{"search-rare", list(core.TicketQuery{Search: "quokka"})},
		{"search-common", list(core.TicketQuery{Search: "broken"})},
		{"search-japanese", list(core.TicketQuery{Search: "請求"})},
		{"view-mine", list(view(core.ViewMine))},
		{"view-unassigned", list(view(core.ViewUnassigned))},
		{"view-all", list(view(core.ViewAll))},
		{"view-all-created", list(core.TicketQuery{Sort: core.SortCreated})},
		{"view-counts", func(ctx context.Context, svc *core.Service) error {
			_, err := svc.ViewCounts(ctx, "bench", "")
			return err
		}},
		{"ticket-page", func(ctx context.Context, svc *core.Service) error {
			a, err := svc.Agent(ctx, "bench")
			if err != nil {
				return err
			}
			if _, err := svc.ViewTicket(ctx, &a, ticketID); err != nil {
				return err
			}
			return svc.MarkSeen(ctx, "bench", ticketID)
		}},
	}
}

// runOps measures each operation b.N times, one at a time, and reports
// its p50 and p99 in milliseconds.
func runOps(b *testing.B, st core.Store) {
	ctx := context.Background()
	svc := core.NewService(st, core.Config{})
	mine, err := svc.ListTickets(ctx, core.TicketQuery{Assignee: "bench", Limit: 1})
	if err != nil || len(mine.Tickets) == 0 {
		b.Fatalf("no ticket of the agent bench (made by bench/gendb): %v", err)
	}
	for _, o := range ops(mine.Tickets[0].ID) {
		b.Run(o.name, func(b *testing.B) {
			if err := o.run(ctx, svc); err != nil { // warm the cache
				b.Fatal(err)
			}
			ds := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := o.run(ctx, svc); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(ds)
			ms := func(q float64) float64 {
				return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))]) / float64(time.Millisecond)
			}
			b.ReportMetric(ms(0.50), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
		})
	}
}

func BenchmarkSQLite(b *testing.B) {
	st, err := sqlite.Open(context.Background(), dbPath(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	runOps(b, st)
}

func BenchmarkPostgres(b *testing.B) {
	path := dbPath(b)
	ctx := context.Background()
	url := os.Getenv("TICKETD_BENCH_PG")
	if url == "" {
		url = pgtest.Start(b).NewDatabase(b)
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.View(ctx, func(tx core.Tx) error {
		var err error
		n, err = tx.CountTickets(ctx, core.TicketQuery{CountMax: 1})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	if n == 0 {
		start := time.Now()
		if err := copySQLite(ctx, path, st); err != nil {
			b.Fatal(err)
		}
		b.Logf("copied %s into PostgreSQL in %v", path, time.Since(start).Round(time.Second))
	}
	runOps(b, st)
}

// copySQLite copies the SQLite file at path into the empty st, as ticketd
// migrate-store does.
func copySQLite(ctx context.Context, path string, st *postgres.Store) error {
	src, err := sqlite.OpenSnapshot(ctx, path)
	if err != nil {
		return err
	}
	defer src.Close()
	err = st.Import(ctx, func(im *postgres.Importer) error {
		for _, t := range sqlite.Tables() {
			cols, err := src.Columns(ctx, t)
			if err != nil {
				return err
			}
			if _, err := im.Copy(ctx, t, cols, src.Rows(ctx, t, cols)); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}
