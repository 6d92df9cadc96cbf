package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"slices"
	"strings"

	"trivialtickets/store"
)

// Tables returns the names of the tables that hold a store's data, in an
// order in which copying them satisfies the foreign keys (ticketd
// migrate-store copies them in this order).
func Tables() []string { return store.DataTableNames() }

// Snapshot is a SQLite file opened read-only, for copying its rows into
// another database: one read transaction, so every table is read from the
// same consistent state. It never writes to the file. Its methods must not
// be called concurrently.
//
// Values come in a portable representation of the schema: integers and
// booleans (0 or 1) as int64, text as string, blobs as []byte (never nil,
// also when empty), NULL as nil.
type Snapshot struct {
	path string
	db   *sql.DB
	tx   *sql.Tx
}

// OpenSnapshot opens the SQLite database at path read-only (the file must
// exist; it is never created, migrated or written) and starts the read
// transaction of the snapshot. It refuses a file whose schema is not the
// one this program knows: an older one must be upgraded first by opening it
// with Open (any ticketd command on the data directory does), a newer one
// gives an error wrapping ErrSchemaTooNew.
func OpenSnapshot(ctx context.Context, path string) (*Snapshot, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sqlite: no database at %s: %w", path, err)
		}
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// mode=ro: SQLite opens the file read-only (and never creates it);
	// query_only in dsn refuses writes on top of that.
	db, err := sql.Open("sqlite", dsn(path, false)+"&mode=ro")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", path, err)
	}
	s := &Snapshot{path: path, db: db, tx: tx}
	if err := s.checkVersion(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// checkVersion fails unless the file has exactly the migrations of this
// program.
func (s *Snapshot) checkVersion(ctx context.Context) error {
	var n int
	err := s.tx.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil {
		return fmt.Errorf("sqlite: read %s: %w", s.path, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s is not a ticketd database (it has no schema_migrations table)", s.path)
	}
	v, err := schemaVersion(ctx, s.tx)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", s.path, err)
	}
	switch want := len(migrations); {
	case v > want:
		return fmt.Errorf("sqlite: %s: schema version %d, this program knows up to %d: use the ticketd that wrote it: %w",
			s.path, v, want, ErrSchemaTooNew)
	case v < want:
		return fmt.Errorf("sqlite: %s: schema version %d, this program's is %d: upgrade the file first by running this ticketd on it once (e.g. ticketd user list)",
			s.path, v, want)
	}
	return nil
}

// Path is the file the snapshot was opened on.
func (s *Snapshot) Path() string { return s.path }

// Close ends the read transaction and closes the file.
func (s *Snapshot) Close() error {
	s.tx.Rollback()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}

// lookupTable returns the table named name.
func lookupTable(name string) (store.DataTable, error) {
	t, err := store.DataTableNamed(name)
	if err != nil {
		return store.DataTable{}, fmt.Errorf("sqlite: %w", err)
	}
	return t, nil
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// derivedColumns are columns that a store makes itself from other data and
// that are no data of their own: tickets.search_seq, the order of the search
// index, which triggers set on every new entry, and tickets.version, the
// count of changes that triggers raise (the import's own inserts raise it
// again). Export leaves them out.
var derivedColumns = map[string]bool{"tickets.search_seq": true, "tickets.version": true}

// Columns returns the names of the columns of table (one of Tables), in
// the order of its definition, without derived ones.
func (s *Snapshot) Columns(ctx context.Context, table string) ([]string, error) {
	t, err := lookupTable(table)
	if err != nil {
		return nil, err
	}
	rows, err := s.tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, t.Name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("sqlite: columns of %s: %w", table, err)
		}
		if !derivedColumns[t.Name+"."+c] {
			cols = append(cols, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("sqlite: %s has no table %s", s.path, table)
	}
	return cols, nil
}

// Rows returns the rows of table (one of Tables) in the order of its
// primary key, each with the values of columns in that order (see
// Snapshot for their types). The query runs while the sequence is
// iterated, one row at a time, so a table of large blobs is never held in
// memory at once; each row is a new slice. A failure ends the sequence
// with the error.
func (s *Snapshot) Rows(ctx context.Context, table string, columns []string) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		query, err := store.SelectRowsSQL(table, columns, quoteIdent)
		if err != nil {
			yield(nil, fmt.Errorf("sqlite: %w", err))
			return
		}
		// SQLite would take a double-quoted name that is no column for a
		// string literal: check the names first.
		known, err := s.Columns(ctx, table)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, c := range columns {
			if !slices.Contains(known, c) {
				yield(nil, fmt.Errorf("sqlite: read %s: no column %q", table, c))
				return
			}
		}
		rows, err := s.tx.QueryContext(ctx, query)
		if err != nil {
			yield(nil, fmt.Errorf("sqlite: read %s: %w", table, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			row := make([]any, len(columns))
			dest := make([]any, len(columns))
			for i := range row {
				dest[i] = &row[i]
			}
			// Scanning into *any copies a blob out of the driver's buffer.
			if err := rows.Scan(dest...); err != nil {
				yield(nil, fmt.Errorf("sqlite: read %s: %w", table, err))
				return
			}
			for i, v := range row {
				// The driver gives an empty blob as a nil []byte, which
				// other drivers would send as NULL.
				if b, ok := v.([]byte); ok && b == nil {
					row[i] = []byte{}
				}
			}
			if !yield(row, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("sqlite: read %s: %w", table, err))
		}
	}
}
