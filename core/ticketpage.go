package core

import (
	"context"
	"errors"
)

// TicketPageQuery asks for the reads of one ticket page (see
// ReadTicketPage). The two lists are ListTickets queries about the
// ticket's own customer: the reader sets their Customer to the ticket's
// customer and their Exclude to the ticket, and those of MergeCandidates
// also to the ticket's assignee (Assignee, or Unassigned when it has
// none). A list with a Limit of 0 is not read; Search and After are not
// allowed in them.
type TicketPageQuery struct {
	ID string
	// WithInternal: the entries include the internal ones.
	WithInternal bool
	// Version: read the ticket's version (Tx.TicketVersion).
	Version bool
	// Assignee: read the assigned agent, if the ticket has one.
	Assignee bool
	// CustomerTickets lists the customer's other tickets.
	CustomerTickets TicketQuery
	// MergeCandidates lists the customer's other tickets with the same
	// assignee.
	MergeCandidates TicketQuery
	// SessionHash, when set, also reads the session with this token hash
	// and its agent, so that the page an agent opens and the check of
	// their session take one transaction (on PostgreSQL one round trip).
	// When there is no such session, a reader may stop there and return
	// a page with nothing else read (no ticket, and no error).
	SessionHash string
	// WantCandidates, when set, tells from the page read so far (the
	// ticket, and the session when asked for) whether the ticket's merge
	// candidates are wanted; a reader that does not know the ticket
	// before it asks may read them anyway, and ReadTicketPage then drops
	// them.
	WantCandidates func(*TicketPage) bool
}

// TicketPage is what a TicketPageQuery read, as the separate Tx calls
// would have returned it.
type TicketPage struct {
	Ticket  Ticket
	Entries []Entry
	Version int64 // when asked for
	// Assignee is the assigned agent when asked for, nil when the ticket
	// has none or the agent is gone.
	Assignee        *Agent
	CustomerTickets []Ticket
	MergeCandidates []Ticket
	// Session and SessionAgent are the session of the query's SessionHash
	// and its agent; both nil when there is no such session or its agent
	// is gone. Whether the session expired is the caller's to check.
	Session      *Session
	SessionAgent *Agent
}

// TicketPageReader is a Tx that reads a ticket page's parts together, in
// fewer round trips to its database than the separate calls (PostgreSQL:
// one batch). It returns an error wrapping ErrNotFound when there is no
// such ticket. ReadTicketPage uses it when the Tx has it.
type TicketPageReader interface {
	TicketPage(ctx context.Context, q TicketPageQuery) (TicketPage, error)
}

// ReadTicketPage reads in tx what q asks for: through tx's TicketPageReader
// when it has one, else with one Tx call for each part.
func ReadTicketPage(ctx context.Context, tx Tx, q TicketPageQuery) (TicketPage, error) {
	if q.CustomerTickets.Search != "" || q.MergeCandidates.Search != "" ||
		q.CustomerTickets.After != nil || q.MergeCandidates.After != nil {
		return TicketPage{}, Invalid("a ticket page's lists take no search and no cursor")
	}
	if r, ok := tx.(TicketPageReader); ok {
		p, err := r.TicketPage(ctx, q)
		if err == nil && q.WantCandidates != nil && !q.WantCandidates(&p) {
			p.MergeCandidates = nil
		}
		return p, err
	}
	return readTicketPage(ctx, tx, q)
}

// readTicketPage is ReadTicketPage with one Tx call for each part.
func readTicketPage(ctx context.Context, tx Tx, q TicketPageQuery) (TicketPage, error) {
	var p TicketPage
	var err error
	if q.SessionHash != "" {
		if p.Session, p.SessionAgent, err = readSession(ctx, tx, q.SessionHash); err != nil || p.Session == nil {
			// No agent's page for a cookie that is no session: read
			// only when asked for again as the customer's.
			return p, err
		}
	}
	if p.Ticket, err = tx.Ticket(ctx, q.ID); err != nil {
		return TicketPage{}, err
	}
	t := p.Ticket
	if p.Entries, err = tx.Entries(ctx, t.ID, q.WithInternal); err != nil {
		return TicketPage{}, err
	}
	if q.Version {
		if p.Version, err = tx.TicketVersion(ctx, t.ID); err != nil {
			return TicketPage{}, err
		}
	}
	if q.Assignee && t.Assignee != "" {
		a, err := tx.Agent(ctx, t.Assignee)
		switch {
		case err == nil:
			p.Assignee = &a
		case !errors.Is(err, ErrNotFound):
			return TicketPage{}, err
		}
	}
	if q.CustomerTickets.Limit > 0 {
		lq := q.CustomerTickets
		lq.Customer, lq.Exclude = t.Customer, t.ID
		if p.CustomerTickets, err = tx.ListTickets(ctx, lq); err != nil {
			return TicketPage{}, err
		}
	}
	if q.MergeCandidates.Limit > 0 && (q.WantCandidates == nil || q.WantCandidates(&p)) {
		lq := q.MergeCandidates
		lq.Customer, lq.Exclude = t.Customer, t.ID
		lq.Assignee, lq.Unassigned = t.Assignee, t.Assignee == ""
		if p.MergeCandidates, err = tx.ListTickets(ctx, lq); err != nil {
			return TicketPage{}, err
		}
	}
	return p, nil
}

// readSession reads the session with tokenHash and its agent in tx: nil
// for both when there is no such session or its agent is gone.
func readSession(ctx context.Context, tx Tx, tokenHash string) (*Session, *Agent, error) {
	sess, err := tx.Session(ctx, tokenHash)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	a, err := tx.Agent(ctx, sess.Username)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &sess, &a, nil
}
