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
	m, badFrom, err := s.cleanInbound(m)
	if err != nil {
		return ReceiveResult{}, err
	}
	reason := AutomaticReason(m, s.ownAddresses())
	now := s.now()
	var res ReceiveResult
	update := s.store.Update
	if g, ok := s.store.(GroupUpdater); ok {
		update = g.UpdateGrouped
	}
	err = update(ctx, func(tx Tx) error {
		var err error
		res, err = s.receiveTx(ctx, tx, m, badFrom, reason, now)
		return err
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

// cleanInbound checks and normalises what a door handed in: the sender
// (refused from the web form and the Mail API when it is not one valid
// address, kept from mail as badFrom, a sender that is never answered),
// the subject, a Message-ID (generated when missing) and the length of
// the text.
func (s *Service) cleanInbound(m InboundMessage) (_ InboundMessage, badFrom string, _ error) {
	from := strings.TrimSpace(m.From)
	typed := m.Door == DoorWeb || m.Door == DoorAPI
	switch addr, err := ParseAddress(from); {
	case from == "" && typed:
		return m, "", Invalid("the sender's e-mail address is missing")
	case from == "":
	case err != nil && typed:
		return m, "", err
	case err != nil:
		// A mail with a broken From (several addresses, junk) is still
		// kept; its ticket has no customer address and is never
		// answered by mail.
		m.NullSender = true
		badFrom, from = CleanSubject(from), ""
	default:
		from = addr
	}
	m.From = from
	m.Subject = CleanSubject(m.Subject)
	if m.MessageID == "" {
		m.MessageID = s.NewMessageID()
	}
	m.MessageID = trimAngles(m.MessageID)
	if len(m.Text) > MaxTextLength {
		m.Text = strings.ToValidUTF8(m.Text[:MaxTextLength], "") + "\n\n[… text cut: it was longer than 1 MiB]"
	}
	return m, badFrom, nil
}

// receiveTx is Receive's transaction: the duplicate check, an agent's
// answer by mail, then the ticket the message answers or a new one.
func (s *Service) receiveTx(ctx context.Context, tx Tx, m InboundMessage, badFrom, reason string, now time.Time) (ReceiveResult, error) {
	facts, err := readFacts(ctx, tx, m, now)
	if err != nil {
		return ReceiveResult{}, err
	}
	// 1. Duplicate?
	if tid, err := duplicateOf(ctx, tx, m.MessageID, facts); err != nil {
		return ReceiveResult{}, err
	} else if tid != "" {
		return ReceiveResult{TicketID: tid, Duplicate: true, Automatic: reason}, nil
	}
	// An agent's answer by mail to a reply address signed for them.
	if tid, am, ok, err := s.agentAnswer(ctx, tx, m); err != nil {
		return ReceiveResult{}, err
	} else if ok {
		return s.recordAgentAnswer(ctx, tx, m, tid, am, m.Text, reason, now)
	}
	// 2. Which ticket?
	t, found, err := s.findTicket(ctx, tx, m)
	if err != nil {
		return ReceiveResult{}, err
	}
	w := words{
		entry: Entry{
			CreatedAt:   now,
			AuthorKind:  AuthorCustomer,
			Author:      cmp.Or(m.From, badFrom),
			AuthorName:  CleanSubject(m.FromName),
			Text:        m.Text,
			Automatic:   reason != "",
			MessageID:   m.MessageID,
			Attachments: m.Attachments,
		},
		from:     m.From,
		reason:   reason,
		reopened: "Reopened: the customer answered the closed ticket.",
	}
	if !found {
		// 3. A new ticket.
		return s.openTicket(ctx, tx, m, w, badFrom, facts)
	}
	if m.Bounce {
		w.bounce = &m
	}
	return ReceiveResult{TicketID: t.ID, Automatic: reason}, s.addWords(ctx, tx, &t, w)
}

// readFacts reads what receiving m needs to know before it writes, in one
// call when the store can (ReceiveReader); nil when it cannot, and each
// step reads for itself.
func readFacts(ctx context.Context, tx Tx, m InboundMessage, now time.Time) (*ReceiveFacts, error) {
	r, ok := tx.(ReceiveReader)
	if !ok {
		return nil, nil
	}
	f, err := r.ReceiveFacts(ctx, m.MessageID, m.From, now.Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// duplicateOf returns the ticket that msgID was ingested for, "" when it
// was not.
func duplicateOf(ctx context.Context, tx Tx, msgID string, facts *ReceiveFacts) (string, error) {
	if facts != nil {
		return facts.Ticket, nil
	}
	tid, _, err := tx.MessageIDTicket(ctx, msgID)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return tid, err
}

// words are a customer's words on their way into a ticket: a message from
// any door, or a comment on the ticket page (Service.CustomerComment).
type words struct {
	// entry is the customer's entry; its MessageID is the mail's, empty
	// for a comment on the ticket page. addWords sets its TicketID.
	entry Entry
	// from is the sender's address, empty when it is not one valid
	// address.
	from string
	// reason says why the words are automatic; "" for a person's.
	reason string
	// bounce is the delivery status notification the words are, if so.
	bounce *InboundMessage
	// reopened is the note for the agents when the words reopen a closed
	// ticket.
	reopened string
}

// addWords appends a customer's words to ticket t: a person's words reopen
// a closed ticket and thread the next mail to theirs, the entry and its
// Message-ID are recorded, and the assignee is notified as they chose.
// Nothing goes to the customer. A bounce becomes an internal entry and
// marks our mails it names as bounced.
func (s *Service) addWords(ctx context.Context, tx Tx, t *Ticket, w words) error {
	now, msgID := w.entry.CreatedAt, w.entry.MessageID
	if w.bounce != nil {
		// A delivery status notification is for the agents: it says
		// which of our mails did not arrive.
		w.entry.Internal = true
		if err := markBounced(ctx, tx, *w.bounce, now); err != nil {
			return err
		}
	}
	// Automatic mail (an out-of-office, a bounce) never reopens a closed
	// ticket; a person's words do.
	if w.reason == "" {
		if err := reopen(ctx, tx, t, now, w.reopened); err != nil {
			return err
		}
		if msgID != "" && SameAddress(w.from, t.Customer) {
			t.LastMessageID = msgID
		}
	}
	t.UpdatedAt = now
	if err := tx.UpdateTicket(ctx, *t); err != nil {
		return err
	}
	w.entry.TicketID = t.ID
	if err := tx.AddEntry(ctx, &w.entry); err != nil {
		return err
	}
	notice, inReplyTo := w.entry.Text, t.LastMessageID
	if msgID != "" {
		if err := tx.RememberMessageID(ctx, msgID, t.ID, true); err != nil {
			return err
		}
		notice, inReplyTo = SplitQuoted(notice).New, msgID
	}
	if w.reason != "" || t.Assignee == "" {
		return nil
	}
	return s.notifyAgents(ctx, tx, *t, NotifyReply, t.Assignee, inReplyTo, notice)
}

// openTicket opens a new ticket with the customer's first words, tells
// the agents who chose so and confirms it to the customer, unless the
// message is automatic or its sender was no valid address (badFrom).
// facts, when not nil, were read at the transaction's start.
func (s *Service) openTicket(ctx context.Context, tx Tx, m InboundMessage, w words, badFrom string, facts *ReceiveFacts) (ReceiveResult, error) {
	now := w.entry.CreatedAt
	t := Ticket{
		ID:            NewTicketID(),
		Subject:       cmp.Or(m.Subject, "(no subject)"),
		Customer:      m.From,
		CustomerName:  w.entry.AuthorName,
		Status:        StatusOpen,
		RootMessageID: m.MessageID,
		LastMessageID: m.MessageID,
		CreatedAt:     now,
		UpdatedAt:     now,
		Mailbox:       s.mailboxFor(m.Recipients),
	}
	if w.reason != "" {
		t.LastMessageID = ""
	}
	w.entry.TicketID = t.ID
	if err := createWithEntry(ctx, tx, t, &w.entry); err != nil {
		return ReceiveResult{}, err
	}
	res := ReceiveResult{TicketID: t.ID, Created: true, Automatic: w.reason}
	if err := tx.RememberMessageID(ctx, m.MessageID, t.ID, true); err != nil {
		return ReceiveResult{}, err
	}
	if badFrom != "" {
		if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: true,
			Text: fmt.Sprintf("Unanswerable: the sender \"%s\" is not one valid e-mail address, so no mail about this ticket goes out.", badFrom)}); err != nil {
			return ReceiveResult{}, err
		}
	}
	if w.reason != "" {
		return res, nil
	}
	ams, err := agentMails(ctx, tx, facts)
	if err != nil {
		return ReceiveResult{}, err
	}
	if err := s.notifyAgentMails(ctx, tx, t, NotifyNew, "", m.MessageID, m.Text, ams); err != nil {
		return ReceiveResult{}, err
	}
	res.Automatic, err = s.confirm(ctx, tx, t, now, facts)
	return res, err
}

// agentMails returns every agent's address: from facts when read.
func agentMails(ctx context.Context, tx Tx, facts *ReceiveFacts) ([]AgentMail, error) {
	if facts != nil {
		return facts.AgentMails, nil
	}
	return tx.AgentMails(ctx)
}

// createWithEntry creates ticket t with its first entry e, in one call
// when the store can (TicketOpener).
func createWithEntry(ctx context.Context, tx Tx, t Ticket, e *Entry) error {
	if o, ok := tx.(TicketOpener); ok {
		return o.OpenTicket(ctx, t, e)
	}
	if err := tx.CreateTicket(ctx, t); err != nil {
		return err
	}
	return tx.AddEntry(ctx, e)
}

// confirm queues the confirmation of a new ticket to its customer, capped
// per recipient and hour; when the cap holds it back, it says why. facts,
// when not nil and counted for the customer, hold the count of the hour.
func (s *Service) confirm(ctx context.Context, tx Tx, t Ticket, now time.Time, facts *ReceiveFacts) (string, error) {
	var n int
	if facts != nil && facts.To == t.Customer {
		n = facts.AutomaticMails
	} else {
		var err error
		if n, err = tx.CountAutomaticMails(ctx, t.Customer, now.Add(-time.Hour)); err != nil {
			return "", err
		}
	}
	if n >= s.cfg.AutoReplyLimit {
		return fmt.Sprintf("more than %d automatic mails to %s in the last hour", s.cfg.AutoReplyLimit, t.Customer), nil
	}
	return "", s.queue(ctx, tx, t, true, confirmationText(s, t))
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
