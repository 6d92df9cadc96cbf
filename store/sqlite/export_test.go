package sqlite

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/storetest"
)

// fileState is what a test compares to see that a file was not touched.
func fileState(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x %v", sha256.Sum256(b), fi.ModTime())
}

func TestSnapshotExportsRowsInKeyOrder(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tickets.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 123).UTC()
	binary := []byte("\x00PNG\x00\xff\x00")
	err = st.Update(ctx, func(tx core.Tx) error {
		for _, u := range []string{"zoe", "bob"} {
			if err := tx.CreateAgent(ctx, core.Agent{Username: u, PasswordHash: []byte("hash-" + u), Vacation: u == "zoe", CreatedAt: now}); err != nil {
				return err
			}
		}
		tk := core.Ticket{ID: "T1", Subject: "Hi", Customer: "c@example.org", Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		return tx.AddEntry(ctx, &core.Entry{TicketID: "T1", CreatedAt: now, AuthorKind: core.AuthorCustomer, Internal: true,
			Text: "hello", Attachments: []core.Attachment{{Filename: "a.bin", Data: binary}, {Filename: "empty"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	before := fileState(t, path)

	snap, err := OpenSnapshot(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range Tables() {
		if _, err := snap.Columns(ctx, table); err != nil {
			t.Errorf("Columns(%s): %v", table, err)
		}
	}
	cols, err := snap.Columns(ctx, "agents")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"username", "name", "password_hash", "vacation", "created_at", "time_zone"}; !slices.Equal(cols, want) {
		t.Errorf("agents columns %v, want %v", cols, want)
	}
	var got [][]any
	for row, err := range snap.Rows(ctx, "agents", []string{"username", "vacation", "password_hash", "created_at"}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row)
	}
	want := [][]any{
		{"bob", int64(0), []byte("hash-bob"), now.UnixNano()},
		{"zoe", int64(1), []byte("hash-zoe"), now.UnixNano()},
	}
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Errorf("agents rows\n got %#v\nwant %#v", got, want)
	}
	var data [][]byte
	for row, err := range snap.Rows(ctx, "attachments", []string{"data"}) {
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, row[0].([]byte))
	}
	if len(data) != 2 || !bytes.Equal(data[0], binary) || data[1] == nil || len(data[1]) != 0 {
		t.Errorf("attachment data %q, want %q and a non-nil empty slice", data, binary)
	}
	// Stopping early closes the query; the snapshot goes on.
	for range snap.Rows(ctx, "agents", []string{"username"}) {
		break
	}
	for _, err := range snap.Rows(ctx, "leases", []string{"name"}) {
		if err == nil || !strings.Contains(err.Error(), "not a table with data") {
			t.Errorf("Rows(leases): %v", err)
		}
	}
	for _, err := range snap.Rows(ctx, "agents", []string{"nope"}) {
		if err == nil {
			t.Errorf("Rows with an unknown column gave no error")
		}
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if after := fileState(t, path); after != before {
		t.Errorf("the snapshot changed the file")
	}
}

func TestSnapshotRefusesWhatItCannotRead(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.db")
	if _, err := OpenSnapshot(ctx, missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenSnapshot of a missing file: %v", err)
	}
	if exists(missing) {
		t.Errorf("OpenSnapshot created the file")
	}

	old := filepath.Join(dir, "old.db")
	s, err := open(ctx, old, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := fileState(t, old)
	if _, err := OpenSnapshot(ctx, old); err == nil || !strings.Contains(err.Error(), "upgrade the file first") {
		t.Errorf("OpenSnapshot of an old schema: %v", err)
	}
	if fileState(t, old) != before {
		t.Errorf("OpenSnapshot changed (migrated?) an old file")
	}

	newer := filepath.Join(dir, "newer.db")
	s, err = open(ctx, newer, storetest.FutureMigrations(t, migrations))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSnapshot(ctx, newer); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("OpenSnapshot of a newer schema: %v", err)
	}

	other := filepath.Join(dir, "other.db")
	s, err = Open(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.ExecContext(ctx, `DROP TABLE schema_migrations`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSnapshot(ctx, other); err == nil || !strings.Contains(err.Error(), "not a ticketd database") {
		t.Errorf("OpenSnapshot of a file without schema_migrations: %v", err)
	}
}
