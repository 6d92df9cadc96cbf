package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReceiveResult tells a door what became of an inbound message.
type ReceiveResult struct {
	TicketID  string
	Created   bool   // a new ticket was opened
	Duplicate bool   // the Message-ID was ingested before; nothing changed
	Automatic string // why no automatic answer was sent, if so
}

// MaxTextLength caps the stored text of one entry; longer text is cut with a
// note (the full original stays available where the door keeps it).
const MaxTextLength = 1 << 20

// Receive is the one path for every inbound customer message (DESIGN.md).
// In one transaction it detects a duplicate Message-ID, finds the ticket the
// message answers or opens a new one, applies the loop rules, records the
// entry and queues the notifications. The door acknowledges the message only
// after Receive returned without error: then it is committed.
func (s *Service) Receive(ctx context.Context, m InboundMessage) (ReceiveResult, error) {
	res, err := s.receive(ctx, m)
	if s.cfg.OnReceive != nil {
		s.cfg.OnReceive(m.Door, res, err)
	}
	return res, err
}

func (s *Service) receive(ctx context.Context, m InboundMessage) (ReceiveResult, error) {
	from := strings.TrimSpace(m.From)
	badFrom := "" // a sender that is not one valid address, as given
	if from != "" {
		addr, err := ParseAddress(from)
		if err != nil {
			if m.Door == DoorWeb || m.Door == DoorAPI {
				return ReceiveResult{}, err
			}
			// A mail with a broken From (several addresses, junk) is still
			// kept; its ticket has no customer address and is never
			// answered by mail.
			m.NullSender = true
			badFrom, from = CleanSubject(from), ""
		} else {
			from = addr
		}
	} else if m.Door == DoorWeb || m.Door == DoorAPI {
		return ReceiveResult{}, Invalid("the sender's e-mail address is missing")
	}
	m.From = from
	m.Subject = CleanSubject(m.Subject)
	if m.MessageID == "" {
		m.MessageID = s.NewMessageID()
	}
	m.MessageID = trimAngles(m.MessageID)
	text := m.Text
	if len(text) > MaxTextLength {
		text = strings.ToValidUTF8(text[:MaxTextLength], "") + "\n\n[… text cut: it was longer than 1 MiB]"
	}
	reason := AutomaticReason(m, s.ownAddresses())
	now := s.now()

	var res ReceiveResult
	err := s.store.Update(ctx, func(tx Tx) error {
		res = ReceiveResult{Automatic: reason}
		// 1. Duplicate?
		if tid, _, err := tx.MessageIDTicket(ctx, m.MessageID); err == nil {
			res.TicketID, res.Duplicate = tid, true
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		// An agent's answer by mail to a reply address signed for them.
		if tid, am, ok, err := s.agentAnswer(ctx, tx, m); err != nil {
			return err
		} else if ok {
			res, err = s.recordAgentAnswer(ctx, tx, m, tid, am, text, reason, now)
			return err
		}
		// 2. Which ticket?
		t, found, err := s.findTicket(ctx, tx, m)
		if err != nil {
			return err
		}
		entry := Entry{
			CreatedAt:   now,
			AuthorKind:  AuthorCustomer,
			Author:      cmp.Or(from, badFrom),
			AuthorName:  CleanSubject(m.FromName),
			Text:        text,
			Automatic:   reason != "",
			MessageID:   m.MessageID,
			Attachments: m.Attachments,
		}
		if found {
			res.TicketID = t.ID
			if m.Bounce {
				// A delivery status notification is for the agents: it
				// says which of our mails did not arrive.
				entry.Internal = true
				if err := markBounced(ctx, tx, m, now); err != nil {
					return err
				}
			}
			// Automatic mail (an out-of-office, a bounce) never reopens a
			// closed ticket; a person's reply does.
			if reason == "" {
				if err := reopen(ctx, tx, &t, now, "Reopened: the customer answered the closed ticket."); err != nil {
					return err
				}
			}
			if reason == "" && SameAddress(from, t.Customer) {
				t.LastMessageID = m.MessageID
			}
			t.UpdatedAt = now
			if err := tx.UpdateTicket(ctx, t); err != nil {
				return err
			}
			entry.TicketID = t.ID
			if err := tx.AddEntry(ctx, &entry); err != nil {
				return err
			}
			if err := tx.RememberMessageID(ctx, m.MessageID, t.ID, true); err != nil {
				return err
			}
			if reason != "" || t.Assignee == "" {
				return nil
			}
			return s.notifyAgents(ctx, tx, t, NotifyReply, t.Assignee, m.MessageID, SplitQuoted(text).New)
		}
		// 3. A new ticket.
		subject := m.Subject
		if subject == "" {
			subject = "(no subject)"
		}
		t = Ticket{
			ID:            NewTicketID(),
			Subject:       subject,
			Customer:      from,
			CustomerName:  entry.AuthorName,
			Status:        StatusOpen,
			RootMessageID: m.MessageID,
			LastMessageID: m.MessageID,
			CreatedAt:     now,
			UpdatedAt:     now,
			Mailbox:       s.mailboxFor(m.Recipients),
		}
		if reason != "" {
			t.LastMessageID = ""
		}
		if err := tx.CreateTicket(ctx, t); err != nil {
			return err
		}
		res.TicketID, res.Created = t.ID, true
		entry.TicketID = t.ID
		if err := tx.AddEntry(ctx, &entry); err != nil {
			return err
		}
		if err := tx.RememberMessageID(ctx, m.MessageID, t.ID, true); err != nil {
			return err
		}
		if badFrom != "" {
			if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: true,
				Text: fmt.Sprintf("Unanswerable: the sender \"%s\" is not one valid e-mail address, so no mail about this ticket goes out.", badFrom)}); err != nil {
				return err
			}
		}
		if reason != "" {
			return nil
		}
		if err := s.notifyAgents(ctx, tx, t, NotifyNew, "", m.MessageID, text); err != nil {
			return err
		}
		// 4. The confirmation, capped per recipient and hour.
		n, err := tx.CountAutomaticMails(ctx, from, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n >= s.cfg.AutoReplyLimit {
			res.Automatic = fmt.Sprintf("more than %d automatic mails to %s in the last hour", s.cfg.AutoReplyLimit, from)
			return nil
		}
		return s.queue(ctx, tx, t, true, confirmationText(s, t))
	})
	if err != nil {
		if errors.Is(err, ErrDuplicate) {
			// Two doors raced with the same Message-ID; the other one won.
			if res, derr := s.duplicateResult(ctx, m.MessageID, reason); derr == nil {
				return res, nil
			}
		}
		return ReceiveResult{}, fmt.Errorf("receive message %s: %w", m.MessageID, err)
	}
	return res, nil
}

