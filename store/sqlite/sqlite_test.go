package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"trivialtickets/core"
	"trivialtickets/store/storetest"
)

func openTemp(t *testing.T) core.Store {
	t.Helper()
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "tickets.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTemp)
}

// TestConformanceSearchByTickets runs the suite with every search that may
// be read byTickets (a narrow list, creation order) read so, as common
// words are.
func TestConformanceSearchByTickets(t *testing.T) {
	defer func(n int) { probeMatches = n }(probeMatches)
	probeMatches = 0
	storetest.Run(t, openTemp)
}

func version(t *testing.T, s *Store) int {
	t.Helper()
	v, err := schemaVersion(t.Context(), s.reader)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrations(t *testing.T) {
	storetest.Migrations(t, storetest.Schema{
		Migrations: migrations,
		NewDatabase: func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "tickets.db")
		},
		Open: func(ctx context.Context, path string, ms []migration) (core.Store, error) {
			return open(ctx, path, ms)
		},
		QueryInt: func(ctx context.Context, s core.Store, query string) (int, error) {
			var n int
			err := s.(*Store).reader.QueryRowContext(ctx, query).Scan(&n)
			return n, err
		},
	})
}

func TestSettings(t *testing.T) {
	s := openTemp(t).(*Store)
	for _, c := range []struct {
		db      string
		pragma  string
		want    string
		queryDB func() string
	}{
		{"writer", "journal_mode", "wal", nil},
		{"writer", "foreign_keys", "1", nil},
		{"writer", "busy_timeout", fmt.Sprint(busyTimeoutMillis), nil},
		{"writer", "synchronous", "2", nil}, // FULL
		{"writer", "temp_store", "2", nil},  // MEMORY: statement journals without files
		{"reader", "foreign_keys", "1", nil},
		{"reader", "busy_timeout", fmt.Sprint(busyTimeoutMillis), nil},
		{"reader", "query_only", "1", nil},
	} {
		db := s.writer
		if c.db == "reader" {
			db = s.reader
		}
		var got string
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if strings.ToLower(got) != c.want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", c.db, c.pragma, got, c.want)
		}
	}
	// Commits sync with fdatasync(2) where the platform has it.
	if runtime.GOOS == "linux" && !sqlite.FdatasyncEnabled() {
		t.Error("commits sync with fsync(2), want fdatasync(2)")
	}
}

func TestPathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?x=1#y%20")
	if err := mkdir(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tickets.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !exists(path) {
		t.Errorf("the database is not at %s", path)
	}
}

// TestQueryPlans checks that no list query scans the table and sorts it.
func TestQueryPlans(t *testing.T) {
	s := openTemp(t).(*Store)
	ctx := t.Context()
	after := &core.Cursor{CreatedAt: time.Now(), ID: "aaaaaaaaaaaaaaaa"}
	queries := storetest.PlanQueries("a@example.com", after)
	// Searches: the index drives, in activity order.
	for name, q := range map[string]core.TicketQuery{
		"search":          {Search: "請求 rechnung", Limit: 51},
		"search mine":     {Search: "rechnung", Assignee: "bob", NotClosed: true, Limit: 51},
		"search status":   {Search: "rechnung", Status: core.StatusClosed, Limit: 51, Offset: 50},
		"search created":  {Search: "rechnung", Sort: core.SortCreated, Limit: 51},
		"search customer": {Search: "rechnung", Customer: "a@example.com", Limit: 10},
	} {
		queries[name] = q
	}
	plan := func(query string, args ...any) string {
		rows, err := s.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "; ")
	}
	for name, q := range queries {
		plans := []searchPlan{byIndex}
		if q.Search != "" {
			plans = append(plans, byTickets)
		}
		for _, sp := range plans {
			query, args := listTicketsSQL(q, sp)
			p := plan(query, args...)
			// A search read byIndex may sort the few matches of a rare
			// word by creation (the plan is chosen only then).
			sorts := strings.Contains(p, "TEMP B-TREE") && !(sp == byIndex && q.Sort == core.SortCreated)
			if sorts || !strings.Contains(p, "USING INDEX") || strings.Contains(p, "SCAN tickets;") ||
				p == "SCAN tickets" || (q.Search != "" && !strings.Contains(p, "VIRTUAL TABLE INDEX")) {
				t.Errorf("ListTickets %s (plan %d): plan %q", name, sp, p)
			}
			query, args = countTicketsSQL(q, sp)
			if p := plan(query, args...); !strings.Contains(p, "INDEX") {
				t.Errorf("CountTickets %s (plan %d): plan %q", name, sp, p)
			}
		}
	}
	for name, query := range map[string]string{
		"pending":   `SELECT id FROM outbox WHERE state = 'pending' AND id > 0 ORDER BY id LIMIT 10`,
		"automatic": `SELECT COUNT(*) FROM outbox WHERE automatic = 1 AND to_key = 'a' AND created_at >= 0`,
		"entries":   `SELECT e.id FROM entries e WHERE e.ticket_id = 'x' ORDER BY e.created_at, e.id`,
		"expired":   `DELETE FROM sessions WHERE expires_at <= 0`,
	} {
		if p := plan(query); strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "INDEX") {
			t.Errorf("%s: plan %q", name, p)
		}
	}
}

