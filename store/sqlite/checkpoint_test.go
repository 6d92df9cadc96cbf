package sqlite

import (
	"context"
	"os"
	"sync"
	"testing"

	"trivialtickets/core"
)

// TestLogStaysBoundedUnderLoad: with the checkpoint off the commit path,
// the write-ahead log still starts over while updates keep coming, so the
// -wal file stays near restartFrames pages instead of holding everything
// written since the store was opened.
func TestLogStaysBoundedUnderLoad(t *testing.T) {
	st, fill := openFiller(t)
	ctx := t.Context()
	// About 4 pages a row: 3,200 rows write three times restartFrames.
	const writers, rows = 8, 400
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			if err := fill(rows); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var n int
	if err := st.reader.QueryRowContext(ctx, `SELECT count(*) FROM filler`).Scan(&n); err != nil || n != writers*rows {
		t.Fatalf("rows = %d (%v), want %d", n, err, writers*rows)
	}
	fi, err := os.Stat(st.path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	const frameBytes = 24 + 4096
	if frames := fi.Size() / frameBytes; frames > 2*restartFrames {
		t.Errorf("the log grew to %d frames (%d bytes), want at most %d", frames, fi.Size(), 2*restartFrames)
	}
}

// TestReaderDoesNotHoldUpdates: a read transaction left open keeps the log
// from starting over, but updates go on (the checkpoints never wait for it
// below maxFrames), and once it ends the log starts over again.
func TestReaderDoesNotHoldUpdates(t *testing.T) {
	st, fillN := openFiller(t)
	ctx := t.Context()
	fill := func(n int) {
		if err := fillN(n); err != nil {
			t.Fatal(err)
		}
	}
	reading := make(chan struct{})
	release := make(chan struct{})
	viewDone := make(chan error, 1)
	go func() {
		viewDone <- st.View(context.Background(), func(tx core.Tx) error {
			_, err := tx.CountTickets(ctx, core.TicketQuery{})
			close(reading)
			<-release
			return err
		})
	}()
	<-reading
	fill(restartFrames / 4)
	pinned, err := os.Stat(st.path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-viewDone; err != nil {
		t.Fatal(err)
	}
	fill(restartFrames / 2)
	fi, err := os.Stat(st.path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// While the reader held it, the log grew; after it, the log started
	// over rather than growing by what the second fill wrote.
	const frameBytes = 24 + 4096
	if limit := max(pinned.Size(), 2*restartFrames*frameBytes); fi.Size() > limit {
		t.Errorf("the log grew to %d bytes, want at most %d (%d while the reader held it)", fi.Size(), limit, pinned.Size())
	}
}

// openFiller opens a store with a table filler and returns it with fill,
// which writes n rows of about four pages, one update each.
func openFiller(t *testing.T) (*Store, func(n int) error) {
	st := openTemp(t).(*Store)
	ctx := t.Context()
	if _, err := st.writer.ExecContext(ctx, `CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	return st, func(n int) error {
		for range n {
			err := st.Update(ctx, func(tx core.Tx) error {
				_, err := tx.(*sqliteTx).exec(ctx, "fill", `INSERT INTO filler (b) VALUES (randomblob(15000))`)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}
