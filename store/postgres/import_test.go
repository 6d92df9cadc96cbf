package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
)

// rowsOf yields the given rows.
func rowsOf(rows ...[]any) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// readAll reads a table back with Rows.
func readAll(t *testing.T, st *Store, table string, columns []string) [][]any {
	t.Helper()
	var out [][]any
	for row, err := range st.Rows(t.Context(), table, columns) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row)
	}
	return out
}

var (
	agentCols  = []string{"username", "name", "password_hash", "vacation", "created_at", "time_zone"}
	ticketCols = []string{"id", "subject", "customer", "customer_name", "status", "assignee", "merged_into",
		"root_message_id", "last_message_id", "created_at", "updated_at",
		"activity_at", "customer_at", "replied_at", "seen_at", "mailbox", "version"}
	entryCols = []string{"id", "ticket_id", "created_at", "author_kind", "author", "author_name", "internal", "text",
		"automatic", "message_id", "from_ticket"}
	attachmentCols = []string{"id", "entry_id", "filename", "content_type", "size", "content_id", "data"}
)

// importSample copies a small data set in the portable representation.
func importSample(ctx context.Context, im *Importer) error {
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"agents", agentCols, [][]any{
			{"zoe", "Zoe", []byte("hash-z"), int64(1), int64(5), "Europe/Berlin"},
			{"bob", "", "hash-b", int64(0), int64(6), ""}, // text in a blob column, as SQLite allows
		}},
		{"tickets", ticketCols, [][]any{
			{"T1", "Help", "c@example.org", "", "open", "bob", "", "r@x", "l@x", int64(7), int64(8),
				int64(8), int64(7), int64(0), int64(8), "sales@example.org", int64(3)},
			{"T2", "Again", "c@example.org", "", "closed", nil, "T1", "", "", int64(9), int64(9),
				int64(9), int64(0), int64(0), int64(0), "", int64(1)},
		}},
		{"entries", entryCols, [][]any{
			{int64(10), "T1", int64(7), "customer", "c@example.org", "", int64(0), "hello", int64(1), "m@x", ""},
			{int64(42), "T1", int64(8), "agent", "bob", "Bob", int64(1), "note", int64(0), "", "T2"},
		}},
		{"attachments", attachmentCols, [][]any{
			{int64(3), int64(10), "a.bin", "application/octet-stream", int64(4), "", []byte("\x00\x01\x00\xff")},
			{int64(5), int64(42), "empty", "", int64(0), "", []byte{}},
		}},
	} {
		n, err := im.Copy(ctx, c.table, c.cols, rowsOf(c.rows...))
		if err != nil {
			return err
		}
		if n != int64(len(c.rows)) {
			return fmt.Errorf("%s: copied %d rows, want %d", c.table, n, len(c.rows))
		}
	}
	return nil
}

