package sqlrows

import (
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
