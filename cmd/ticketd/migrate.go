package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"trivialtickets/store/postgres"
	"trivialtickets/store/sqlite"
)

// migrateUsage is the usage error of migrate-store.
const migrateUsage = usageError("usage: ticketd migrate-store --to postgres://user:password@host:5432/dbname [--data DIR] " +
	"(stop the daemon first; the password may also come from PGPASSWORD or ~/.pgpass)")

// migrateStore runs "ticketd migrate-store --to URL": it copies every table
// with data from the SQLite file of the data directory into the empty
// PostgreSQL database at to, in one transaction, and then checks the copy
// by reading both databases again. The SQLite file is opened read-only and
// stays as it was. The daemon must be stopped meanwhile, or what it writes
// to the SQLite file after the copy began is not copied.
func migrateStore(ctx context.Context, c Config, to string, stdout io.Writer) error {
	if to == "" {
		return migrateUsage
	}
	if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
		// Not quoted: an unusual URL may not redact.
		return migrateUsage
	}
	target := safeURL(to)
	if tables := postgres.Tables(); !slices.Equal(sqlite.Tables(), tables) {
		// A programming error: the two stores must list the same tables.
		return fmt.Errorf("migrate-store: the stores disagree on the tables to copy: SQLite %v, PostgreSQL %v", sqlite.Tables(), tables)
	}
	start := time.Now()
	path := filepath.Join(c.Data, dbFile)
	src, err := sqlite.OpenSnapshot(ctx, path)
	if err != nil {
		return fmt.Errorf("migrate-store: data directory %s: %w", c.Data, err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, to)
	if err != nil {
		return fmt.Errorf("migrate-store: %s: %w", target, err)
	}
	defer dst.Close()

	var copies []tableCopy
	err = dst.Import(ctx, func(im *postgres.Importer) error {
		// Import found the database empty.
		fmt.Fprintf(stdout, "copying %s into %s\n", path, target)
		for _, t := range sqlite.Tables() {
			cols, err := src.Columns(ctx, t)
			if err != nil {
				return err
			}
			n, err := im.Copy(ctx, t, cols, src.Rows(ctx, t, cols))
			if err != nil {
				return err
			}
			copies = append(copies, tableCopy{name: t, columns: cols, rows: n})
		}
		return nil
	})
	if errors.Is(err, postgres.ErrNotEmpty) {
		return fmt.Errorf("migrate-store: %s: %w", target, err)
	}
	if err != nil {
		return fmt.Errorf("migrate-store: copy into %s (one transaction, rolled back: nothing was kept): %w", target, err)
	}
	rows, size, err := checkCopy(ctx, src, dst, copies, stdout)
	if err != nil {
		return fmt.Errorf("migrate-store: %w; the copy in %s was committed: start no daemon on it, "+
			"empty or recreate the database and migrate again", err, target)
	}
	fmt.Fprintf(stdout, "done in %v: %d tables, %d rows, %s of text and data copied and checked "+
		"(row counts and a SHA-256 of each table's values in primary-key order are equal on both sides)\n",
		time.Since(start).Round(time.Millisecond), len(copies), rows, sizeText(size))
	fmt.Fprintf(stdout, "run the daemons with --database %s; %s was not changed (keep it as a backup)\n", target, path)
	return nil
}

// tableCopy is one table as copied: its columns and the number of rows
// COPY wrote.
type tableCopy struct {
	name    string
	columns []string
	rows    int64
}

