package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"trivialtickets/core"
	"trivialtickets/store"
)

// Schema is what the migration tests need of a store package.
type Schema struct {
	// Migrations is the store's embedded list.
	Migrations []store.Migration
	// NewDatabase returns a new, empty database (a file path, a URL).
	NewDatabase func(t *testing.T) string
	// Open opens the store on db, migrating it with ms.
	Open func(ctx context.Context, db string, ms []store.Migration) (core.Store, error)
	// QueryInt runs a query of one integer on s outside the store's
	// transactions.
	QueryInt func(ctx context.Context, s core.Store, query string) (int, error)
}

// Migrations checks a store's schema migrations, each in a parallel
// subtest on databases of its own: opening twice and concurrently
// migrates once, a database of every earlier version upgrades with its
// data, a newer schema is refused, and a failed migration commits nothing.
func Migrations(t *testing.T, s Schema) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, Schema)
	}{
		{"OpenTwice", migrateOpenTwice},
		{"OpenConcurrently", migrateOpenConcurrently},
		{"UpgradeFromEveryVersion", migrateUpgradeFromEveryVersion},
		{"RefuseNewerSchema", migrateRefuseNewerSchema},
		{"FailedMigrationRollsBack", migrateFailedRollsBack},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, s)
		})
	}
}

