package sqlrows

import "trivialtickets/core"

// ReceiveFactsRow holds the scan targets of one row of a store's
// ReceiveFacts query: the Message-ID's ticket (NULL: none), the count of
// automatic mails, and one agent's address (NULLs: no agent has one), a
// row for each agent's address.
type ReceiveFactsRow struct {
	ticket              *string
	n                   int
	user, email, notify *string
}

// Dest returns the scan targets.
func (r *ReceiveFactsRow) Dest() []any {
	return []any{&r.ticket, &r.n, &r.user, &r.email, &r.notify}
}

// AddTo adds what the row says to f.
func (r *ReceiveFactsRow) AddTo(f *core.ReceiveFacts) error {
	if r.ticket != nil {
		f.Ticket = *r.ticket
	}
	f.AutomaticMails = r.n
	if r.user == nil {
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
