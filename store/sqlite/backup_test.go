package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trivialtickets/core"
)

// addTickets creates n open tickets of customer in one update.
func addTickets(t *testing.T, st *Store, n int, customer, text string) {
	t.Helper()
	err := st.Update(t.Context(), func(tx core.Tx) error {
		for range n {
			now := time.Now()
			tk := core.Ticket{ID: core.NewTicketID(), Subject: "Subject of " + customer, Customer: customer,
				CustomerName: "Name of " + customer, Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateTicket(t.Context(), tk); err != nil {
				return err
			}
			e := core.Entry{TicketID: tk.ID, CreatedAt: now, AuthorKind: core.AuthorCustomer, Author: customer, Text: text}
			if err := tx.AddEntry(t.Context(), &e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(t.Context(), filepath.Join(dir, "ticketd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	addTickets(t, st, 50, "before@example.com", "before the backup")

	// Writers go on during the backup; every ticket committed before it
	// began must be in the copy.
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				addTickets(t, st, 1, "during@example.com", strings.Repeat("x", 3000))
			}
		})
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	info, err := Backup(t.Context(), st.Path(), dst)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if info.Tickets < 50 || info.Size == 0 || info.SchemaVersion != len(migrations) {
		t.Errorf("Backup: %+v", info)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dst)); len(entries) != 1 {
		t.Errorf("the backup directory holds %d files, want only the copy", len(entries))
	}
	got, err := CheckBackup(t.Context(), dst)
	if err != nil || got.Tickets != info.Tickets {
		t.Errorf("CheckBackup of the copy: %+v, %v; Backup said %+v", got, err, info)
	}

	_, err = Backup(t.Context(), st.Path(), dst)
	if err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("Backup over an existing file: %v", err)
	}
	_, err = Backup(t.Context(), filepath.Join(dir, "missing.db"), filepath.Join(t.TempDir(), "x.db"))
	if err == nil || exists(filepath.Join(dir, "missing.db")) {
		t.Errorf("Backup of a missing database: %v (and it must not be created)", err)
	}

	restored := filepath.Join(t.TempDir(), "ticketd.db")
	if _, err := RestoreFile(t.Context(), dst, restored); err != nil {
		t.Fatalf("RestoreFile: %v", err)
	}
	if _, err := RestoreFile(t.Context(), dst, restored); err == nil || !strings.Contains(err.Error(), "empty data directory") {
		t.Errorf("RestoreFile over a database: %v", err)
	}
	st2, err := Open(t.Context(), restored)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	var n int
	st2.View(t.Context(), func(tx core.Tx) error {
		n, err = tx.CountTickets(t.Context(), core.TicketQuery{})
		return err
	})
	if err != nil || n != info.Tickets {
		t.Errorf("restored copy: %d tickets, %v; want %d", n, err, info.Tickets)
	}
}

func TestCheckBackupRefuses(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 100), 0o600)
	if _, err := CheckBackup(t.Context(), junk); err == nil {
		t.Error("CheckBackup accepted a file that is no database")
	}
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`CREATE TABLE notes (x TEXT)`)
	db.Close()
	if _, err := CheckBackup(t.Context(), other); err == nil || !strings.Contains(err.Error(), "not a ticketd database") {
		t.Errorf("CheckBackup of another program's database: %v", err)
	}

	newer := filepath.Join(dir, "newer.db")
	st, err := Open(t.Context(), newer)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err = sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)`, len(migrations)+1)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = CheckBackup(t.Context(), newer)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("CheckBackup of a newer schema: %v, want ErrSchemaTooNew", err)
	}
	if _, err := RestoreFile(t.Context(), newer, filepath.Join(t.TempDir(), "ticketd.db")); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("RestoreFile of a newer schema: %v", err)
	}
}

// TestEraseLeavesNoBytes: with secure_delete and a checkpoint, no byte of
// erased text is left in the database file or its log, even of rows
// that were changed before they were deleted.
func TestEraseLeavesNoBytes(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(t.Context(), filepath.Join(dir, "ticketd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const secret = "Zyxwvutsrq-secret-word"
	addTickets(t, st, 20, "keep@example.com", "kept text")
	addTickets(t, st, 3, "erase.me@example.com", secret+strings.Repeat(" long", 2000))
	addTickets(t, st, 20, "keep2@example.com", "kept text")
	svc := core.NewService(st, core.Config{})
	// Change the rows once, so that old versions were written too.
	err = st.Update(t.Context(), func(tx core.Tx) error {
		ts, err := tx.CustomerTickets(t.Context(), "erase.me@example.com")
		for _, tk := range ts {
			tk.Status = core.StatusClosed
			if err := tx.UpdateTicket(t.Context(), tk); err != nil {
				return err
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := svc.EraseCustomer(t.Context(), "erase.me@example.com")
	if err != nil || d.Tickets != 3 {
		t.Fatalf("EraseCustomer: %v, %v", d, err)
	}
	if err := st.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ticketd.db", "ticketd.db-wal", "ticketd.db-shm"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		for _, word := range []string{secret, "erase.me@example.com", "Name of erase.me"} {
			if bytes.Contains(b, []byte(word)) {
				t.Errorf("%s still holds %q", name, word)
			}
		}
		if name == "ticketd.db" && !bytes.Contains(b, []byte("keep2@example.com")) {
			t.Errorf("%s lost the other customers", name)
		}
	}
}

// TestRestoreOlderSchema: a backup of an older schema is restored and
// upgraded when it is opened.
func TestRestoreOlderSchema(t *testing.T) {
	ctx := t.Context()
	old := filepath.Join(t.TempDir(), "old.db")
	s, err := open(ctx, old, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	info, err := CheckBackup(ctx, old)
	if err != nil || info.SchemaVersion != 1 {
		t.Fatalf("CheckBackup of schema 1: %+v, %v", info, err)
	}
	dst := filepath.Join(t.TempDir(), "ticketd.db")
	if _, err := RestoreFile(ctx, old, dst); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v := version(t, st); v != len(migrations) {
		t.Errorf("restored schema 1 opened as version %d, want %d", v, len(migrations))
	}
}

// BenchmarkRetentionBatch times one retention transaction: the deletion of
// core.RetentionBatch closed tickets, each with three entries (one with an
// attachment of 20 KB) and a mail. A mail arriving meanwhile waits at most
// this long for the writer.
func BenchmarkRetentionBatch(b *testing.B) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(b.TempDir(), "retention.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	old := time.Now().Add(-48 * time.Hour)
	text := strings.Repeat("Words of a customer's mail. ", 70)
	for b.Loop() {
		b.StopTimer()
		err := st.Update(ctx, func(tx core.Tx) error {
			for range core.RetentionBatch {
				tk := core.Ticket{ID: core.NewTicketID(), Subject: "Old", Customer: "c@example.com",
					Status: core.StatusClosed, CreatedAt: old, UpdatedAt: old}
				if err := tx.CreateTicket(ctx, tk); err != nil {
					return err
				}
				for i := range 3 {
					e := core.Entry{TicketID: tk.ID, CreatedAt: old, AuthorKind: core.AuthorCustomer, Text: text,
						MessageID: core.NewTicketID() + "@mail.example"}
					if i == 0 {
						e.Attachments = []core.Attachment{{Filename: "a.bin", Data: bytes.Repeat([]byte{7}, 20_000)}}
					}
					if err := tx.AddEntry(ctx, &e); err != nil {
						return err
					}
					if err := tx.RememberMessageID(ctx, e.MessageID, tk.ID, true); err != nil {
						return err
					}
				}
				m := core.OutMail{TicketID: tk.ID, From: "s@example.com", To: "c@example.com", Body: text, CreatedAt: old}
				if err := tx.QueueMail(ctx, &m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var d core.Deleted
		err = st.Update(ctx, func(tx core.Tx) error {
			ids, err := tx.ExpiredTickets(ctx, time.Now().Add(-time.Hour), core.RetentionBatch)
			if err != nil {
				return err
			}
			d, err = tx.DeleteTickets(ctx, ids)
			return err
		})
		if err != nil || d.Tickets != core.RetentionBatch {
			b.Fatalf("deleted %v, %v", d, err)
		}
	}
}
