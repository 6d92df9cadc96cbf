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
	mu    sync.Mutex
	ids   []int64
}

// next returns an unused id, taking a new block from the sequence through
// t when none is left.
func (b *idBlock) next(ctx context.Context, t *tx) (int64, error) {
	b.mu.Lock()
	if len(b.ids) > 0 {
		id := b.ids[0]
		b.ids = b.ids[1:]
		b.mu.Unlock()
		return id, nil
	}
	b.mu.Unlock()
	ids, err := queryAll(ctx, t, "take ids of "+b.table, pgx.RowTo[int64],
		`SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, b.table, idBlockSize)
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.ids = append(b.ids, ids[1:]...)
	b.mu.Unlock()
	return ids[0], nil
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
// with the insert sent at its call, which then reports it here.
func (t *tx) insertReturningID(ctx context.Context, what string, ids *idBlock, insert string, args ...any) (int64, error) {
	if !t.ahead || ids == nil {
		var id int64
		err := t.queryRow(ctx, what, []any{&id}, insert+` RETURNING id`, args...)
		return id, err
	}
	if err := t.check(what); err != nil {
		return 0, err
	}
	id, err := ids.next(ctx, t)
	if err != nil {
		return 0, err
	}
	t.tx.later(what, withID(insert, len(args)), append(args, id))
	return id, nil
}
