package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxCommentLength caps a comment written on the web, in bytes.
const MaxCommentLength = 64 << 10

// TicketView is what the ticket page shows to one viewer.
type TicketView struct {
	Ticket  Ticket
	Entries []Entry // external only for customers
	// MergedInto is the ticket this one was merged into, if any.
	MergedInto *Ticket
	// CanEdit: the viewer is an agent and the ticket is theirs or unassigned.
	CanEdit bool
	// MergeCandidates are the other tickets of the same customer with the
	// same assignee (only for agents who can edit).
	MergeCandidates []Ticket
	// Assignee is the assigned agent, if any.
	Assignee *Agent
	// MailboxName is the name of the mailbox the ticket came in on, if any.
	MailboxName string
	// CustomerTickets are the customer's other tickets (any status and
	// assignee, merged ones never), newest activity first, at most
	// MaxCustomerTickets.
	CustomerTickets []Ticket
	// ReplyAddress is the address the customer can answer to by mail, and
	// ReplySubject a subject with the ticket's tag, which also threads
	// a mail sent to the plain support address.
	ReplyAddress string
	ReplySubject string
	// Version is the ticket's version (Tx.TicketVersion) in the snapshot
	// the view was read from; set for the customer's view only.
	Version int64
}

// MaxCustomerTickets caps TicketView.CustomerTickets.
const MaxCustomerTickets = 10

// customerSees reports whether the customer sees entry e: their own and
// the agents' external entries, and of the daemon's lines only the
// notices of a merge, which tell where the conversation went on.
func customerSees(e Entry) bool {
	if e.Internal {
		return false
	}
	if e.AuthorKind != AuthorSystem {
		return true
	}
	return strings.HasPrefix(e.Text, "Merged into ticket ") ||
		(strings.HasPrefix(e.Text, "Ticket ") && strings.Contains(e.Text, " was merged into this ticket"))
}

// ViewTicket returns ticket id as seen by viewer: nil for the customer (no
// login), who sees external entries only.
func (s *Service) ViewTicket(ctx context.Context, viewer *Agent, id string) (TicketView, error) {
	v, _, err := s.viewTicket(ctx, viewer, "", id)
	return v, err
}

// ViewTicketAs returns ticket id as seen by the agent of a session token,
// and that agent. It reads the session with the ticket, in one
// transaction, where SessionAgent and ViewTicket would take one each.
// When the token is no valid session, it returns an error wrapping
// ErrNoSession, and the visitor is a customer (ViewTicket with no
// viewer). The agent is also returned with an error about the ticket
// (one that does not exist), for the page that says so.
func (s *Service) ViewTicketAs(ctx context.Context, token, id string) (TicketView, *Agent, error) {
	if token == "" {
		return TicketView{}, nil, fmt.Errorf("view ticket %s: %w", id, ErrNoSession)
	}
	v, viewer, err := s.viewTicket(ctx, nil, hashToken(token), id)
	if errors.Is(err, ErrNotFound) {
		// No such ticket, and the session was not read with it.
		if a, serr := s.SessionAgent(ctx, token); serr == nil {
			viewer = &a
		}
	}
	return v, viewer, err
}