func (s *Service) duplicateResult(ctx context.Context, msgID, reason string) (ReceiveResult, error) {
	var res ReceiveResult
	err := s.store.View(ctx, func(tx Tx) error {
		tid, _, err := tx.MessageIDTicket(ctx, msgID)
		res = ReceiveResult{TicketID: tid, Duplicate: true, Automatic: reason}
		return err
	})
	if err != nil {
		return ReceiveResult{}, fmt.Errorf("receive message %s: %w", msgID, err)
	}
	return res, nil
}

// findTicket applies the threading rules in order: the subject tag, then
// In-Reply-To and References naming a Message-ID we know, then a
// plus-address among the recipients. Merged tickets lead to the ticket they
// were merged into.
func (s *Service) findTicket(ctx context.Context, tx Tx, m InboundMessage) (Ticket, bool, error) {
	var candidates []string
	if id, ok := ParseTag(m.Subject); ok {
		candidates = append(candidates, id)
	}
	var refs []string
	refs = append(refs, m.InReplyTo...)
	for i := len(m.References) - 1; i >= 0; i-- {
		refs = append(refs, m.References[i])
	}
	for _, ref := range refs {
		tid, _, err := tx.MessageIDTicket(ctx, trimAngles(ref))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Ticket{}, false, err
		}
		candidates = append(candidates, tid)
		break
	}
	candidates = append(candidates, s.plusTickets(m.Recipients)...)
	if m.Bounce {
		// RFC 3464 §2, RFC 6522 §4: the returned header names the ticket
		// of a bounced mail that did not carry our Message-ID.
		if id, ok := ParseTag(m.ReturnedSubject); ok {
			candidates = append(candidates, id)
		}
		candidates = append(candidates, s.plusTickets(m.ReturnedAddresses)...)
	}
	for _, id := range candidates {
		t, err := s.resolve(ctx, tx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Ticket{}, false, err
		}
		return t, true, nil
	}
	return Ticket{}, false, nil
}

