package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"trivialtickets/store"
)

// Tables returns the names of the tables that hold a store's data, in an
// order in which copying them satisfies the foreign keys: the tables that
// Importer.Copy and Rows accept.
func Tables() []string { return store.DataTableNames() }

// lookupTable returns the table named name.
func lookupTable(name string) (store.DataTable, error) {
	t, err := store.DataTableNamed(name)
	if err != nil {
		return store.DataTable{}, fmt.Errorf("postgres: %w", err)
	}
	return t, nil
}

// ErrNotEmpty is returned by Import when the database already holds data.
var ErrNotEmpty = errors.New("the target database is not empty")

// Import fills an empty database in one transaction: it locks the tables of
// Tables against writers, fails with an error wrapping ErrNotEmpty when the
// database holds tickets, agents or outbox mails (every other table refers
// to a ticket or an agent), runs fn, sets each identity sequence past the
// highest id in its table so that new rows get fresh ids, and commits. When
// fn returns an error, nothing is written and Import returns that error as
// it is. Unlike Update, Import never runs fn twice.
//
// Rows are given in a portable representation of the schema: integers as
// int64, booleans as int64 0 or 1 (or bool), text as string, binary data as
// []byte, NULL as nil.
func (s *Store) Import(ctx context.Context, fn func(*Importer) error) error {
	// READ COMMITTED: the emptiness check after LOCK TABLE sees what another
	// import committed while this one waited for the lock.
	pgxTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("postgres: import: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			rollback(ctx, pgxTx)
		}
	}()
	names := make([]string, len(store.DataTables))
	for i, t := range store.DataTables {
		names[i] = pgx.Identifier{t.Name}.Sanitize()
	}
	// EXCLUSIVE: readers may go on, writers (a daemon started too early,
	// another import) wait until this transaction ends.
	if _, err := pgxTx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("postgres: import: lock the tables: %w", err)
	}
	var tickets, agents, mails int64
	if err := pgxTx.QueryRow(ctx, `SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM agents),
		(SELECT count(*) FROM outbox)`).Scan(&tickets, &agents, &mails); err != nil {
		return fmt.Errorf("postgres: import: count the rows present: %w", err)
	}
	if tickets+agents+mails > 0 {
		return fmt.Errorf("%w (%s, %s, %s): migrate into an empty database", ErrNotEmpty,
			plural(tickets, "ticket"), plural(agents, "agent"), plural(mails, "outbox row"))
	}
	// tt.bulk: the tickets are counted once per counter below instead of
	// one upsert per ticket by their trigger (migration 0017).
	if _, err := pgxTx.Exec(ctx, `SELECT set_config('tt.bulk', 'on', true)`); err != nil {
		return fmt.Errorf("postgres: import: switch to bulk counting: %w", err)
	}
	if err := fn(&Importer{tx: pgxTx}); err != nil {
		return err
	}
	if err := countImported(ctx, pgxTx); err != nil {
		return err
	}
	if err := resetSequences(ctx, pgxTx); err != nil {
		return err
	}
	if err := pgxTx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: import: commit: %w", err)
	}
	committed = true
	// The planner's statistics of the new rows (and of the search index
	// and counters the triggers made), so that the first lists after a
	// large import use the indexes instead of waiting for autovacuum to
	// analyze; and the visibility map, without which an index-only scan
	// reads every table page it meets. The database was empty, so this
	// reads only what was copied.
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return fmt.Errorf("postgres: import: vacuum and analyze the copied tables (the copy is committed): %w", err)
	}
	return nil
}

// plural is "1 ticket", "2 tickets".
func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// countImported adds the copied tickets to the view counts (ticket_counts,
// migrations 0010 and 0017), which their trigger left to it: the database
// had no tickets before, so every listable ticket is one of the copy.
func countImported(ctx context.Context, pgxTx pgx.Tx) error {
	if _, err := pgxTx.Exec(ctx, `INSERT INTO ticket_counts AS c (assignee, status, shard, n)
		SELECT coalesce(assignee, ''), status, 0, count(*) FROM tickets WHERE merged_into = ''
		GROUP BY 1, 2 ORDER BY 1, 2
		ON CONFLICT (assignee, status, shard) DO UPDATE SET n = c.n + excluded.n`); err != nil {
		return fmt.Errorf("postgres: import: count the copied tickets: %w", err)
	}
	return nil
}

// resetSequences sets the sequence of every identity column of the tables
// with data to the highest id present, so that the next row gets the one
// after it. Empty tables keep their sequence (max is NULL, and setval is
// strict).
func resetSequences(ctx context.Context, pgxTx pgx.Tx) error {
	rows, err := pgxTx.Query(ctx, `SELECT table_name::text, column_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return fmt.Errorf("postgres: import: find identity columns: %w", err)
	}
	type column struct{ table, name string }
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		err := r.Scan(&c.table, &c.name)
		return c, err
	})
	if err != nil {
		return fmt.Errorf("postgres: import: find identity columns: %w", err)
	}
	for _, c := range cols {
		if _, err := lookupTable(c.table); err != nil {
			continue
		}
		table := pgx.Identifier{c.table}.Sanitize()
		if _, err := pgxTx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), max(`+
			pgx.Identifier{c.name}.Sanitize()+`)) FROM `+table, table, c.name); err != nil {
			return fmt.Errorf("postgres: import: set the sequence of %s.%s: %w", c.table, c.name, err)
		}
	}
	return nil
}