func TestImportCopiesAndResetsSequences(t *testing.T) {
	ctx := t.Context()
	st := openURL(t, newDatabase(t))
	if err := st.Import(ctx, func(im *Importer) error { return importSample(ctx, im) }); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%#v", readAll(t, st, "agents", agentCols))
	want := fmt.Sprintf("%#v", [][]any{
		{"bob", "", []byte("hash-b"), int64(0), int64(6), ""},
		{"zoe", "Zoe", []byte("hash-z"), int64(1), int64(5), "Europe/Berlin"},
	})
	if got != want {
		t.Errorf("agents read back\n got %s\nwant %s", got, want)
	}
	att := readAll(t, st, "attachments", []string{"id", "data"})
	if len(att) != 2 || string(att[0][1].([]byte)) != "\x00\x01\x00\xff" || att[1][1] == nil || len(att[1][1].([]byte)) != 0 {
		t.Errorf("attachments read back: %#v", att)
	}
	tk := readAll(t, st, "tickets", []string{"id", "assignee"})
	if fmt.Sprint(tk) != "[[T1 bob] [T2 <nil>]]" {
		t.Errorf("tickets read back: %v", tk)
	}

	// The search index was made from the imported rows.
	err := st.View(ctx, func(tx core.Tx) error {
		ts, err := tx.ListTickets(ctx, core.TicketQuery{Search: "hello", Limit: 10})
		if err != nil {
			return err
		}
		if len(ts) != 1 || ts[0].ID != "T1" || !ts[0].ActivityAt.Equal(time.Unix(0, 8).UTC()) {
			return fmt.Errorf("search of imported rows: %+v", ts)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	// The view counts come from the counters the import filled: the
	// merged T2 is not counted.
	err = st.View(ctx, func(tx core.Tx) error {
		for _, c := range []struct {
			q    core.TicketQuery
			want int
		}{
			{core.TicketQuery{}, 1},
			{core.TicketQuery{Assignee: "bob", Status: core.StatusOpen}, 1},
			{core.TicketQuery{Status: core.StatusClosed}, 0},
			{core.TicketQuery{Unassigned: true}, 0},
		} {
			if n, err := tx.CountTickets(ctx, c.q); err != nil || n != c.want {
				return fmt.Errorf("count %+v after the import: %d, %v; want %d", c.q, n, err, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	// The import vacuumed what it copied: the visibility map marks the
	// tickets' page all-visible, so index-only scans skip the table.
	var visible int
	if err := st.pool.QueryRow(ctx, `SELECT relallvisible FROM pg_class WHERE oid = 'tickets'::regclass`).Scan(&visible); err != nil {
		t.Fatal(err)
	}
	if visible < 1 {
		t.Errorf("tickets after the import: %d all-visible pages, want the vacuumed page", visible)
	}

	// The store works on the imported rows, and new rows get fresh ids.
	var e core.Entry
	err = st.Update(ctx, func(tx core.Tx) error {
		a, err := tx.Agent(ctx, "zoe")
		if err != nil || !a.Vacation {
			return fmt.Errorf("agent zoe: %+v, %v", a, err)
		}
		e = core.Entry{TicketID: "T1", CreatedAt: time.Now(), AuthorKind: core.AuthorSystem, Text: "new",
			Attachments: []core.Attachment{{Filename: "b", Data: []byte("b")}}}
		if err := tx.AddEntry(ctx, &e); err != nil {
			return err
		}
		m := core.OutMail{TicketID: "T1", From: "s@x", To: "c@example.org", State: core.MailPending, CreatedAt: time.Now()}
		if err := tx.QueueMail(ctx, &m); err != nil {
			return err
		}
		if m.ID != 1 {
			return fmt.Errorf("first mail of an empty outbox got id %d", m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != 43 || e.Attachments[0].ID != 6 {
		t.Errorf("new entry id %d, attachment id %d; want 43 and 6", e.ID, e.Attachments[0].ID)
	}

	// A second import is refused and changes nothing.
	err = st.Import(ctx, func(im *Importer) error {
		t.Error("Import ran its function on a database with data")
		return nil
	})
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "(2 tickets, 2 agents, 1 outbox row): migrate into an empty database") {
		t.Errorf("second Import: %v", err)
	}
}

func TestImportRollsBackOnError(t *testing.T) {
	ctx := t.Context()
	st := openURL(t, newDatabase(t))
	for _, c := range []struct {
		name string
		fn   func(im *Importer) error
		want string
	}{
		{"bad boolean", func(im *Importer) error {
			_, err := im.Copy(ctx, "agents", agentCols, rowsOf([]any{"bob", "", []byte("h"), int64(2), int64(1), ""}))
			return err
		}, "column vacation: 2 (int64) is not a boolean 0 or 1"},
		{"source error", func(im *Importer) error {
			rows := func(yield func([]any, error) bool) {
				if yield([]any{"bob", "", []byte("h"), int64(0), int64(1), ""}, nil) {
					yield(nil, errors.New("disk on fire"))
				}
			}
			_, err := im.Copy(ctx, "agents", agentCols, rows)
			return err
		}, "disk on fire"},
		{"missing column", func(im *Importer) error {
			_, err := im.Copy(ctx, "agents", agentCols[:4], rowsOf())
			return err
		}, "no values for the columns created_at"},
		{"unknown column", func(im *Importer) error {
			_, err := im.Copy(ctx, "agents", append(slices.Clone(agentCols), "email"), rowsOf())
			return err
		}, "the table has no column email"},
		{"not a data table", func(im *Importer) error {
			_, err := im.Copy(ctx, "leases", []string{"name"}, rowsOf())
			return err
		}, `"leases" is not a table with data`},
		{"foreign key", func(im *Importer) error {
			_, err := im.Copy(ctx, "entries", entryCols, rowsOf(
				[]any{int64(1), "T9", int64(7), "customer", "", "", int64(0), "", int64(0), "", ""}))
			return err
		}, "copy entries"},
		{"fn fails after a copy", func(im *Importer) error {
			if err := importSample(ctx, im); err != nil {
				return err
			}
			return errors.New("changed my mind")
		}, "changed my mind"},
	} {
		err := st.Import(ctx, c.fn)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Import error %v, want it to mention %q", c.name, err, c.want)
		}
		if rows := readAll(t, st, "agents", []string{"username"}); len(rows) != 0 {
			t.Fatalf("%s: rows kept after a failed import: %v", c.name, rows)
		}
	}
	// The database is still empty: an import succeeds.
	if err := st.Import(ctx, func(im *Importer) error { return importSample(ctx, im) }); err != nil {
		t.Fatal(err)
	}
}

func TestTablesCoverEveryTableWithData(t *testing.T) {
	ctx := t.Context()
	st := openURL(t, newDatabase(t))
	rows, err := st.pool.Query(ctx, `SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	all := slices.DeleteFunc(columnStrings(t, rows), func(s string) bool {
		// ticket_search and ticket_counts are made from tickets and
		// entries by triggers.
		return s == "leases" || s == "login_throttles" || s == "schema_migrations" || s == "ticket_search" ||
			s == "ticket_counts"
	})
	slices.Sort(all)
	if got := slices.Sorted(slices.Values(Tables())); !slices.Equal(got, all) {
		t.Errorf("Tables() = %v, the schema has %v (besides leases, login_throttles, schema_migrations, ticket_search and ticket_counts)", got, all)
	}
}
