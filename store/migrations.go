package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrSchemaTooNew is returned when a database was migrated by a newer
// version of the program than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this program")

// Migration is one numbered schema change of a store.
type Migration struct {
	Version int    // 1, 2, 3 … without gaps
	Name    string // the file name, for messages
	SQL     string
}

// LoadMigrations reads the NNNN_name.sql files of dir. Their numbers must
// run 1, 2, 3 … without gaps or repeats.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []Migration
	for i, name := range names { // fs.Glob returns sorted names
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", base)
		}
		if v != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %04d (numbers run 1, 2, 3 … without gaps)", base, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", base, err)
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	return ms, nil
}

// MustLoadMigrations is LoadMigrations for the files embedded in a store's
// binary, where a malformed file is a programming error: it panics.
func MustLoadMigrations(fsys fs.FS, dir string) []Migration {
	ms, err := LoadMigrations(fsys, dir)
	if err != nil {
		panic(err)
	}
	return ms
}

// DataTable is a table that holds a store's data, with its primary key
// column.
type DataTable struct{ Name, Key string }

// DataTables lists the tables with data, the same in every store, in an
// order in which copying them satisfies the foreign keys: agents before the
// tickets assigned to them and their sessions, tickets before their entries
// and message ids, entries before their attachments. Not listed: leases
// (held by running daemons only), login_throttles (recent failed logins,
// which a move may forget) and schema_migrations (every database migrates
// itself).
var DataTables = []DataTable{
	{"agents", "username"},
	{"agent_mail", "username"},
	{"tickets", "id"},
	{"entries", "id"},
	{"attachments", "id"},
	{"message_ids", "message_id"},
	{"outbox", "id"},
	{"sessions", "token_hash"},
	{"trusted_devices", "token_hash"},
	{"secrets", "name"},
	{"inbound_queue", "id"},
}

// DataTableNames returns the names of DataTables, in their order.
func DataTableNames() []string {
	names := make([]string, len(DataTables))
	for i, t := range DataTables {
		names[i] = t.Name
	}
	return names
}

// LookupDataTable returns the data table named name.
func LookupDataTable(name string) (DataTable, bool) {
	i := slices.IndexFunc(DataTables, func(t DataTable) bool { return t.Name == name })
	if i < 0 {
		return DataTable{}, false
	}
	return DataTables[i], true
}

// SchemaVersionSQL reads the highest applied migration of a database, 0
// for a new one; it is the same in every dialect.
const SchemaVersionSQL = `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`

// MigrationTx is what ApplyMigrations needs of a dialect's open
// transaction.
type MigrationTx struct {
	// Exec runs one statement; without args it may be a whole migration
	// file of several statements.
	Exec func(ctx context.Context, query string, args ...any) error
	// Version runs SchemaVersionSQL; ApplyMigrations returns its error
	// as it is.
	Version func(ctx context.Context) (int, error)
	// CreateTable is the dialect's CREATE TABLE IF NOT EXISTS of
	// schema_migrations (version, name, applied_at).
	CreateTable string
	// Record is the dialect's INSERT INTO schema_migrations of version,
	// name and applied_at, in that order.
	Record string
}

// ApplyMigrations brings a database up to the last of ms inside the
// transaction tx, which the dialect has begun (and locked where it needs
// to) and commits or rolls back afterwards: it creates schema_migrations
// when missing, refuses a database whose recorded version is newer than
// len(ms) with an error wrapping ErrSchemaTooNew, and applies and records
// every missing migration in order. It returns how many it applied.
func ApplyMigrations(ctx context.Context, tx MigrationTx, ms []Migration) (int, error) {
	if err := tx.Exec(ctx, tx.CreateTable); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	cur, err := tx.Version(ctx)
	if err != nil {
		return 0, err
	}
	if cur > len(ms) {
		return 0, fmt.Errorf("database schema version %d, this program knows up to %d: upgrade the program (or restore a backup): %w",
			cur, len(ms), ErrSchemaTooNew)
	}
	now := time.Now().UnixNano()
	for _, m := range ms[cur:] {
		if err := tx.Exec(ctx, m.SQL); err != nil {
			return 0, fmt.Errorf("migrate: apply %s: %w", m.Name, err)
		}
		if err := tx.Exec(ctx, tx.Record, m.Version, m.Name, now); err != nil {
			return 0, fmt.Errorf("migrate: record %s: %w", m.Name, err)
		}
	}
	return len(ms) - cur, nil
}

// DataTableNamed returns the data table named name, or an error saying
// that it is none.
func DataTableNamed(name string) (DataTable, error) {
	t, ok := LookupDataTable(name)
	if !ok {
		return DataTable{}, fmt.Errorf("%q is not a table with data (see Tables)", name)
	}
	return t, nil
}

// SelectRowsSQL returns the query that reads columns of the data table
// named table, in the order of its primary key, with identifiers quoted by
// quote (the dialect's). An unknown table or no columns is an error.
func SelectRowsSQL(table string, columns []string, quote func(string) string) (string, error) {
	t, err := DataTableNamed(table)
	if err != nil {
		return "", err
	}
	if len(columns) == 0 {
		return "", fmt.Errorf("read %s: no columns given", table)
	}
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = quote(c)
	}
	return `SELECT ` + strings.Join(quoted, ", ") + ` FROM ` + quote(t.Name) + ` ORDER BY ` + quote(t.Key), nil
}