// Importer copies rows into the tables of an empty database, inside the
// transaction of Store.Import. Its methods must not be called
// concurrently, nor after the function given to Import returned.
type Importer struct {
	tx pgx.Tx
}

// Copy copies the rows that rows yields into table (one of Tables) with
// COPY, and returns how many it wrote. columns names the values of each
// row, in order, and must be exactly the columns of the table, so that no
// column is silently left to its default. Rows are taken one at a time
// (a table of large attachments is never held in memory at once) and
// converted to the columns' types: int64 0 or 1 to BOOLEAN, string to
// BYTEA. An error that rows yields ends the copy and is returned, wrapped.
// After an error the transaction may be aborted: the function given to
// Import should return it.
func (im *Importer) Copy(ctx context.Context, table string, columns []string, rows iter.Seq2[[]any, error]) (int64, error) {
	if _, err := lookupTable(table); err != nil {
		return 0, err
	}
	types, err := columnTypes(ctx, im.tx, table)
	if err != nil {
		return 0, err
	}
	convs := make([]func(any) (any, error), len(columns))
	for i, c := range columns {
		typ, ok := types[c]
		if !ok {
			return 0, fmt.Errorf("postgres: copy %s: the table has no column %s: the schemas differ", table, c)
		}
		delete(types, c)
		convs[i] = converter(typ)
	}
	for c := range derivedColumns[table] {
		delete(types, c) // the store sets it itself
	}
	if len(types) > 0 {
		return 0, fmt.Errorf("postgres: copy %s: no values for the columns %s: the schemas differ",
			table, strings.Join(slices.Sorted(maps.Keys(types)), ", "))
	}
	next, stop := iter.Pull2(rows)
	defer stop()
	src := pgx.CopyFromFunc(func() ([]any, error) {
		row, err, ok := next()
		if !ok {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if len(row) != len(columns) {
			return nil, fmt.Errorf("a row of %d values for %d columns", len(row), len(columns))
		}
		out := make([]any, len(row))
		for i, v := range row {
			if out[i], err = convs[i](v); err != nil {
				return nil, fmt.Errorf("column %s: %w", columns[i], err)
			}
		}
		return out, nil
	})
	n, err := im.tx.CopyFrom(ctx, pgx.Identifier{table}, columns, src)
	if err != nil {
		// PostgreSQL names the row (line n: the n-th row given) and the
		// column it refused in the error's context.
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Where != "" {
			return n, fmt.Errorf("postgres: copy %s (%s): %w", table, pe.Where, err)
		}
		return n, fmt.Errorf("postgres: copy %s: %w", table, err)
	}
	return n, nil
}

// derivedColumns are the columns, by table, that triggers keep and a copy
// may leave out: tickets.version (migration 0011) counts the changes of a
// ticket, and the copy's own inserts of entries change it anyway.
var derivedColumns = map[string]map[string]bool{"tickets": {"version": true}}

// columnTypes returns the data type (as information_schema spells it:
// boolean, bytea, text, bigint …) of each column of table.
func columnTypes(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, table string) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT column_name::text, data_type::text FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, fmt.Errorf("postgres: columns of %s: %w", table, err)
	}
	types := map[string]string{}
	var name, typ string
	_, err = pgx.ForEachRow(rows, []any{&name, &typ}, func() error {
		types[name] = typ
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: columns of %s: %w", table, err)
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("postgres: no table %s in the current schema", table)
	}
	return types, nil
}

// converter returns the conversion of a portable value into one that pgx
// encodes as a column of the data type typ.
func converter(typ string) func(any) (any, error) {
	switch typ {
	case "boolean":
		return func(v any) (any, error) {
			switch v := v.(type) {
			case nil, bool:
				return v, nil
			case int64:
				if v == 0 || v == 1 {
					return v == 1, nil
				}
			}
			return nil, fmt.Errorf("%v (%T) is not a boolean 0 or 1", v, v)
		}
	case "bytea":
		return func(v any) (any, error) {
			switch v := v.(type) {
			case string:
				return []byte(v), nil
			case []byte:
				return notNil(v), nil // pgx sends a nil slice as NULL
			}
			return v, nil
		}
	}
	return func(v any) (any, error) { return v, nil }
}

// Rows returns the rows of table (one of Tables) in the order of its
// primary key, each with the values of columns in that order, in the
// portable representation that Import takes, booleans as int64 0 or 1:
// read back this way, a table compares equal with its source. The query
// runs while the sequence is iterated, one row at a time; each row is a new
// slice. A failure ends the sequence with the error.
func (s *Store) Rows(ctx context.Context, table string, columns []string) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		query, err := store.SelectRowsSQL(table, columns, quoteIdent)
		if err != nil {
			yield(nil, fmt.Errorf("postgres: %w", err))
			return
		}
		rows, err := s.pool.Query(ctx, query)
		if err != nil {
			yield(nil, fmt.Errorf("postgres: read %s: %w", table, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			row, err := rows.Values()
			if err != nil {
				yield(nil, fmt.Errorf("postgres: read %s: %w", table, err))
				return
			}
			for i, v := range row {
				row[i] = portable(v)
			}
			if !yield(row, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("postgres: read %s: %w", table, err))
		}
	}
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// portable turns a value that pgx decoded into the portable representation.
func portable(v any) any {
	switch v := v.(type) {
	case bool:
		if v {
			return int64(1)
		}
		return int64(0)
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	case []byte:
		return notNil(v)
	}
	return v
}
