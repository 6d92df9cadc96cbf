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
}

// ViewTicket returns ticket id as seen by viewer: nil for the customer (no
// login), who sees external entries only.
func (s *Service) ViewTicket(ctx context.Context, viewer *Agent, id string) (TicketView, error) {
	if !ValidTicketID(id) {
		return TicketView{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	var v TicketView
	err := s.store.View(ctx, func(tx Tx) error {
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return err
		}
		v = TicketView{Ticket: t, MailboxName: s.MailboxName(t.Mailbox)}
		if v.Entries, err = tx.Entries(ctx, id, viewer != nil); err != nil {
			return err
		}
		if t.MergedInto != "" {
			if target, err := s.resolve(ctx, tx, t.MergedInto); err == nil {
				v.MergedInto = &target
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if t.Assignee != "" && viewer != nil {
			if a, err := tx.Agent(ctx, t.Assignee); err == nil {
				v.Assignee = &a
			}
		}
		if viewer == nil || t.Merged() || (t.Assignee != "" && t.Assignee != viewer.Username) {
			return nil
		}
		v.CanEdit = true
		v.MergeCandidates, err = tx.ListTickets(ctx, TicketQuery{
			Customer: t.Customer, Assignee: t.Assignee, Unassigned: t.Assignee == "",
			Exclude: t.ID, Limit: 200,
		})
		return err
	})
	if err != nil {
		return TicketView{}, fmt.Errorf("view ticket %s: %w", id, err)
	}
	return v, nil
}

// CustomerComment adds a comment by the ticket's customer from the ticket
// page. A closed ticket goes back to Open. No mail goes to the customer;
// the assignee is notified if they chose so.
func (s *Service) CustomerComment(ctx context.Context, id, text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return Invalid("write a comment first")
	}
	if len(text) > MaxCommentLength {
		return Invalid(fmt.Sprintf("the comment is longer than %d KiB", MaxCommentLength>>10))
	}
	if !ValidTicketID(id) {
		return fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return err
		}
		if t.Merged() {
			return Invalid("this ticket was merged into ticket " + t.MergedInto + ": comment there")
		}
		if err := reopen(ctx, tx, &t, now, "Reopened: the customer commented on the closed ticket."); err != nil {
			return err
		}
		t.UpdatedAt = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return err
		}
		if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorCustomer,
			Author: t.Customer, AuthorName: t.CustomerName, Text: text}); err != nil {
			return err
		}
		if t.Assignee == "" {
			return nil
		}
		return s.notifyAgents(ctx, tx, t, NotifyReply, t.Assignee, t.LastMessageID, text)
	})
	if err != nil {
		return fmt.Errorf("comment on ticket %s: %w", id, err)
	}
	return nil
}

// Assign gives an unassigned ticket to an agent (or lets the current
// assignee hand it over), sets it In Progress and tells the customer who
// handles it now.
func (s *Service) Assign(ctx context.Context, actor, id, assignee string) error {
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		me, err := tx.Agent(ctx, actor)
		if err != nil {
			return err
		}
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return err
		}
		if t.Merged() {
			return Invalid("the ticket was merged into ticket " + t.MergedInto)
		}
		if t.Assignee != "" && t.Assignee != me.Username {
			return fmt.Errorf("ticket is already assigned to %s: %w", t.Assignee, ErrNotAssignee)
		}
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
		if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: true,
			Text: fmt.Sprintf("Assigned to %s by %s; status In Progress.", target.DisplayName(), me.DisplayName())}); err != nil {
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

// Release removes the actor from their ticket and sets it Open; the
// customer learns that it waits for an agent again.
func (s *Service) Release(ctx context.Context, actor, id string) error {
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		me, err := tx.Agent(ctx, actor)
		if err != nil {
			return err
		}
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return err
		}
		if t.Assignee != me.Username {
			return fmt.Errorf("only the assignee can release a ticket: %w", ErrNotAssignee)
		}
		t.Assignee = ""
		t.Status = StatusOpen
		t.UpdatedAt = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return err
		}
		if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: true,
			Text: fmt.Sprintf("Released by %s; status Open.", me.DisplayName())}); err != nil {
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
}

