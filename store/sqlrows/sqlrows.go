// Package sqlrows is the read side that the SQL stores (store/sqlite and
// store/postgres) share: the column lists of the tables that core reads and
// the scans of their rows into core's values, so that a column is added in
// one place for both dialects. The dialects keep only what their SQL does
// differently (placeholders, search, locking).
//
// A scan takes a Scan, the Scan method of a row: *sql.Rows' and *sql.Row's
// (database/sql) and pgx.Row's and pgx.CollectableRow's fit alike. Times are
// stored the same way in both dialects, as Unix nanoseconds UTC in an
// integer column (0 for the zero time): Nanos and FromNanos convert them.
// Delete runs the plain row deletes of retention and erasure, table by
// table, with either dialect's statements.
//
// It imports core only, and performs no I/O of its own.
package sqlrows

import (
	"context"
	"time"
)

// Scan is the Scan method of one row: it copies the row's columns, in
// order, into dest. (An alias, so that any func(...any) error scan fits
// where a Scan is asked for.)
type Scan = func(dest ...any) error

// Nanos stores a time as Unix nanoseconds UTC; the zero time is 0.
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromNanos is the inverse of Nanos; times come back in UTC.
func FromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// NullString stores "" as NULL (for text columns with a foreign key).
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// scanInto scans a row into dest and returns what value makes of it.
func scanInto[T any](scan Scan, dest []any, value func() T) (T, error) {
	if err := scan(dest...); err != nil {
		var zero T
		return zero, err
	}
	return value(), nil
}

// ScanValue scans a row of one column into a T (an id, a name).
func ScanValue[T any](scan Scan) (T, error) {
	var v T
	err := scan(&v)
	return v, err
}

// Exec runs one statement of a transaction and returns the rows it
// changed; what names it in errors.
type Exec func(ctx context.Context, what, query string, args ...any) (int64, error)

// DeleteStep is one DELETE statement and the counter of the rows it
// deletes.
type DeleteStep struct {
	N     *int
	Query string
}

// Delete runs each step's query with arg, in order, and adds the rows it
// deleted to the step's counter.
func Delete(ctx context.Context, exec Exec, what string, arg any, steps []DeleteStep) error {
	for _, s := range steps {
		n, err := exec(ctx, what, s.Query, arg)
		if err != nil {
			return err
		}
		*s.N += int(n)
	}
	return nil
}
