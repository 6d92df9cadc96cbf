package sqlrows

import (
	"fmt"
	"slices"
	"strings"

	"trivialtickets/core"
)

// ReceiveFactsRow holds the scan targets of one row of a store's
// ReceiveFacts query, which is of two kinds: the facts (the Message-ID's
// ticket, NULL for none, and the count of automatic mails, with NULL for
// the agent's columns), and a row for each agent's address.
type ReceiveFactsRow struct {
	ticket              *string
	n                   int
	user, email, notify *string
}

// Dest returns the scan targets.
func (r *ReceiveFactsRow) Dest() []any {
	return []any{&r.ticket, &r.n, &r.user, &r.email, &r.notify}
}

// AddTo adds what the row says to f; the agents' addresses come in any
// order (see SortAgentMails).
func (r *ReceiveFactsRow) AddTo(f *core.ReceiveFacts) error {
	if r.user == nil {
		if r.ticket != nil {
			f.Ticket = *r.ticket
		}
		f.AutomaticMails = r.n
		return nil
	}
	m, err := ScanAgentMail(func(dest ...any) error {
		*dest[0].(*string), *dest[1].(*string), *dest[2].(*string) = *r.user, deref(r.email), deref(r.notify)
		return nil
	})
	if err != nil {
		return err
	}
	f.AgentMails = append(f.AgentMails, m)
	return nil
}

// SortAgentMails puts the agents' addresses of f in username order, as
// Tx.AgentMails returns them.
func SortAgentMails(f *core.ReceiveFacts) {
	slices.SortFunc(f.AgentMails, func(a, b core.AgentMail) int { return strings.Compare(a.Username, b.Username) })
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// OpenedTimes gives the workspace times that a new ticket's row holds
// once e is its first entry (core.TicketOpener), in nanoseconds, 0 for
// none yet: its activity, the customer's last word and the last reply to
// the customer, by the rule the entry triggers of both stores apply to
// every later entry. An entry of another ticket is refused.
func OpenedTimes(tk core.Ticket, e *core.Entry) (activityAt, customerAt, repliedAt int64, err error) {
	if e.TicketID != tk.ID {
		return 0, 0, 0, fmt.Errorf("open ticket %s: %w", tk.ID, core.Invalid("the first entry belongs to another ticket"))
	}
	entryAt := Nanos(e.CreatedAt)
	switch {
	case e.AuthorKind == core.AuthorCustomer:
		customerAt = entryAt
	case e.AuthorKind == core.AuthorAgent && !e.Internal:
		repliedAt = entryAt
	}
	return max(Nanos(tk.CreatedAt), entryAt), customerAt, repliedAt, nil
}
