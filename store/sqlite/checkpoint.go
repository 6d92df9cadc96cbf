package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// The write-ahead log is copied into the database file (checkpointed) off
// the committer's path. SQLite's own automatic checkpoint ran inside the
// commit that took the log past 1,000 pages, on the committer goroutine,
// which every update waits for: it was a sixth of the committer's time
// under POST /api/receive at 64 connections. The writer connections have
// wal_autocheckpoint=0 instead, and:
//
//   - a checkpointer goroutine, on a connection of its own, copies what the
//     commits added (PRAGMA wal_checkpoint(PASSIVE), which waits for no one)
//     at most every ckptInterval while commits come in, once the -wal file
//     has reached ckptMinBytes (as SQLite's own, it leaves a small log
//     alone: a quiet daemon does not copy and sync a few pages at every
//     commit);
//   - the log starts over from its beginning only when a write transaction
//     begins with all of it copied, which a checkpoint running beside a busy
//     committer rarely leaves it: so when the log has passed restartFrames
//     the committer itself copies the few frames that the checkpointer has
//     not, between two transactions, and the next transaction writes the log
//     from its start again (appending to a log that only grows cost more than
//     the checkpoints saved);
//   - when readers have kept the log from starting over until it passed
//     maxFrames, the committer waits for them (RESTART, within the busy
//     timeout), so that the log cannot grow without bound.
const (
	ckptInterval  = 100 * time.Millisecond
	ckptMinBytes  = 1_000 * (24 + 4096) // 1,000 frames of 4 KiB pages
	restartFrames = 4_000               // 16 MiB of 4 KiB pages
	maxFrames     = 64_000              // 256 MiB
)

// checkpointer is the goroutine that checkpoints the log in the background
// after commits (woken through s.ckptWake); it stops when s.ckptWake is
// closed.
func (s *Store) checkpointer() {
	defer close(s.ckptStopped)
	var last time.Time
	for range s.ckptWake {
		if wait := ckptInterval - time.Since(last); wait > 0 {
			select {
			case <-time.After(wait):
			case <-s.committed: // Close: no need to wait
			}
		}
		last = time.Now()
		if fi, err := os.Stat(s.path + "-wal"); err == nil && fi.Size() < ckptMinBytes {
			continue
		}
		if frames, err := checkpoint(s.ckpt, "PASSIVE"); err != nil {
			slog.Warn("sqlite: background checkpoint", "path", s.path, "err", err)
		} else {
			s.walFrames.Store(frames)
		}
	}
}

// afterCommit runs on the committer between two transactions: it finishes
// the checkpoint when the log is long enough to start over, and wakes the
// checkpointer.
func (s *Store) afterCommit() {
	if n := s.walFrames.Load(); n >= restartFrames {
		mode := "PASSIVE"
		if n >= maxFrames {
			mode = "RESTART"
		}
		// Unknown until the checkpointer looks again: the log starts over
		// at the next transaction unless a reader still uses it.
		s.walFrames.Store(0)
		if _, err := checkpoint(s.writer, mode); err != nil {
			slog.Warn("sqlite: checkpoint before the log starts over", "path", s.path, "err", err)
		}
	}
	select {
	case s.ckptWake <- struct{}{}:
	default: // the checkpointer has been woken already
	}
}

// checkpoint copies the log into the database file on one of db's
// connections (PRAGMA wal_checkpoint(mode)) and returns how many frames the
// log holds. A checkpoint that another connection kept from completing is
// no error: the next one goes on.
func checkpoint(db *sql.DB, mode string) (int64, error) {
	var busy, frames, copied int64
	if err := db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil && !isBusy(err) {
		return 0, fmt.Errorf("checkpoint (%s): %w", mode, err)
	}
	return frames, nil
}
