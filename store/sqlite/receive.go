package sqlite

import (
	"context"
	"fmt"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

var _ core.TicketOpener = (*tx)(nil)

// OpenTicket inserts the ticket with the workspace times that its first
// entry gives it (activity, the customer's last word, the last reply),
// then the entry: the entry's trigger then finds nothing to change in the
// ticket's row (migration "entry trigger skips no-op"), which spares a
// second write of the row and of the six indexes that hold those times
// and search_seq.
func (t *tx) OpenTicket(ctx context.Context, tk core.Ticket, e *core.Entry) error {
	activityAt, customerAt, repliedAt, err := sqlrows.OpenedTimes(tk, e)
	if err != nil {
		return err
	}
	if err := t.insertTicket(ctx, tk, activityAt, customerAt, repliedAt); err != nil {
		return err
	}
	return t.AddEntry(ctx, e)
}

var _ core.ReceiveReader = (*tx)(nil)

// ReceiveFacts reads the Message-ID's ticket, the count of automatic mails
// and the agents' addresses in one statement: a row of the facts, then a
// row per agent's address (in a join, the order by username cost a sort).
func (t *tx) ReceiveFacts(ctx context.Context, msgID, to string, since time.Time) (core.ReceiveFacts, error) {
	f := core.ReceiveFacts{To: to}
	var r sqlrows.ReceiveFactsRow
	rows, err := t.query(ctx, "read before receiving", `SELECT (SELECT ticket_id FROM message_ids WHERE message_id = ?),
			(SELECT COUNT(*) FROM outbox WHERE automatic = 1 AND to_key = ? AND created_at >= ?), NULL, NULL, NULL
		UNION ALL SELECT NULL, 0, username, email, notify FROM agent_mail`,
		msgID, core.NormalizeAddress(to), nanos(since))
	if err != nil {
		return f, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(r.Dest()...); err != nil {
			return f, fmt.Errorf("read before receiving: %w", err)
		}
		if err := r.AddTo(&f); err != nil {
			return f, fmt.Errorf("read before receiving: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return f, fmt.Errorf("read before receiving: %w", err)
	}
	sqlrows.SortAgentMails(&f)
	return f, nil
}
