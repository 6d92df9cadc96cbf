package postgres

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
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/store/storetest"
)

// TestMain stops the private PostgreSQL server after the tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

// newDatabase returns the URL of a new, empty database.
func newDatabase(t *testing.T) string {
	t.Helper()
	return pgtest.Start(t).NewDatabase(t)
}

// openTemp opens a store on a new, empty database.
func openTemp(t *testing.T) core.Store {
	t.Helper()
	return openURL(t, newDatabase(t))
}

func openURL(t *testing.T, url string) *Store {
	t.Helper()
	st, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := st.retries.Load(); n > 0 {
			t.Logf("Update ran a function again %d times", n)
		}
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTemp)
}

func version(t *testing.T, s *Store) int {
	t.Helper()
	v, err := schemaVersion(t.Context(), s.pool)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenTwice(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	for i := range 3 {
		s, err := Open(t.Context(), url)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		if v := version(t, s); v != len(migrations) {
			t.Errorf("Open #%d: version %d, want %d", i+1, v, len(migrations))
		}
		var n int
		if err := s.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
			t.Errorf("Open #%d: %d rows in schema_migrations (%v), want %d", i+1, n, err, len(migrations))
		}
		s.Close()
	}
}

func TestOpenConcurrently(t *testing.T) {
	// Daemons starting together on one new database migrate one after the
	// other: all succeed, and the schema is there once.
	t.Parallel()
	url := newDatabase(t)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			<-start
			s, err := Open(t.Context(), url)
			if err == nil {
				s.Close()
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
	s := openURL(t, url)
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
		t.Errorf("%d rows in schema_migrations (%v), want %d", n, err, len(migrations))
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := Open(ctx, ""); err == nil {
		t.Error("Open(\"\"): no error")
	}
	_, err := Open(ctx, "postgres://bob:s3cret@127.0.0.1:1/x?connect_timeout=5&sslmode=disable")
	if err == nil {
		t.Fatal("Open of a closed port: no error")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows the password: %v", err)
	}
	_, err = Open(ctx, "postgres://bob:s3cret@127.0.0.1:notaport/x")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open of a malformed URL: %v", err)
	}
}

// testMigrations is the real list plus one more, as a later release would
// have it.
func testMigrations(t *testing.T) []migration {
	fsys := fstest.MapFS{}
	for _, m := range migrations {
		fsys["m/"+m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	next := len(migrations) + 1
	fsys[fmt.Sprintf("m/%04d_future.sql", next)] = &fstest.MapFile{Data: []byte(`
		ALTER TABLE agents ADD COLUMN email TEXT NOT NULL DEFAULT '';
		CREATE TABLE future (id BIGINT PRIMARY KEY);`)}
	ms, err := loadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestUpgradeFromEveryVersion(t *testing.T) {
	t.Parallel()
	all := testMigrations(t)
	for n := 0; n < len(all); n++ {
		t.Run(fmt.Sprintf("from%d", n), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := newDatabase(t)
			if n > 0 {
				old, err := open(ctx, url, all[:n])
				if err != nil {
					t.Fatal(err)
				}
				if v := version(t, old); v != n {
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
			s, err := open(ctx, url, all)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if v := version(t, s); v != len(all) {
				t.Errorf("version after upgrade %d, want %d", v, len(all))
			}
			if n > 0 {
				var email string
				if err := s.pool.QueryRow(ctx, `SELECT email FROM agents WHERE username = 'bob'`).Scan(&email); err != nil {
					t.Errorf("agent after upgrade: %v", err)
				}
			}
			if _, err := s.pool.Exec(ctx, `SELECT COUNT(*) FROM future`); err != nil {
				t.Errorf("table of the last migration: %v", err)
			}
		})
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := newDatabase(t)
	newer, err := open(ctx, url, testMigrations(t))
	if err != nil {
		t.Fatal(err)
	}
	newer.Close()
	_, err = Open(ctx, url)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer database: %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("version %d", len(migrations)+1)) {
		t.Errorf("error does not say the version: %v", err)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := newDatabase(t)
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	bad := append(append([]migration(nil), migrations...),
		migration{Version: len(migrations) + 1, Name: "bad_1", SQL: `CREATE TABLE half (x INTEGER)`},
		migration{Version: len(migrations) + 2, Name: "bad_2", SQL: `THIS IS NOT SQL`})
	if _, err := open(ctx, url, bad); err == nil || !strings.Contains(err.Error(), "bad_2") {
		t.Fatalf("open with a broken migration: %v", err)
	}
	s = openURL(t, url)
	if v := version(t, s); v != len(migrations) {
		t.Errorf("version %d after a failed migration", v)
	}
	if _, err := s.pool.Exec(ctx, `SELECT * FROM half`); err == nil {
		t.Errorf("a migration of the failed batch was committed")
	}
}

func TestLoadMigrationsRejectsGaps(t *testing.T) {
	t.Parallel()
	for name, files := range map[string][]string{
		"gap":       {"0001_a.sql", "0003_c.sql"},
		"repeat":    {"0001_a.sql", "0001_b.sql"},
		"no number": {"init.sql"},
		"short":     {"1_a.sql"},
	} {
		fsys := fstest.MapFS{}
		for _, f := range files {
			fsys["m/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
		}
		if _, err := loadMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: loaded %v", name, files)
		}
	}
}

func TestSearchFollowsDeletes(t *testing.T) {
	var st *Store
	open := func(t *testing.T) core.Store {
		st = openURL(t, newDatabase(t))
		return st
	}
	exec := func(ctx context.Context, query string, args ...any) error {
		return st.Update(ctx, func(c core.Tx) error {
			_, err := c.(*tx).exec(ctx, "raw delete", query, args...)
			return err
		})
	}
	storetest.SearchFollowsDeletes(t, open, storetest.RawDeleter{
		DeleteEntry: func(ctx context.Context, id, text string) error {
			return exec(ctx, `DELETE FROM entries WHERE ticket_id = $1 AND text = $2`, id, text)
		},
		DeleteTicket: func(ctx context.Context, id string) error {
			return exec(ctx, `DELETE FROM tickets WHERE id = $1`, id)
		},
		IndexRows: func(ctx context.Context) (int, error) {
			var n int
			err := st.pool.QueryRow(ctx, `SELECT count(*) FROM ticket_search`).Scan(&n)
			return n, err
		},
	})
}