// plusTickets returns the ticket ids of the support plus-addresses
// (support+<id>@…) among addrs.
func (s *Service) plusTickets(addrs []string) []string {
	var ids []string
	for _, r := range addrs {
		_, detail := splitPlus(strings.TrimSpace(r))
		// A reply address signed for an agent (<id>.<agent>.<mac>) names
		// the ticket too.
		detail, _, _ = strings.Cut(detail, ".")
		if detail != "" && ValidTicketID(strings.ToLower(detail)) && s.IsSupportRecipient(r) {
			ids = append(ids, strings.ToLower(detail))
		}
	}
	return ids
}

// resolve loads a ticket and follows merges to the ticket that lives on.
func (s *Service) resolve(ctx context.Context, tx Tx, id string) (Ticket, error) {
	for range 16 {
		t, err := tx.Ticket(ctx, id)
		if err != nil {
			return Ticket{}, err
		}
		if t.MergedInto == "" {
			return t, nil
		}
		id = t.MergedInto
	}
	return Ticket{}, fmt.Errorf("ticket %s: merge chain too long: %w", id, ErrConflict)
}

// IsSupportRecipient reports whether addr is one of the support addresses
// or a plus-address of one (support+<anything>@domain).
func (s *Service) IsSupportRecipient(addr string) bool {
	base, _ := splitPlus(strings.TrimSpace(addr))
	// Our own mailboxes: the local part is compared without case too
	// (RFC 5321 §2.4 lets us), since address books capitalise it.
	return slices.ContainsFunc(s.cfg.SupportAddresses, func(a string) bool { return strings.EqualFold(a, base) })
}

// reopen sets a closed ticket Open again and notes why, for agents.
func reopen(ctx context.Context, tx Tx, t *Ticket, now time.Time, why string) error {
	if t.Status != StatusClosed {
		return nil
	}
	t.Status = StatusOpen
	return tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: true, Text: why})
}

func trimAngles(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
}

// markBounced marks our own mails that a bounce names (its In-Reply-To and
// References, which the parser fills from the returned message) as bounced,
// with the bounce's diagnostic as the reason.
func markBounced(ctx context.Context, tx Tx, m InboundMessage, now time.Time) error {
	reason := bounceReason(m.Text)
	for _, id := range append(append([]string(nil), m.InReplyTo...), m.References...) {
		mail, err := tx.MailByMessageID(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := tx.MarkMailFailed(ctx, mail.ID, MailBounced, reason, now); err != nil {
			return err
		}
	}
	return nil
}

// bounceReason picks the most telling line of a bounce's text: the
// Diagnostic-Code, else the Status, else a generic reason.
func bounceReason(text string) string {
	var status string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Diagnostic-Code:"):
			return line
		case status == "" && strings.HasPrefix(line, "Status:"):
			status = line
		}
	}
	if status != "" {
		return status
	}
	return "returned by a delivery status notification"
}
