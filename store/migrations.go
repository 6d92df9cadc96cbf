package store

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
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