// viewTicket is ViewTicket, or with sessionHash set ViewTicketAs: then
// viewer is the session's agent, read with the ticket, and the error
// wraps ErrNoSession when the session is not valid.
func (s *Service) viewTicket(ctx context.Context, viewer *Agent, sessionHash, id string) (TicketView, *Agent, error) {
	if !ValidTicketID(id) {
		return TicketView{}, nil, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	agent := viewer != nil || sessionHash != ""
	// viewerOf is the viewer of page p: the session's agent while it is
	// valid, when the session was read with the page.
	viewerOf := func(p *TicketPage) *Agent {
		if sessionHash == "" {
			return viewer
		}
		if p.Session == nil || !s.live(*p.Session) {
			return nil
		}
		return p.SessionAgent
	}
	// canEdit: the viewer is an agent, and the ticket is not merged and
	// is theirs or unassigned.
	canEdit := func(viewer *Agent, t Ticket) bool {
		return viewer != nil && !t.Merged() && (t.Assignee == "" || t.Assignee == viewer.Username)
	}
	q := TicketPageQuery{ID: id, WithInternal: agent, Version: !agent, Assignee: agent, SessionHash: sessionHash}
	if agent {
		q.CustomerTickets = TicketQuery{Sort: SortActivity, Limit: MaxCustomerTickets}
		q.MergeCandidates = TicketQuery{Limit: 200}
		q.WantCandidates = func(p *TicketPage) bool { return canEdit(viewerOf(p), p.Ticket) }
	}
	var v TicketView
	err := s.store.View(ctx, func(tx Tx) error {
		p, err := ReadTicketPage(ctx, tx, q)
		if err != nil {
			return err
		}
		viewer = viewerOf(&p)
		if agent && viewer == nil {
			return ErrNoSession
		}
		t := p.Ticket
		_, base := s.sender(t)
		v = TicketView{Ticket: t, Entries: p.Entries, MailboxName: s.MailboxName(t.Mailbox), ReplyAddress: PlusAddress(base, t.ID),
			ReplySubject: "Re: " + Tag(t.ID) + " " + StripTag(t.Subject), Version: p.Version,
			Assignee: p.Assignee, CustomerTickets: p.CustomerTickets}
		if viewer == nil {
			kept := v.Entries[:0]
			for _, e := range v.Entries {
				if customerSees(e) {
					kept = append(kept, e)
				}
			}
			v.Entries = kept
		}
		if t.MergedInto != "" {
			if target, err := s.resolve(ctx, tx, t.MergedInto); err == nil {
				v.MergedInto = &target
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if canEdit(viewer, t) {
			v.CanEdit, v.MergeCandidates = true, p.MergeCandidates
		}
		return nil
	})
	if err != nil {
		return TicketView{}, nil, fmt.Errorf("view ticket %s: %w", id, err)
	}
	return v, viewer, nil
}

// CustomerComment adds a comment by the ticket's customer from the ticket
// page, on the same path as the customer's answer by mail: a comment on a
// merged ticket lands on the ticket it was merged into, a closed ticket
// goes back to Open, no mail goes to the customer, and the assignee is
// notified if they chose so. It returns the id of the ticket the comment
// landed on.
func (s *Service) CustomerComment(ctx context.Context, id, text string) (landedOn string, err error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", Invalid("write a comment first")
	}
	if len(text) > MaxCommentLength {
		return "", Invalid(fmt.Sprintf("the comment is longer than %d KiB", MaxCommentLength>>10))
	}
	err = s.changeTicket(ctx, id, func(tx Tx, t Ticket, now time.Time) error {
		entry := Entry{CreatedAt: now, AuthorKind: AuthorCustomer, Author: t.Customer, AuthorName: t.CustomerName, Text: text}
		if t.Merged() {
			var err error
			if t, err = s.resolve(ctx, tx, t.MergedInto); err != nil {
				return err
			}
		}
		landedOn = t.ID
		return s.addWords(ctx, tx, &t, words{entry: entry, from: entry.Author,
			reopened: "Reopened: the customer commented on the closed ticket."})
	})
	if err != nil {
		return "", fmt.Errorf("comment on ticket %s: %w", id, err)
	}
	return landedOn, nil
}

// changeTicket runs change in one read-write transaction with ticket id
// loaded and the time of the change: the opening of every change to one
// ticket. An id that cannot be a ticket's is not found without asking the
// store.
func (s *Service) changeTicket(ctx context.Context, id string, change func(tx Tx, t Ticket, now time.Time) error) error {
	if !ValidTicketID(id) {
		return fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	now := s.now()
	return s.store.Update(ctx, func(tx Tx) error {
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return err
		}
		return change(tx, t, now)
	})
}

// agentChange is changeTicket for a change by the agent actor (me), on a
// ticket that is not merged and is theirs or unassigned.
func (s *Service) agentChange(ctx context.Context, actor, id string, change func(tx Tx, me Agent, t Ticket, now time.Time) error) error {
	return s.changeTicket(ctx, id, func(tx Tx, t Ticket, now time.Time) error {
		me, err := tx.Agent(ctx, actor)
		if err != nil {
			return err
		}
		if t.Merged() {
			return Invalid("the ticket was merged into ticket " + t.MergedInto + " and cannot change")
		}
		if t.Assignee != "" && t.Assignee != me.Username {
			return fmt.Errorf("ticket is assigned to %s: %w", t.Assignee, ErrNotAssignee)
		}
		return change(tx, me, t, now)
	})
}

// Assign gives an unassigned ticket to an agent (or lets the current
// assignee hand it over), sets it In Progress and tells the customer who
// handles it now.
func (s *Service) Assign(ctx context.Context, actor, id, assignee string) error {
	err := s.agentChange(ctx, actor, id, func(tx Tx, me Agent, t Ticket, now time.Time) error {
		target, err := tx.Agent(ctx, assignee)
		if errors.Is(err, ErrNotFound) {
			return Invalid(fmt.Sprintf("there is no agent %q", assignee))
		}
		if err != nil {
			return err
		}
		if target.Vacation {
			return fmt.Errorf("%s is in vacation mode and cannot take tickets: %w", target.DisplayName(), ErrOnVacation)
		}
		if t.Assignee == target.Username {
			return nil
		}
		t.Assignee = target.Username
		t.Status = StatusInProgress
		t.UpdatedAt = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return err
		}
		if err := systemNote(ctx, tx, t, now, true, "Assigned to %s by %s; status In Progress.", target.DisplayName(), me.DisplayName()); err != nil {
			return err
		}
		if target.Username != me.Username {
			if err := s.notifyAgents(ctx, tx, t, NotifyAssigned, target.Username, t.LastMessageID, ""); err != nil {
				return err
			}
		}
		return s.queue(ctx, tx, t, false, assignedText(s, t, target))
	})
	if err != nil {
		return fmt.Errorf("assign ticket %s to %s: %w", id, assignee, err)
	}
	return nil
}

// systemNote adds the daemon's line about a change to ticket t.
func systemNote(ctx context.Context, tx Tx, t Ticket, now time.Time, internal bool, format string, args ...any) error {
	return tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: internal,
		Text: fmt.Sprintf(format, args...)})
}

