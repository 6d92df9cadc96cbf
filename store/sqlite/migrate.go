package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"trivialtickets/store"
)

// migrationFS holds the schema: numbered, append-only SQL files. A released
// file is never edited or renumbered; a schema change is a new file with the
// next number.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// newer version of the program than this one.
var ErrSchemaTooNew = store.ErrSchemaTooNew

// migration is one numbered schema change.
type migration = store.Migration

// migrations is the full list this binary knows, in order. It is loaded once;
// a malformed embedded file is a programming error.
var migrations = store.MustLoadMigrations(migrationFS, "migrations")

// loadMigrations reads the NNNN_name.sql files of dir.
var loadMigrations = store.LoadMigrations

// migrate brings db up to the last of ms in one transaction: either every
// missing migration is applied or none (store.ApplyMigrations). It refuses a
// database whose recorded version is newer than len(ms). db must begin
// immediate (write) transactions so that two daemons starting at once
// migrate one after the other.
func migrate(ctx context.Context, db *sql.DB, ms []migration) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	applied, err := store.ApplyMigrations(ctx, store.MigrationTx{
		Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := tx.ExecContext(ctx, query, args...)
			return err
		},
		Version: func(ctx context.Context) (int, error) { return schemaVersion(ctx, tx) },
		CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at INTEGER NOT NULL
		)`,
		Record: `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
	}, ms)
	if err != nil {
		return err
	}
	if applied > 0 {
		// A migration may have broken a reference; fail rather than commit it.
		rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return fmt.Errorf("migrate: foreign key check: %w", err)
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return errors.New("migrate: foreign key check failed after migrating")
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// schemaVersion is the highest applied migration, 0 for a new database.
func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, store.SchemaVersionSQL).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	return v, nil
}