// checkCopy compares each copied table of dst with its source: it reads
// both sides again (at once), counts the rows and hashes their values, and
// prints a line per table. It fails when a table differs, or when a side
// cannot be read, and otherwise returns the rows and bytes checked.
func checkCopy(ctx context.Context, src *sqlite.Snapshot, dst *postgres.Store, copies []tableCopy, stdout io.Writer) (rows, size int64, err error) {
	var bad []string
	for _, t := range copies {
		var lite, pg tableSum
		var liteErr, pgErr error
		var wg sync.WaitGroup
		wg.Go(func() { lite, liteErr = sumTable(t.columns, src.Rows(ctx, t.name, t.columns)) })
		pg, pgErr = sumTable(t.columns, dst.Rows(ctx, t.name, t.columns))
		wg.Wait()
		if err := errors.Join(liteErr, pgErr); err != nil {
			return 0, 0, fmt.Errorf("check %s: %w", t.name, err)
		}
		if why := compareTable(t.rows, lite, pg); why != "" {
			fmt.Fprintf(stdout, "%s: %d copied, MISMATCH: %s\n", t.name, t.rows, why)
			bad = append(bad, t.name)
			continue
		}
		fmt.Fprintf(stdout, "%s: %d copied, checked\n", t.name, t.rows)
		rows += pg.rows
		size += pg.bytes
	}
	if len(bad) > 0 {
		return 0, 0, fmt.Errorf("the check failed: PostgreSQL does not hold what the SQLite file holds in %s", strings.Join(bad, ", "))
	}
	return rows, size, nil
}

// tableSum is what the check compares of one table on both sides.
type tableSum struct {
	rows  int64    // number of rows
	bytes int64    // total length of the text and binary values
	hash  [32]byte // SHA-256 of the column names and all values, row by row
}

// sumTable reads a table's rows, in the stores' portable representation and
// in primary-key order, and sums them up. The hash covers every value
// unambiguously: a type tag, then the value (integers as 8 bytes, text and
// binary data with their length first). Text and binary data hash alike,
// since SQLite may hold either in a column of the other kind.
func sumTable(columns []string, rows iter.Seq2[[]any, error]) (tableSum, error) {
	var s tableSum
	h := sha256.New()
	for _, c := range columns {
		hashBytes(h, 'c', c)
	}
	var num [9]byte
	for row, err := range rows {
		if err != nil {
			return s, err
		}
		s.rows++
		h.Write([]byte{'r'})
		for i, v := range row {
			switch v := v.(type) {
			case nil:
				h.Write([]byte{'n'})
			case int64:
				num[0] = 'i'
				binary.BigEndian.PutUint64(num[1:], uint64(v))
				h.Write(num[:])
			case string:
				hashBytes(h, 'x', v)
				s.bytes += int64(len(v))
			case []byte:
				hashBytes(h, 'x', v)
				s.bytes += int64(len(v))
			default:
				return s, fmt.Errorf("column %s: unexpected value of type %T", columns[i], v)
			}
		}
	}
	copy(s.hash[:], h.Sum(nil))
	return s, nil
}

// hashBytes writes a tag, the length of b and b.
func hashBytes[T string | []byte](h hash.Hash, tag byte, b T) {
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = tag
	n := binary.PutUvarint(head[1:], uint64(len(b)))
	h.Write(head[:1+n])
	h.Write([]byte(b))
}

// compareTable says how a table's copy differs from its source, or "" when
// it does not: copied is the number of rows COPY wrote.
func compareTable(copied int64, lite, pg tableSum) string {
	switch {
	case lite.rows != pg.rows:
		return fmt.Sprintf("SQLite has %s, PostgreSQL %d", rowsText(lite.rows), pg.rows)
	case copied != lite.rows:
		return fmt.Sprintf("%s each, but COPY wrote %d", rowsText(lite.rows), copied)
	case lite.bytes != pg.bytes:
		return fmt.Sprintf("%s each, but SQLite holds %d bytes of text and data, PostgreSQL %d", rowsText(lite.rows), lite.bytes, pg.bytes)
	case lite.hash != pg.hash:
		return fmt.Sprintf("%s each, but their contents differ (SHA-256)", rowsText(lite.rows))
	}
	return ""
}

// rowsText is "1 row", "2 rows".
func rowsText(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// sizeText is n bytes for people.
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	f, prefix := float64(n)/unit, "KMGT"
	for f >= unit && len(prefix) > 1 {
		f, prefix = f/unit, prefix[1:]
	}
	return fmt.Sprintf("%.1f %ciB", f, prefix[0])
}

// safeURL is a database URL for messages: redactURL, and a password given
// as a query parameter hidden too.
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redactURL(s)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return redactURL(u.String())
}