// Release removes the actor from their ticket and sets it Open; the
// customer learns that it waits for an agent again. A Closed ticket stays
// Closed, without an assignee, and nobody gets mail.
func (s *Service) Release(ctx context.Context, actor, id string) error {
	err := s.changeTicket(ctx, id, func(tx Tx, t Ticket, now time.Time) error {
		me, err := tx.Agent(ctx, actor)
		if err != nil {
			return err
		}
		if t.Assignee != me.Username {
			return fmt.Errorf("only the assignee can release a ticket: %w", ErrNotAssignee)
		}
		t.Assignee = ""
		t.UpdatedAt = now
		if t.Status == StatusClosed {
			if err := tx.UpdateTicket(ctx, t); err != nil {
				return err
			}
			return systemNote(ctx, tx, t, now, true, "Released by %s; stays Closed.", me.DisplayName())
		}
		t.Status = StatusOpen
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return err
		}
		if err := systemNote(ctx, tx, t, now, true, "Released by %s; status Open.", me.DisplayName()); err != nil {
			return err
		}
		return s.queue(ctx, tx, t, false, releasedText(s, t))
	})
	if err != nil {
		return fmt.Errorf("release ticket %s: %w", id, err)
	}
	return nil
}

// Change is what an agent saves on the ticket page.
type Change struct {
	Status   Status // empty: unchanged
	External bool   // reply type: external entries are shown and mailed to the customer
	Comment  string
	// MergeInto is the id of another ticket of the same customer and
	// assignee to merge this one into; empty: no merge.
	MergeInto string
	// AssignToMe first gives an unassigned ticket to the actor (In
	// Progress unless Status says otherwise), so that taking and answering
	// a ticket is one Save. On the actor's own ticket it does nothing.
	AssignToMe bool
}

// clean trims the comment and checks the change before any store work.
func (c *Change) clean() error {
	c.Comment = strings.TrimSpace(c.Comment)
	if len(c.Comment) > MaxCommentLength {
		return Invalid(fmt.Sprintf("the comment is longer than %d KiB", MaxCommentLength>>10))
	}
	if c.Status != "" {
		if _, err := ParseStatus(string(c.Status)); err != nil {
			return err
		}
	}
	return nil
}