func TestCancelStopsQuery(t *testing.T) {
	s := openTemp(t).(*Store)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.View(ctx, func(tx core.Tx) error {
		// A query that runs for minutes unless interrupted.
		_, err := tx.(*sqliteTx).query(ctx, "slow", `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c)
			SELECT COUNT(*) FROM c`)
		return err
	})
	if err == nil {
		t.Fatal("no error from a cancelled query")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the cancelled query ran %v", d)
	}
}

// Benchmarks.

const benchTickets = 100_000

var bench struct {
	once sync.Once
	st   *Store
	dir  string
	err  error
	mid  core.Cursor // a cursor half way down the list
}

// benchStore is a store with benchTickets tickets, filled once per process.
func benchStore(b *testing.B) *Store {
	bench.once.Do(func() {
		dir, err := mkdtemp()
		if err != nil {
			bench.err = err
			return
		}
		bench.dir = dir
		ctx := context.Background()
		st, err := Open(ctx, filepath.Join(dir, "bench.db"))
		if err != nil {
			bench.err = err
			return
		}
		bench.st = st
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		bench.err = st.Update(ctx, func(tx core.Tx) error {
			for _, a := range []string{"bob", "carol", "dave"} {
				if err := tx.CreateAgent(ctx, core.Agent{Username: a, PasswordHash: []byte("x"), CreatedAt: base}); err != nil {
					return err
				}
			}
			for i := range benchTickets {
				tk := core.Ticket{
					ID: core.NewTicketID(), Subject: fmt.Sprintf("ticket %d", i), Customer: fmt.Sprintf("c%d@example.com", i%5000),
					Status: core.Statuses[i%3], CreatedAt: base.Add(time.Duration(i) * time.Second),
				}
				tk.UpdatedAt = tk.CreatedAt
				if i%3 == 1 {
					tk.Assignee = []string{"bob", "carol", "dave"}[i%9/3]
				}
				if i%50 == 0 {
					tk.MergedInto = "aaaaaaaaaaaaaaaa"
				}
				if err := tx.CreateTicket(ctx, tk); err != nil {
					return err
				}
				if i == benchTickets/2 {
					bench.mid = core.Cursor{CreatedAt: tk.CreatedAt, ID: tk.ID}
				}
			}
			return nil
		})
		if bench.err == nil {
			_, bench.err = st.writer.ExecContext(ctx, `ANALYZE`)
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.st
}

func BenchmarkListTickets100k(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	list := func(b *testing.B, q core.TicketQuery) {
		b.ReportAllocs()
		for b.Loop() {
			err := st.View(ctx, func(tx core.Tx) error {
				ts, err := tx.ListTickets(ctx, q)
				if err == nil && len(ts) != q.Limit {
					err = fmt.Errorf("%d tickets", len(ts))
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("FirstPage", func(b *testing.B) { list(b, core.TicketQuery{Limit: 50}) })
	b.Run("DeepPage", func(b *testing.B) { list(b, core.TicketQuery{Limit: 50, After: &bench.mid}) })
	b.Run("StatusPage", func(b *testing.B) { list(b, core.TicketQuery{Status: core.StatusClosed, Limit: 50, After: &bench.mid}) })
	b.Run("AssigneePage", func(b *testing.B) { list(b, core.TicketQuery{Assignee: "carol", Limit: 50}) })
	b.Run("Count", func(b *testing.B) {
		for b.Loop() {
			err := st.View(ctx, func(tx core.Tx) error {
				_, err := tx.CountTickets(ctx, core.TicketQuery{})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CountStatus", func(b *testing.B) {
		for b.Loop() {
			err := st.View(ctx, func(tx core.Tx) error {
				_, err := tx.CountTickets(ctx, core.TicketQuery{Status: core.StatusOpen})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkReceive(b *testing.B) {
	dir := b.TempDir()
	st, err := Open(context.Background(), filepath.Join(dir, "receive.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example", AutoReplyLimit: 1 << 30})
	var n atomic.Int64
	b.ReportAllocs()
	// As many writers as POST /api/receive has at 64 connections, so
	// that group commits are as large as the daemon's.
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		// A context that can end, as a request's.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for pb.Next() {
			i := n.Add(1)
			res, err := svc.Receive(ctx, core.InboundMessage{Door: core.DoorSMTP,
				From: fmt.Sprintf("c%d@example.com", i), Subject: "Help", Text: "Something is broken.",
				MessageID: fmt.Sprintf("bench-%d@mail.example", i)})
			if err != nil {
				b.Error(err)
				return
			}
			if !res.Created {
				b.Errorf("not created: %+v", res)
				return
			}
		}
	})
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

func TestSearchFollowsDeletes(t *testing.T) {
	var st *Store
	open := func(t *testing.T) core.Store {
		st = openTemp(t).(*Store)
		return st
	}
	exec := func(ctx context.Context, query string, args ...any) error {
		return st.Update(ctx, func(tx core.Tx) error {
			_, err := tx.(*sqliteTx).exec(ctx, "raw delete", query, args...)
			return err
		})
	}
	storetest.SearchFollowsDeletes(t, open, storetest.RawDeleter{
		DeleteEntry: func(ctx context.Context, id, text string) error {
			return exec(ctx, `DELETE FROM entries WHERE ticket_id = ? AND text = ?`, id, text)
		},
		DeleteTicket: func(ctx context.Context, id string) error {
			return exec(ctx, `DELETE FROM tickets WHERE id = ?`, id)
		},
		IndexRows: func(ctx context.Context) (int, error) {
			var n int
			err := st.reader.QueryRowContext(ctx, `SELECT count(*) FROM ticket_search`).Scan(&n)
			return n, err
		},
	})
}
