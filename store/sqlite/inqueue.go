package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// The durable inbound queue (core.InboundQueueTx).

// enqueueSQL is EnqueueInbound's statement; inbound_queue has no triggers.
const enqueueSQL = `INSERT INTO inbound_queue (sender, door, message, queued_at, next_try) VALUES (?, ?, ?, ?, 0)`

// queueOnly reports whether the statements bound in a committer's
// transaction (batchTx) are EnqueueInbound's alone: then it wrote no
// ticket, and ticket_search_pending, which every commit empties, is empty.
func queueOnly(bound map[string]*sql.Stmt) bool {
	return len(bound) == 1 && bound[enqueueSQL] != nil
}

func (t *tx) EnqueueInbound(ctx context.Context, q *core.QueuedInbound) error {
	id, err := t.insert(ctx, "queue inbound message", enqueueSQL, q.Sender, q.Door, q.Message, nanos(q.QueuedAt))
	if err != nil {
		return err
	}
	q.ID = id
	return nil
}

// ClaimInbound leases in one statement; the one writer (BEGIN IMMEDIATE)
// keeps claims from interleaving.
func (t *tx) ClaimInbound(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]core.QueuedInbound, error) {
	qs, err := queryAll(ctx, t, "claim inbound messages", sqlrows.ScanInbound, `UPDATE inbound_queue SET lease_owner = ?1, lease_until = ?2
		WHERE id IN (SELECT id FROM inbound_queue q
			WHERE next_try <= ?3 AND (lease_until <= ?3 OR lease_owner = ?1)
			AND NOT EXISTS (SELECT 1 FROM inbound_queue e WHERE e.sender = q.sender AND e.id < q.id
				AND (e.next_try > ?3 OR (e.lease_until > ?3 AND e.lease_owner <> ?1)))
			ORDER BY id LIMIT ?4)
		RETURNING `+sqlrows.InboundColumns, owner, nanos(leaseUntil), nanos(now), limit)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(qs, func(a, b core.QueuedInbound) int { return cmp.Compare(a.ID, b.ID) })
	return qs, nil
}

func (t *tx) InboundMessage(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	err := t.queryRow(ctx, fmt.Sprintf("inbound message %d", id), []any{&b}, `SELECT message FROM inbound_queue WHERE id = ?`, id)
	return b, err
}

func (t *tx) DeleteInbound(ctx context.Context, id int64, owner string) (bool, error) {
	n, err := t.exec(ctx, fmt.Sprintf("delete inbound message %d", id),
		`DELETE FROM inbound_queue WHERE id = ? AND lease_owner = ?`, id, owner)
	return n == 1, err
}

func (t *tx) RetryInbound(ctx context.Context, id int64, owner string, nextTry time.Time, lastError string) error {
	n, err := t.exec(ctx, fmt.Sprintf("retry inbound message %d", id), `UPDATE inbound_queue
		SET attempts = attempts + 1, next_try = ?, last_error = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND lease_owner = ?`, nanos(nextTry), lastError, id, owner)
	if err == nil && n == 0 {
		err = fmt.Errorf("retry inbound message %d: %w", id, core.ErrNotFound)
	}
	return err
}

func (t *tx) ReleaseInbound(ctx context.Context, id int64, owner string, notBefore time.Time) error {
	_, err := t.exec(ctx, fmt.Sprintf("release inbound message %d", id), `UPDATE inbound_queue
		SET lease_owner = '', lease_until = 0, next_try = max(next_try, ?)
		WHERE id = ? AND lease_owner = ?`, nanos(notBefore), id, owner)
	return err
}

func (t *tx) DeleteInboundFrom(ctx context.Context, sender string) (int, error) {
	n, err := t.exec(ctx, "delete the inbound messages of "+sender, `DELETE FROM inbound_queue WHERE sender = ?`, sender)
	return int(n), err
}

func (t *tx) InboundQueueStats(ctx context.Context) (core.InboundQueueStats, error) {
	var st core.InboundQueueStats
	var oldest int64
	err := t.queryRow(ctx, "inbound queue stats", []any{&st.Depth, &oldest, &st.Failing},
		`SELECT (SELECT COUNT(*) FROM inbound_queue),
			COALESCE((SELECT queued_at FROM inbound_queue ORDER BY id LIMIT 1), 0),
			(SELECT COUNT(*) FROM inbound_queue WHERE attempts > 0)`)
	if oldest != 0 {
		st.Oldest = fromNanos(oldest)
	}
	return st, err
}