// Save applies an agent's change to a ticket: assignment to the actor,
// status, comment, merge. With reply type external the customer sees the
// entries and gets one mail; with internal, nothing reaches the customer.
// Taking a ticket alone mails the customer who handles it, as Assign does.
// An external comment on a Closed ticket whose status is left as it is
// reopens it: In Progress when assigned, Open otherwise.
func (s *Service) Save(ctx context.Context, actor, id string, c Change) error {
	if err := c.clean(); err != nil {
		return err
	}
	err := s.agentChange(ctx, actor, id, func(tx Tx, me Agent, t Ticket, now time.Time) error {
		took, err := take(ctx, tx, me, &t, c.AssignToMe, now)
		if err != nil {
			return err
		}
		old := t.Status
		status := c.newStatus(t, took)
		if status == t.Status && c.Comment == "" && c.MergeInto == "" && !took {
			return Invalid("nothing to save: choose another status, write a comment or pick a ticket to merge with")
		}
		internal := !c.External
		if c.Comment != "" {
			if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorAgent,
				Author: me.Username, AuthorName: me.DisplayName(), Internal: internal, Text: c.Comment}); err != nil {
				return err
			}
		}
		if err := setStatus(ctx, tx, me, &t, status, internal, now); err != nil {
			return err
		}
		var target *Ticket
		if c.MergeInto != "" {
			tg, err := s.merge(ctx, tx, me, &t, c.MergeInto, internal, now)
			if err != nil {
				return err
			}
			target = &tg
		}
		t.UpdatedAt = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return err
		}
		return s.saveMail(ctx, tx, me, t, c, took, old, target)
	})
	if err != nil {
		return fmt.Errorf("save ticket %s: %w", id, err)
	}
	return nil
}

// take gives the unassigned ticket t to me when they asked for it and
// reports whether it did.
func take(ctx context.Context, tx Tx, me Agent, t *Ticket, asked bool, now time.Time) (bool, error) {
	if !asked || t.Assignee != "" {
		return false, nil
	}
	if me.Vacation {
		return false, fmt.Errorf("you are in vacation mode and cannot take tickets: %w", ErrOnVacation)
	}
	t.Assignee = me.Username
	return true, systemNote(ctx, tx, *t, now, true, "Assigned to %s by %s.", me.DisplayName(), me.DisplayName())
}

// newStatus is the status a Save leaves ticket t in: the chosen one (none
// with a merge, which closes t itself), In Progress for a ticket just
// taken when no other status was chosen, and for an external comment on a
// Closed ticket left Closed, Open again (In Progress when assigned).
func (c Change) newStatus(t Ticket, took bool) Status {
	status := c.Status
	if status == "" || c.MergeInto != "" {
		status = t.Status
	}
	if took && (c.Status == "" || c.Status == t.Status) && c.MergeInto == "" && t.Status != StatusInProgress {
		status = StatusInProgress
	}
	if c.External && c.Comment != "" && c.MergeInto == "" && t.Status == StatusClosed && status == StatusClosed {
		status = StatusOpen
		if t.Assignee != "" {
			status = StatusInProgress
		}
	}
	return status
}

// setStatus changes the status of t to status, if it differs, with a note;
// taking up an unassigned ticket (In Progress) makes it me's.
func setStatus(ctx context.Context, tx Tx, me Agent, t *Ticket, status Status, internal bool, now time.Time) error {
	old := t.Status
	if status == old {
		return nil
	}
	if status == StatusInProgress && t.Assignee == "" {
		if me.Vacation {
			return fmt.Errorf("you are in vacation mode and cannot take tickets: %w", ErrOnVacation)
		}
		t.Assignee = me.Username
	}
	t.Status = status
	return systemNote(ctx, tx, *t, now, internal, "Status changed from %s to %s by %s.", old.Label(), status.Label(), me.DisplayName())
}

