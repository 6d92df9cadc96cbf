package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"trivialtickets/store"
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
var ErrSchemaTooNew = store.ErrSchemaTooNew

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations of one database: "ticketd" in ASCII. Advisory locks are per
// database, so daemons on other databases of the server do not wait.
const migrationLockKey int64 = 0x7469636b657464

// migration is one numbered schema change.
type migration = store.Migration

// migrations is the full list this binary knows, in order. It is loaded once;
// a malformed embedded file is a programming error.
var migrations = store.MustLoadMigrations(migrationFS, "migrations")

// loadMigrations reads the NNNN_name.sql files of dir.
var loadMigrations = store.LoadMigrations

// migrate brings the database up to the last of ms in one transaction:
// either every missing migration is applied or none (PostgreSQL's DDL is
// transactional; store.ApplyMigrations). The transaction first takes an
// advisory lock, so two daemons starting at once migrate one after the
// other and the second finds nothing to do. It refuses a database whose
// recorded version is newer than len(ms).
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
	if _, err := store.ApplyMigrations(ctx, store.MigrationTx{
		// Without arguments pgx uses the simple protocol, which runs a
		// file of several statements.
		Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := tx.Exec(ctx, query, args...)
			return err
		},
		Version: func(ctx context.Context) (int, error) { return schemaVersion(ctx, tx) },
		CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at BIGINT NOT NULL
		)`,
		Record: `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
	}, ms); err != nil {
		return err
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
	if err := q.QueryRow(ctx, store.SchemaVersionSQL).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	return v, nil
}
