package postgres

import (
	"context"
	"strings"
	"testing"
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

func TestMigrations(t *testing.T) {
	t.Parallel()
	storetest.Migrations(t, storetest.Schema{
		Migrations:  migrations,
		NewDatabase: newDatabase,
		Open: func(ctx context.Context, url string, ms []migration) (core.Store, error) {
			return open(ctx, url, ms)
		},
		QueryInt: func(ctx context.Context, s core.Store, query string) (int, error) {
			var n int
			err := s.(*Store).pool.QueryRow(ctx, query).Scan(&n)
			return n, err
		},
	})
}

// TestOpenUnixSocket opens a store through the server's Unix socket, as
// README advises when PostgreSQL runs on the daemon's machine: the URL
// names the socket's directory as its host parameter.
func TestOpenUnixSocket(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	u, ok := c.SocketURL(c.NewDatabase(t))
	if !ok {
		t.Skip("the socket of an external server (TICKETD_TEST_POSTGRES) is not known")
	}
	st := openURL(t, u)
	if v := version(t, st); v != len(migrations) {
		t.Errorf("schema version %d through the socket, want %d", v, len(migrations))
	}
	var local bool
	if err := st.pool.QueryRow(t.Context(), `SELECT inet_client_addr() IS NULL`).Scan(&local); err != nil {
		t.Fatal(err)
	}
	if !local {
		t.Errorf("%s connected over TCP, not through the socket", u)
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
