package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// sendReads sends BEGIN (when not sent yet), the queued writes and the
// queries of b in one batch, and returns the batch positioned at the
// first of b's results; the caller reads each of them in turn and closes
// it. It is send for several queries whose answers the caller needs
// together.
func (c *conn) sendReads(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	var all pgx.Batch
	begin := c.begin != ""
	if begin {
		all.Queue(c.begin)
	}
	for _, q := range c.queued {
		all.Queue(q.query, q.args...)
	}
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	ws := c.queued
	c.begin, c.queued, c.sent = "", nil, true
	br := c.c.SendBatch(ctx, &all)
	if begin {
		if _, err := br.Exec(); err != nil {
			br.Close()
			c.startErr = err
			return nil, fmt.Errorf("begin: %w", err)
		}
	}
	for _, w := range ws {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, &queuedError{what: w.what, err: err}
		}
	}
	return br, nil
}
