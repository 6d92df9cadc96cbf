package sqlite

import (
	"context"
	"fmt"

	"trivialtickets/core"
)

var _ core.TicketOpener = (*tx)(nil)

// OpenTicket inserts the ticket with the workspace times that its first
// entry gives it (activity, the customer's last word, the last reply),
// then the entry: the entry's trigger then finds nothing to change in the
// ticket's row (migration "entry trigger skips no-op"), which spares a
// second write of the row and of the six indexes that hold those times
// and search_seq.
func (t *tx) OpenTicket(ctx context.Context, tk core.Ticket, e *core.Entry) error {
	if e.TicketID != tk.ID {
		return fmt.Errorf("open ticket %s: %w", tk.ID, core.Invalid("the first entry belongs to another ticket"))
	}
	activityAt, entryAt := nanos(tk.CreatedAt), nanos(e.CreatedAt)
	activityAt = max(activityAt, entryAt)
	var customerAt, repliedAt int64
	switch {
	case e.AuthorKind == core.AuthorCustomer:
		customerAt = entryAt
	case e.AuthorKind == core.AuthorAgent && !e.Internal:
		repliedAt = entryAt
	}
	if err := t.insertTicket(ctx, tk, activityAt, customerAt, repliedAt); err != nil {
		return err
	}
	return t.AddEntry(ctx, e)
}