// saveMail queues the mail a Save sends the customer: who handles the
// ticket when me took it and nothing else reaches the customer, else for
// an external change one mail with the comment, the new status or the
// merge. An answer an agent wrote is personal mail; a change of status
// alone is an automatic notice.
func (s *Service) saveMail(ctx context.Context, tx Tx, me Agent, t Ticket, c Change, took bool, old Status, target *Ticket) error {
	internal := !c.External
	if took && (internal || (c.Comment == "" && target == nil && old == t.Status)) {
		return s.queue(ctx, tx, t, false, assignedText(s, t, me))
	}
	if internal {
		return nil
	}
	return s.queueMail(ctx, tx, t, false, c.Comment != "", changeText(s, t, me, c.Comment, old, target))
}

// merge closes t, marks it merged into targetID and copies all its entries
// into the target, keeping their creation times so the target shows them in
// order.
func (s *Service) merge(ctx context.Context, tx Tx, me Agent, t *Ticket, targetID string, internal bool, now time.Time) (Ticket, error) {
	if targetID == t.ID {
		return Ticket{}, Invalid("a ticket cannot be merged with itself")
	}
	target, err := tx.Ticket(ctx, targetID)
	if errors.Is(err, ErrNotFound) {
		return Ticket{}, Invalid("the ticket to merge with does not exist")
	}
	if err != nil {
		return Ticket{}, err
	}
	if target.Merged() {
		return Ticket{}, Invalid("the ticket to merge with was itself merged into ticket " + target.MergedInto)
	}
	if !SameAddress(target.Customer, t.Customer) || target.Assignee != t.Assignee {
		return Ticket{}, Invalid("only tickets of the same customer with the same assignee can be merged")
	}
	entries, err := tx.Entries(ctx, t.ID, true)
	if err != nil {
		return Ticket{}, err
	}
	for _, e := range entries {
		if e.AuthorKind == AuthorSystem {
			continue // its "Assigned to…" lines are not the target's history
		}
		e.ID = 0
		e.TicketID = target.ID
		e.FromTicket = t.ID
		e.MessageID = ""
		atts := e.Attachments
		e.Attachments = nil
		for _, a := range atts {
			full, _, err := tx.Attachment(ctx, a.ID)
			if err != nil {
				return Ticket{}, err
			}
			full.ID = 0
			e.Attachments = append(e.Attachments, full)
		}
		if err := tx.AddEntry(ctx, &e); err != nil {
			return Ticket{}, err
		}
	}
	if err := tx.AddEntry(ctx, &Entry{TicketID: target.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: internal,
		Text: fmt.Sprintf("Ticket %s (%s) was merged into this ticket by %s.", t.ID, t.Subject, me.DisplayName())}); err != nil {
		return Ticket{}, err
	}
	if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: internal,
		Text: fmt.Sprintf("Merged into ticket %s by %s; closed.", target.ID, me.DisplayName())}); err != nil {
		return Ticket{}, err
	}
	target.UpdatedAt = now
	if err := tx.UpdateTicket(ctx, target); err != nil {
		return Ticket{}, err
	}
	t.Status = StatusClosed
	t.MergedInto = target.ID
	return target, nil
}

// SetVacation switches the actor's vacation mode.
func (s *Service) SetVacation(ctx context.Context, actor string, on bool) error {
	return s.changeAgent(ctx, actor, "set vacation", func(a *Agent) { a.Vacation = on })
}

// changeAgent applies change to the stored agent actor; what names the
// change in the error.
func (s *Service) changeAgent(ctx context.Context, actor, what string, change func(*Agent)) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		a, err := tx.Agent(ctx, actor)
		if err != nil {
			return err
		}
		change(&a)
		return tx.UpdateAgent(ctx, a)
	})
	if err != nil {
		return fmt.Errorf("%s of %s: %w", what, actor, err)
	}
	return nil
}

// TicketList is one page of a ticket list.
type TicketList struct {
	Tickets []Ticket
	// Items are Tickets with the snippet of a search, in the same order.
	Items []TicketSummary
	Total int     // matching tickets in all pages, at most MaxListCount (MaxSearchCount for a search)
	More  bool    // more than Total match (counting stopped)
	Next  *Cursor // position after the last ticket; nil on the last page
	// Offset is the number of tickets before this page (the query's,
	// capped at MaxOffset); HasNext says whether another page follows.
	Offset  int
	HasNext bool
}