// Save applies an agent's change to a ticket: status, comment, merge. With
// reply type external the customer sees the entries and gets one mail; with
// internal, nothing reaches the customer.
func (s *Service) Save(ctx context.Context, actor, id string, c Change) error {
	c.Comment = strings.TrimSpace(c.Comment)
	if len(c.Comment) > MaxCommentLength {
		return Invalid(fmt.Sprintf("the comment is longer than %d KiB", MaxCommentLength>>10))
	}
	if c.Status != "" {
		if _, err := ParseStatus(string(c.Status)); err != nil {
			return err
		}
	}
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		me, err := tx.Agent(ctx, actor)
		if err != nil {
			return err
		}
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return err
		}
		if t.Merged() {
			return Invalid("the ticket was merged into ticket " + t.MergedInto + " and cannot change")
		}
		if t.Assignee != "" && t.Assignee != me.Username {
			return fmt.Errorf("ticket is assigned to %s: %w", t.Assignee, ErrNotAssignee)
		}
		old := t.Status
		status := c.Status
		if status == "" || c.MergeInto != "" {
			status = t.Status
		}
		if status == t.Status && c.Comment == "" && c.MergeInto == "" {
			return Invalid("nothing to save: choose another status, write a comment or pick a ticket to merge with")
		}
		internal := !c.External
		if c.Comment != "" {
			if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorAgent,
				Author: me.Username, AuthorName: me.DisplayName(), Internal: internal, Text: c.Comment}); err != nil {
				return err
			}
		}
		if status != t.Status {
			// Taking up an unassigned ticket makes it the actor's.
			if status == StatusInProgress && t.Assignee == "" {
				if me.Vacation {
					return fmt.Errorf("you are in vacation mode and cannot take tickets: %w", ErrOnVacation)
				}
				t.Assignee = me.Username
			}
			t.Status = status
			if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: internal,
				Text: fmt.Sprintf("Status changed from %s to %s by %s.", old.Label(), status.Label(), me.DisplayName())}); err != nil {
				return err
			}
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
		if internal {
			return nil
		}
		// An answer an agent wrote is personal mail; a change of status
		// alone is an automatic notice.
		return s.queueMail(ctx, tx, t, false, c.Comment != "", changeText(s, t, me, c.Comment, old, target))
	})
	if err != nil {
		return fmt.Errorf("save ticket %s: %w", id, err)
	}
	return nil
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
	err := s.store.Update(ctx, func(tx Tx) error {
		a, err := tx.Agent(ctx, actor)
		if err != nil {
			return err
		}
		a.Vacation = on
		return tx.UpdateAgent(ctx, a)
	})
	if err != nil {
		return fmt.Errorf("set vacation of %s: %w", actor, err)
	}
	return nil
}

// TicketList is one page of a ticket list.
type TicketList struct {
	Tickets []Ticket
	Total   int     // matching tickets in all pages, at most MaxListCount
	More    bool    // more than Total match (Total is MaxListCount)
	Next    *Cursor // position after the last ticket; nil on the last page
}

// MaxListCount is where ListTickets stops counting the matching tickets:
// counting all of a million would cost more than the page itself.
const MaxListCount = 10_000

// DefaultPageSize is the number of tickets on one list page.
const DefaultPageSize = 50

// ListTickets returns one page of tickets matching q (merged ones never).
func (s *Service) ListTickets(ctx context.Context, q TicketQuery) (TicketList, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = DefaultPageSize
	}
	var l TicketList
	err := s.store.View(ctx, func(tx Tx) error {
		want := q
		want.Limit = q.Limit + 1
		ts, err := tx.ListTickets(ctx, want)
		if err != nil {
			return err
		}
		if len(ts) > q.Limit {
			ts = ts[:q.Limit]
			last := ts[len(ts)-1]
			l.Next = &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		l.Tickets = ts
		cq := q
		cq.CountMax = MaxListCount + 1
		l.Total, err = tx.CountTickets(ctx, cq)
		if l.Total > MaxListCount {
			l.Total, l.More = MaxListCount, true
		}
		return err
	})
	if err != nil {
		return TicketList{}, fmt.Errorf("list tickets: %w", err)
	}
	return l, nil
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
