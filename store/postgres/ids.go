package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// idBlockSize is how many ids of a table a daemon takes from its sequence
// at once.
const idBlockSize = 32

// idBlock hands out ids of one table's identity column, taken from its
// sequence idBlockSize at a time, so that an insert whose caller needs its
// id on return (AddEntry, QueueMail) need not wait for RETURNING and can go
// with the next statement or the COMMIT (see conn): one round trip per
// block instead of one per row. Ids stay unique (the sequence's) and rise
// within one daemon; across daemons they interleave by block, and like any
// sequence's they have gaps (a block a daemon did not use up when it
// stopped).
type idBlock struct {
	table string
	// rows: the inserts of the table's rows may go in one statement
	// (see laterRow): no table refers to it, no trigger reads it, and
	// no write that waits changes its rows.
	rows     bool
	mu       sync.Mutex // guards ids
	ids      []int64
	fetching sync.Mutex // one fetch at a time, so that a block follows the last
}

// next returns an unused id, taking a new block from the sequence through
// t's connection when none is left.
func (b *idBlock) next(ctx context.Context, t *tx) (int64, error) {
	if id, ok := b.take(); ok {
		return id, nil
	}
	b.fetching.Lock()
	defer b.fetching.Unlock()
	if id, ok := b.take(); ok { // fetched meanwhile
		return id, nil
	}
	ids, err := t.takeIDs(ctx, b.table)
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.ids = append(b.ids, ids[1:]...)
	b.mu.Unlock()
	return ids[0], nil
}

// take returns the next id of the block, if any.
func (b *idBlock) take() (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ids) == 0 {
		return 0, false
	}
	id := b.ids[0]
	b.ids = b.ids[1:]
	return id, true
}

// takeIDs takes idBlockSize values of table's id sequence. The query goes
// alone on the transaction's connection, ahead of the writes that wait
// (see conn): nextval never waits for a lock, so the block's fetching
// lock is never held while a write waits for another transaction, which
// may itself wait for an id.
func (t *tx) takeIDs(ctx context.Context, table string) ([]int64, error) {
	what := "take ids of " + table
	if err := t.check(what); err != nil {
		return nil, err
	}
	ctx, cancel := t.bound(ctx)
	defer cancel()
	rows, err := t.tx.c.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, table, idBlockSize)
	if err != nil {
		return nil, t.fail(what, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, t.fail(what, err)
	}
	return ids, nil
}

// withID turns an INSERT of n parameters ("INSERT INTO t (a, …) VALUES
// ($1, …)") into one that also sets the id, as parameter n+1.
func withID(insert string, n int) string {
	insert = strings.Replace(insert, "(", "(id, ", 1)
	i := strings.Index(insert, "VALUES (") + len("VALUES (")
	return insert[:i] + "$" + strconv.Itoa(n+1) + ", " + insert[i:]
}

// insertReturningID runs insert (of args) and returns the id of its row.
// In an Update's first run (see conn) the id is taken from the table's
// block and the insert waits for the next statement or the COMMIT; a
// failure there (a ticket that does not exist) runs the function again
// with the insert sent at its call, which then reports it here. also, when
// not "", is one more expression of the insert's RETURNING clause, run for
// its effect (a set_config) after the row's triggers were queued.
func (t *tx) insertReturningID(ctx context.Context, what string, ids *idBlock, also, insert string, tc touch, args ...any) (int64, error) {
	if !t.ahead || ids == nil {
		var id int64
		var ignored any
		returning, dest := ` RETURNING id`, []any{&id}
		if also != "" {
			returning, dest = returning+", "+also, append(dest, &ignored)
		}
		err := t.queryRow(ctx, what, dest, insert+returning, args...)
		return id, err
	}
	if err := t.check(what); err != nil {
		return 0, err
	}
	id, err := ids.next(ctx, t)
	if err != nil {
		return 0, err
	}
	query := withID(insert, len(args))
	if also != "" {
		query += ` RETURNING ` + also
	}
	if ids.rows && also == "" {
		t.tx.laterRow(what, query, append(args, id), tc)
	} else {
		t.tx.later(what, query, append(args, id), tc)
	}
	return id, nil
}
