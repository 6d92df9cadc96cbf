package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// BackupInfo describes a checked copy of a database.
type BackupInfo struct {
	Tickets       int   // tickets in the copy
	Size          int64 // bytes of the file
	SchemaVersion int   // the last migration applied to it
}

// Backup writes a consistent copy of the database at src to dst, which must
// not exist, while other connections (a running daemon) go on reading and
// writing: VACUUM INTO a temporary file beside dst (one read transaction,
// so the copy is the state of one moment), an integrity check of the copy,
// a sync to disk and a rename to dst. dst appears only when it is complete
// and checked.
func Backup(ctx context.Context, src, dst string) (BackupInfo, error) {
	if _, err := os.Stat(src); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: no database at %s: %w", src, err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %s exists already: give a new file name", dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".partial-*")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmpName)
		}
	}()

	// Not query_only, which refuses VACUUM INTO; the copy only reads src.
	db, err := sql.Open("sqlite", fileURI(src, url.Values{"_busy_timeout": {fmt.Sprint(busyTimeoutMillis)}}))
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: open %s: %w", src, err)
	}
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, tmpName)
	db.Close()
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: copy %s: %w", src, err)
	}
	info, err := CheckBackup(ctx, tmpName)
	if err != nil {
		return BackupInfo{}, err
	}
	if err := syncFile(tmpName); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	done = true
	if err := syncFile(filepath.Dir(dst)); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	return info, nil
}

// CheckBackup opens the database file at path read-only and checks that it
// is a ticketd database that passes PRAGMA integrity_check and whose schema
// is not newer than this program's (an error wrapping ErrSchemaTooNew).
func CheckBackup(ctx context.Context, path string) (BackupInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: %w", err)
	}
	if !st.Mode().IsRegular() {
		return BackupInfo{}, fmt.Errorf("sqlite: %s is not a file", path)
	}
	db, err := sql.Open("sqlite", dsn(path, false)+"&mode=ro")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var result string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: %s is not a readable SQLite database: %w", path, err)
	}
	if result != "ok" {
		return BackupInfo{}, fmt.Errorf("sqlite: %s is damaged: integrity_check says %q", path, result)
	}
	var n int
	if err := db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', 'tickets')`).Scan(&n); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: read %s: %w", path, err)
	}
	if n != 2 {
		return BackupInfo{}, fmt.Errorf("sqlite: %s is not a ticketd database (it has no tickets and schema_migrations tables)", path)
	}
	info := BackupInfo{Size: st.Size()}
	if info.SchemaVersion, err = schemaVersion(ctx, db); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if want := len(migrations); info.SchemaVersion > want {
		return BackupInfo{}, fmt.Errorf("sqlite: %s: schema version %d, this program knows up to %d: use the ticketd that wrote it, or a newer one: %w",
			path, info.SchemaVersion, want, ErrSchemaTooNew)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM tickets`).Scan(&info.Tickets); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: count tickets in %s: %w", path, err)
	}
	return info, nil
}

// RestoreFile copies the backup at src to dst (the database file of an
// empty data directory), after checking it with CheckBackup: through a
// temporary file beside dst, synced and renamed, so that dst is either
// absent or complete. The copy is migrated when a store opens it.
func RestoreFile(ctx context.Context, src, dst string) (BackupInfo, error) {
	info, err := CheckBackup(ctx, src)
	if err != nil {
		return BackupInfo{}, err
	}
	for _, p := range []string{dst, dst + "-wal", dst + "-shm", dst + "-journal"} {
		if _, err := os.Lstat(p); err == nil {
			return BackupInfo{}, fmt.Errorf("sqlite: restore: %s exists already: restore only into an empty data directory", p)
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: restore: %w", err)
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".restoring-*")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: restore: %w", err)
	}
	tmpName := out.Name()
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmpName, 0o600)
	}
	if err == nil {
		err = os.Rename(tmpName, dst)
	}
	if err != nil {
		os.Remove(tmpName)
		return BackupInfo{}, fmt.Errorf("sqlite: restore %s: %w", src, err)
	}
	if err := syncFile(filepath.Dir(dst)); err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: restore: %w", err)
	}
	return info, nil
}

// syncFile flushes a file or directory to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// Checkpoint first merges the search index into one segment (FTS5's
// 'optimize'): a deleted ticket's words stay in the index's older segments,
// only marked deleted, until a merge drops them. It then copies the whole
// write-ahead log into the database file and truncates the log to zero
// bytes (PRAGMA wal_checkpoint(TRUNCATE)), so that rows deleted with
// secure_delete leave no copy in the -wal file. The merge rewrites the
// index and holds the write lock meanwhile. Readers of other connections
// (a running daemon) can keep the checkpoint from completing for a moment;
// it tries again until ctx ends or a minute has passed.
func (s *Store) Checkpoint(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `INSERT INTO ticket_search (ticket_search) VALUES ('optimize')`); err != nil {
		return fmt.Errorf("sqlite: merge the search index of %s: %w", s.path, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var busy, logFrames, done int
		err := s.writer.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done)
		if err != nil && !isBusy(err) {
			return fmt.Errorf("sqlite: checkpoint %s: %w", s.path, err)
		}
		if err == nil && busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sqlite: checkpoint %s: other connections kept the log busy for a minute; run the command again", s.path)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqlite: checkpoint %s: %w", s.path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
