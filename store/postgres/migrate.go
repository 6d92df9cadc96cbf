package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFS holds the schema: numbered, append-only SQL files with the
// same numbers and meaning as store/sqlite's. A released file is never
// edited or renumbered; a schema change is a new file with the next number,
// here and in store/sqlite.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// newer version of the program than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this program")

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations of one database: "ticketd" in ASCII. Advisory locks are per
// database, so daemons on other databases of the server do not wait.
const migrationLockKey int64 = 0x7469636b657464

// migration is one numbered schema change.
type migration struct {
	version int    // 1, 2, 3 … without gaps
	name    string // the file name, for messages
	sql     string
}

// migrations is the full list this binary knows, in order. It is loaded once;
// a malformed embedded file is a programming error.
var migrations = mustLoadMigrations(migrationFS, "migrations")

func mustLoadMigrations(fsys fs.FS, dir string) []migration {
	ms, err := loadMigrations(fsys, dir)
	if err != nil {
		panic(err)
	}
	return ms
}

// loadMigrations reads the NNNN_name.sql files of dir. Their numbers must
// run 1, 2, 3 … without gaps or repeats.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []migration
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
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	return ms, nil
}

// migrate brings the database up to the last of ms in one transaction:
// either every missing migration is applied or none (PostgreSQL's DDL is
// transactional). The transaction first takes an advisory lock, so two
// daemons starting at once migrate one after the other and the second finds
// nothing to do. It refuses a database whose recorded version is newer than
// len(ms).
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []migration) (err error) {
	// READ COMMITTED: every statement sees what was committed before it, in
	// particular what another daemon migrated while this one waited for the
	// lock.
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			rollback(ctx, tx)
		}
	}()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if cur > len(ms) {
		return fmt.Errorf("database schema version %d, this program knows up to %d: upgrade the program (or restore a backup): %w",
			cur, len(ms), ErrSchemaTooNew)
	}
	now := time.Now().UnixNano()
	for _, m := range ms[cur:] {
		// Without arguments pgx uses the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, now); err != nil {
			return fmt.Errorf("migrate: record %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// schemaVersion is the highest applied migration, 0 for a new database.
func schemaVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var v int
	if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	return v, nil
}
