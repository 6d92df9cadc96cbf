package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

// The durable inbound queue (core.InboundQueueTx).

func (t *tx) EnqueueInbound(ctx context.Context, q *core.QueuedInbound) error {
	return t.queryRow(ctx, "queue inbound message", []any{&q.ID}, `INSERT INTO inbound_queue (sender, door, message, queued_at, next_try)
		VALUES ($1, $2, $3, $4, 0) RETURNING id`, q.Sender, q.Door, q.Message, nanos(q.QueuedAt))
}

// inboundClaimLockKey is the pg_advisory_xact_lock key that serialises
// claims of the inbound queue.
const inboundClaimLockKey = 0x7469636b_696e7131

var scanInbound = rowScan(sqlrows.ScanInbound)

// ClaimInbound leases in one statement after the claims of other daemons
// committed: a transaction-scoped advisory lock serialises claims, so the
// statement (READ COMMITTED: a snapshot of its own) sees every earlier
// claim's leases, and a sender's later rows are never claimed by one
// daemon while another holds the earlier ones.
func (t *tx) ClaimInbound(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]core.QueuedInbound, error) {
	if _, err := t.exec(ctx, "lock inbound claims", `SELECT pg_advisory_xact_lock($1)`, int64(inboundClaimLockKey)); err != nil {
		return nil, err
	}
	qs, err := queryAll(ctx, t, "claim inbound messages", scanInbound, `UPDATE inbound_queue SET lease_owner = $1, lease_until = $2
		WHERE id IN (SELECT id FROM inbound_queue q
			WHERE next_try <= $3 AND (lease_until <= $3 OR lease_owner = $1)
			AND NOT EXISTS (SELECT 1 FROM inbound_queue e WHERE e.sender = q.sender AND e.id < q.id
				AND (e.next_try > $3 OR (e.lease_until > $3 AND e.lease_owner <> $1)))
			ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+sqlrows.InboundColumns, owner, nanos(leaseUntil), nanos(now), limit)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(qs, func(a, b core.QueuedInbound) int { return cmp.Compare(a.ID, b.ID) })
	return qs, nil
}

func (t *tx) InboundMessage(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	err := t.queryRow(ctx, fmt.Sprintf("inbound message %d", id), []any{&b}, `SELECT message FROM inbound_queue WHERE id = $1`, id)
	return b, err
}

func (t *tx) DeleteInbound(ctx context.Context, id int64, owner string) (bool, error) {
	n, err := t.exec(ctx, fmt.Sprintf("delete inbound message %d", id),
		`DELETE FROM inbound_queue WHERE id = $1 AND lease_owner = $2`, id, owner)
	return n == 1, err
}

func (t *tx) DeleteInboundFrom(ctx context.Context, sender string) (int, error) {
	n, err := t.exec(ctx, "delete the inbound messages of "+sender, `DELETE FROM inbound_queue WHERE sender = $1`, sender)
	return int(n), err
}

func (t *tx) RetryInbound(ctx context.Context, id int64, owner string, nextTry time.Time, lastError string) error {
	n, err := t.exec(ctx, fmt.Sprintf("retry inbound message %d", id), `UPDATE inbound_queue
		SET attempts = attempts + 1, next_try = $1, last_error = $2, lease_owner = '', lease_until = 0
		WHERE id = $3 AND lease_owner = $4`, nanos(nextTry), lastError, id, owner)
	if err == nil && n == 0 {
		err = fmt.Errorf("retry inbound message %d: %w", id, core.ErrNotFound)
	}
	return err
}

func (t *tx) ReleaseInbound(ctx context.Context, id int64, owner string, notBefore time.Time) error {
	_, err := t.exec(ctx, fmt.Sprintf("release inbound message %d", id), `UPDATE inbound_queue
		SET lease_owner = '', lease_until = 0, next_try = greatest(next_try, $1)
		WHERE id = $2 AND lease_owner = $3`, nanos(notBefore), id, owner)
	return err
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
