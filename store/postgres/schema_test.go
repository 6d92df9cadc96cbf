package postgres

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"trivialtickets/store/sqlite"
)

// TestMigrationsMatchSQLite: the migrations have the same numbers and names
// as store/sqlite's, so that a schema version means the same in both.
func TestMigrationsMatchSQLite(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../sqlite/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("SQLite migrations: %v %v", files, err)
	}
	var want, got []string
	for _, f := range files {
		want = append(want, filepath.Base(f))
	}
	for _, m := range migrations {
		got = append(got, m.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("migrations %v, store/sqlite has %v", got, want)
	}
}

// TestSchemaMatchesSQLite compares the tables, columns and indexes of a
// migrated database with those of a migrated SQLite file.
func TestSchemaMatchesSQLite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tickets.db")
	ls, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ls.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lite := func(query string) []string {
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		return sortedStrings(t, rows)
	}
	st := openTemp(t).(*Store)
	pg := func(query string) []string {
		rows, err := st.pool.Query(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		return sortedStrings(t, rows)
	}
	// The search index is each database's own: an FTS5 table (and its
	// shadow tables) read in the order of tickets.search_seq in SQLite, a
	// table with a GIN index in PostgreSQL. Both are made from the same
	// columns by triggers.
	// ticket_counts has shards in PostgreSQL (no hot spot for several
	// daemons), none in SQLite. SQLite reads the pending mails' listings
	// from a partial index that holds them (outbox_pending_listing);
	// PostgreSQL's B-trees refuse entries over about 2.7 kB, which a
	// listing with a long message is.
	search := func(s string) bool {
		return strings.HasPrefix(s, "ticket_search") || s == "tickets_search_seq" || s == "tickets.search_seq" ||
			strings.HasPrefix(s, "ticket_counts") || s == "outbox_pending_listing"
	}
	for _, c := range []struct {
		what       string
		lite, pg   string
		liteIgnore string // prefix of SQLite's own names
	}{
		{"columns",
			`SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`,
			`SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = current_schema()`,
			"sqlite_"},
		{"indexes",
			`SELECT name FROM sqlite_master WHERE type = 'index'`,
			`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%\_pkey'`,
			"sqlite_autoindex_"},
	} {
		want := slices.DeleteFunc(lite(c.lite), func(s string) bool { return strings.HasPrefix(s, c.liteIgnore) || search(s) })
		if got := slices.DeleteFunc(pg(c.pg), search); !slices.Equal(got, want) {
			t.Errorf("%s:\n postgres %v\n sqlite   %v", c.what, got, want)
		}
	}
}

// rowScanner is what database/sql's and pgx's rows have in common.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// sortedStrings reads the one text column of rows, sorted.
func sortedStrings(t *testing.T, rows rowScanner) []string {
	t.Helper()
	out := columnStrings(t, rows)
	slices.Sort(out)
	return out
}

// columnStrings reads the one text column of rows, in their order.
func columnStrings(t *testing.T, rows rowScanner) []string {
	t.Helper()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
