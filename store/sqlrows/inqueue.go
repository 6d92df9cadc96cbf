package sqlrows

import "trivialtickets/core"

// InboundColumns are the columns of inbound_queue that ScanInbound reads:
// the message's length, not the message.
const InboundColumns = `id, sender, door, length(message), queued_at, attempts, next_try, last_error`

// ScanInbound reads one row of InboundColumns.
func ScanInbound(scan Scan) (core.QueuedInbound, error) {
	var q core.QueuedInbound
	var queuedAt, nextTry int64
	if err := scan(&q.ID, &q.Sender, &q.Door, &q.Size, &queuedAt, &q.Attempts, &nextTry, &q.LastError); err != nil {
		return q, err
	}
	q.QueuedAt, q.NextTry = FromNanos(queuedAt), FromNanos(nextTry)
	return q, nil
}