// MaxListCount is where ListTickets stops counting the matching tickets:
// counting all of a million would cost more than the page itself.
const MaxListCount = 10_000

// DefaultPageSize is the number of tickets on one list page.
const DefaultPageSize = 50

// ListTickets returns one page of tickets matching q (merged ones never).
// A search needs q.Viewer, an agent; its results carry snippets.
func (s *Service) ListTickets(ctx context.Context, q TicketQuery) (TicketList, error) {
	var l TicketList
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		l, err = s.listTickets(ctx, tx, q)
		return err
	})
	if err != nil {
		return TicketList{}, fmt.Errorf("list tickets: %w", err)
	}
	return l, nil
}

// listTickets is ListTickets in transaction tx.
func (s *Service) listTickets(ctx context.Context, tx Tx, q TicketQuery) (TicketList, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = DefaultPageSize
	}
	q.Offset = min(max(q.Offset, 0), MaxOffset)
	if q.After != nil {
		q.Offset = 0
	}
	l := TicketList{Offset: q.Offset}
	if err := s.cleanSearch(ctx, tx, &q); err != nil {
		return TicketList{}, err
	}
	want := q
	want.Limit = q.Limit + 1
	ts, err := tx.ListTickets(ctx, want)
	if err != nil {
		return TicketList{}, err
	}
	if len(ts) > q.Limit {
		ts = ts[:q.Limit]
		last := ts[len(ts)-1]
		l.Next = &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		l.HasNext = q.Offset < MaxOffset
	}
	l.Tickets = ts
	l.Items = make([]TicketSummary, len(ts))
	for i, t := range ts {
		l.Items[i] = TicketSummary{Ticket: t}
		if q.Search != "" {
			if l.Items[i].Snippet, err = s.snippet(ctx, tx, t, q.Search); err != nil {
				return TicketList{}, err
			}
		}
	}
	c, err := countTickets(ctx, tx, q)
	if err != nil {
		return TicketList{}, err
	}
	l.Total, l.More = c.N, c.More
	return l, nil
}

// snippet returns the text around the first match of search in ticket t:
// in its newest matching entry, else its subject, customer name or address.
func (s *Service) snippet(ctx context.Context, tx Tx, t Ticket, search string) (Snippet, error) {
	es, err := tx.Entries(ctx, t.ID, true)
	if err != nil {
		return Snippet{}, err
	}
	texts := make([]string, 0, len(es)+3)
	for i := len(es) - 1; i >= 0; i-- {
		if Searchable(es[i].AuthorKind) {
			texts = append(texts, es[i].Text)
		}
	}
	texts = append(texts, t.Subject, t.CustomerName, t.Customer)
	sn, ok := makeSnippet(search, texts)
	if !ok {
		sn = cutSnippet(t.Subject, 0, 0)
	}
	return sn, nil
}

// Attachment returns an attachment of ticket id with its data, if viewer may
// see it: customers (viewer nil) only those of external entries.
func (s *Service) Attachment(ctx context.Context, viewer *Agent, ticketID string, attID int64) (Attachment, error) {
	var a Attachment
	err := s.store.View(ctx, func(tx Tx) error {
		att, e, err := tx.Attachment(ctx, attID)
		if err != nil {
			return err
		}
		if e.TicketID != ticketID || (e.Internal && viewer == nil) {
			return ErrNotFound
		}
		a = att
		return nil
	})
	if err != nil {
		return Attachment{}, fmt.Errorf("attachment %d of ticket %s: %w", attID, ticketID, err)
	}
	return a, nil
}

// TicketVersion returns the current version of ticket id (see
// Tx.TicketVersion): equal versions of a ticket mean an equal ticket page.
func (s *Service) TicketVersion(ctx context.Context, id string) (int64, error) {
	if !ValidTicketID(id) {
		return 0, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	var v int64
	var err error
	if r, ok := s.store.(TicketVersionReader); ok {
		v, err = r.TicketVersion(ctx, id)
	} else {
		err = s.store.View(ctx, func(tx Tx) error {
			v, err = tx.TicketVersion(ctx, id)
			return err
		})
	}
	if err != nil {
		return 0, fmt.Errorf("ticket version %s: %w", id, err)
	}
	return v, nil
}