// open opens db with ms and closes it when the test ends.
func (s Schema) open(t *testing.T, db string, ms []store.Migration) core.Store {
	t.Helper()
	st, err := s.Open(t.Context(), db, ms)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// queryInt is QueryInt, failing the test on an error.
func (s Schema) queryInt(t *testing.T, st core.Store, query string) int {
	t.Helper()
	n, err := s.QueryInt(t.Context(), st, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// version is the highest migration applied to st.
func (s Schema) version(t *testing.T, st core.Store) int {
	t.Helper()
	return s.queryInt(t, st, store.SchemaVersionSQL)
}

// FutureMigrations returns ms plus one more, as a later release would
// have it: it adds agents.email and a table future.
func FutureMigrations(t *testing.T, ms []store.Migration) []store.Migration {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, m := range ms {
		fsys["m/"+m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	fsys[fmt.Sprintf("m/%04d_future.sql", len(ms)+1)] = &fstest.MapFile{Data: []byte(`
		ALTER TABLE agents ADD COLUMN email TEXT NOT NULL DEFAULT '';
		CREATE TABLE future (id INTEGER PRIMARY KEY);`)}
	future, err := store.LoadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	return future
}

func migrateOpenTwice(t *testing.T, s Schema) {
	db := s.NewDatabase(t)
	for i := range 3 {
		st, err := s.Open(t.Context(), db, s.Migrations)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		if v := s.version(t, st); v != len(s.Migrations) {
			t.Errorf("Open #%d: version %d, want %d", i+1, v, len(s.Migrations))
		}
		if n := s.queryInt(t, st, `SELECT COUNT(*) FROM schema_migrations`); n != len(s.Migrations) {
			t.Errorf("Open #%d: %d rows in schema_migrations, want %d", i+1, n, len(s.Migrations))
		}
		st.Close()
	}
}

func migrateOpenConcurrently(t *testing.T, s Schema) {
	// Daemons starting together on one new database migrate one after the
	// other: all succeed, and the schema is there once.
	db := s.NewDatabase(t)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			<-start
			st, err := s.Open(t.Context(), db, s.Migrations)
			if err == nil {
				st.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	st := s.open(t, db, s.Migrations)
	if n := s.queryInt(t, st, `SELECT COUNT(*) FROM schema_migrations`); n != len(s.Migrations) {
		t.Errorf("%d rows in schema_migrations, want %d", n, len(s.Migrations))
	}
}

func migrateUpgradeFromEveryVersion(t *testing.T, s Schema) {
	all := FutureMigrations(t, s.Migrations)
	for n := 0; n < len(all); n++ {
		t.Run(fmt.Sprintf("from%d", n), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := s.NewDatabase(t)
			if n > 0 {
				old, err := s.Open(ctx, db, all[:n])
				if err != nil {
					t.Fatal(err)
				}
				if v := s.version(t, old); v != n {
					t.Fatalf("old version %d, want %d", v, n)
				}
				// Data written by the old program survives the upgrade.
				if err := old.Update(ctx, func(tx core.Tx) error {
					return tx.CreateAgent(ctx, core.Agent{Username: "bob", PasswordHash: []byte("x"), CreatedAt: time.Now()})
				}); err != nil {
					t.Fatal(err)
				}
				old.Close()
			}
			st := s.open(t, db, all)
			if v := s.version(t, st); v != len(all) {
				t.Errorf("version after upgrade %d, want %d", v, len(all))
			}
			if n > 0 {
				if c := s.queryInt(t, st, `SELECT COUNT(*) FROM agents WHERE username = 'bob' AND email = ''`); c != 1 {
					t.Errorf("agent after upgrade: %d rows, want 1", c)
				}
			}
			if _, err := s.QueryInt(ctx, st, `SELECT COUNT(*) FROM future`); err != nil {
				t.Errorf("table of the last migration: %v", err)
			}
		})
	}
}

func migrateRefuseNewerSchema(t *testing.T, s Schema) {
	ctx := t.Context()
	db := s.NewDatabase(t)
	newer, err := s.Open(ctx, db, FutureMigrations(t, s.Migrations))
	if err != nil {
		t.Fatal(err)
	}
	newer.Close()
	_, err = s.Open(ctx, db, s.Migrations)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer database: %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("version %d", len(s.Migrations)+1)) {
		t.Errorf("error does not say the version: %v", err)
	}
}

func migrateFailedRollsBack(t *testing.T, s Schema) {
	ctx := t.Context()
	db := s.NewDatabase(t)
	s.open(t, db, s.Migrations).Close()
	n := len(s.Migrations)
	bad := append(append([]store.Migration(nil), s.Migrations...),
		store.Migration{Version: n + 1, Name: "bad_1", SQL: `CREATE TABLE half (x INTEGER)`},
		store.Migration{Version: n + 2, Name: "bad_2", SQL: `THIS IS NOT SQL`})
	if _, err := s.Open(ctx, db, bad); err == nil || !strings.Contains(err.Error(), "bad_2") {
		t.Fatalf("open with a broken migration: %v", err)
	}
	st := s.open(t, db, s.Migrations)
	if v := s.version(t, st); v != n {
		t.Errorf("version %d after a failed migration", v)
	}
	if _, err := s.QueryInt(ctx, st, `SELECT COUNT(*) FROM half`); err == nil {
		t.Errorf("a migration of the failed batch was committed")
	}
}

// PlanQueries are the ticket lists whose query plans a store checks (no
// scan of the whole table and sort): the ticket list's filters, first and
// later pages (after the cursor after), and the workspace's views by last
// activity, for tickets of customer. The store adds its own searches.
func PlanQueries(customer string, after *core.Cursor) map[string]core.TicketQuery {
	return map[string]core.TicketQuery{
		"all":                 {Limit: 50},
		"all after":           {Limit: 50, After: after},
		"status":              {Status: core.StatusOpen, Limit: 50},
		"status after":        {Status: core.StatusOpen, Limit: 50, After: after},
		"assignee":            {Assignee: "bob", Limit: 50},
		"assignee status":     {Assignee: "bob", Status: core.StatusInProgress, Limit: 50, After: after},
		"unassigned":          {Unassigned: true, Limit: 50, After: after},
		"customer":            {Customer: customer, Limit: 50},
		"customer candidates": {Customer: customer, Unassigned: true, Exclude: "x", Limit: 200},
		// The workspace's views, first page and a later one.
		"view all":               {Limit: 51},
		"view all created":       {Sort: core.SortCreated, Limit: 51, Offset: 50},
		"view all status":        {Status: core.StatusOpen, Limit: 51},
		"view mine":              {Assignee: "bob", NotClosed: true, Limit: 51},
		"view mine status":       {Assignee: "bob", NotClosed: true, Status: core.StatusOpen, Limit: 51},
		"view mine in progress":  {Assignee: "bob", NotClosed: true, Status: core.StatusInProgress, Limit: 51},
		"view unassigned":        {Unassigned: true, NotClosed: true, Limit: 51, Offset: 50},
		"view unassigned status": {Unassigned: true, NotClosed: true, Status: core.StatusOpen, Limit: 51},
		"customer tickets":       {Customer: customer, Exclude: "x", Limit: 10},
	}
}
