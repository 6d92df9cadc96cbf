package core

import (
	"context"
	"fmt"
	"strings"
)

// queue writes one mail to the ticket's customer into the outbox, in the
// caller's transaction, threaded to the ticket's conversation.
func (s *Service) queue(ctx context.Context, tx Tx, t Ticket, automatic bool, body string) error {
	return s.queueMail(ctx, tx, t, automatic, false, body)
}

// queueMail is queue with personal set for an answer an agent wrote.
func (s *Service) queueMail(ctx context.Context, tx Tx, t Ticket, automatic, personal bool, body string) error {
	if !s.mailable(t.Customer) {
		return nil
	}
	from, base := s.sender(t)
	m := OutMail{
		Personal:  personal,
		TicketID:  t.ID,
		From:      from,
		To:        t.Customer,
		ReplyTo:   PlusAddress(base, t.ID),
		Subject:   Tag(t.ID) + " " + StripTag(t.Subject),
		Body:      body,
		MessageID: s.NewMessageID(),
		Automatic: automatic,
		State:     MailPending,
		CreatedAt: s.now(),
	}
	m.InReplyTo = t.LastMessageID
	if m.InReplyTo == "" {
		m.InReplyTo = t.RootMessageID
	}
	for _, id := range []string{t.RootMessageID, t.LastMessageID} {
		if id != "" && !strings.EqualFold(id, m.MessageID) && (len(m.References) == 0 || m.References[len(m.References)-1] != id) {
			m.References = append(m.References, id)
		}
	}
	if err := s.addToOutbox(ctx, tx, &m); err != nil {
		return fmt.Errorf("queue mail for ticket %s: %w", t.ID, err)
	}
	if err := tx.RememberMessageID(ctx, m.MessageID, t.ID, false); err != nil {
		return fmt.Errorf("remember message id of mail for ticket %s: %w", t.ID, err)
	}
	return nil
}

// mailable reports whether mail may be sent to addr at all: never to an
// empty or null address, to anything but one valid address, a mailer
// daemon, or ourselves.
func (s *Service) mailable(addr string) bool {
	if !SingleAddress(addr) {
		return false
	}
	m := InboundMessage{From: addr}
	return AutomaticReason(m, s.ownAddresses()) == ""
}

const signature = "\n-- \nTrivial Tickets helpdesk\n"

func confirmationText(s *Service, t Ticket) string {
	return fmt.Sprintf(`Hello,

we have received your request %q and opened a ticket for it.

Follow the ticket and add comments here:
%s

To add to the ticket by e-mail, simply answer this mail, or keep
%s in the subject.
%s`, t.Subject, s.TicketURL(t.ID), Tag(t.ID), signature)
}

func assignedText(s *Service, t Ticket, agent Agent) string {
	return fmt.Sprintf(`Hello,

your request %q is now handled by %s.

Follow the ticket here:
%s
%s`, t.Subject, agent.DisplayName(), s.TicketURL(t.ID), signature)
}

func releasedText(s *Service, t Ticket) string {
	return fmt.Sprintf(`Hello,

your request %q is waiting for an agent again. We will get back to you.

Follow the ticket here:
%s
%s`, t.Subject, s.TicketURL(t.ID), signature)
}

// changeText describes what an agent changed and wrote, for the customer.
func changeText(s *Service, t Ticket, agent Agent, comment string, oldStatus Status, merged *Ticket) string {
	var b strings.Builder
	b.WriteString("Hello,\n\n")
	if merged != nil {
		fmt.Fprintf(&b, "your request %q was merged into your request %q; it goes on there:\n%s\n\n",
			t.Subject, merged.Subject, s.TicketURL(merged.ID))
	} else if t.Status != oldStatus {
		fmt.Fprintf(&b, "the status of your request %q is now: %s.\n\n", t.Subject, t.Status.Label())
	} else {
		fmt.Fprintf(&b, "there is news on your request %q.\n\n", t.Subject)
	}
	if comment != "" {
		fmt.Fprintf(&b, "%s wrote:\n\n%s\n\n", agent.DisplayName(), comment)
	}
	fmt.Fprintf(&b, "Follow the ticket and answer here:\n%s\n", s.TicketURL(t.ID))
	b.WriteString("\nOr simply answer this mail.\n")
	b.WriteString(signature)
	return b.String()
}
