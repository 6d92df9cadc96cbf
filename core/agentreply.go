package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
)

// replyKeyName names the key in the store that signs agents' reply
// addresses; every daemon on the database uses the same one.
const replyKeyName = "agent-reply-key"

// InternalMarker, as the first line of an agent's answer by mail, makes it
// an internal note instead of an answer to the customer.
const InternalMarker = "#internal"

// maxNoticeText caps the customer's text quoted in a notification.
const maxNoticeText = 16 << 10

var macEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// replyKey returns the key that signs agents' reply addresses, making it
// on first use.
func replyKey(ctx context.Context, tx Tx) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	return tx.Secret(ctx, replyKeyName, fresh)
}

// replyMAC signs the pair of ticket and agent: 80 bits of HMAC-SHA256 in
// lower-case base32 (16 characters), fit for a local part that mail
// systems may fold to lower case.
func replyMAC(key []byte, ticketID, username string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("agent-reply\x00" + ticketID + "\x00" + username))
	return strings.ToLower(macEncoding.EncodeToString(h.Sum(nil)[:10]))
}

// agentReplyAddress is the Reply-To of a notification to an agent:
// support+<ticket>.<agent>.<mac>@domain. Only that agent's answers to it
// become answers on that ticket.
func agentReplyAddress(key []byte, base, ticketID, username string) string {
	return PlusAddress(base, ticketID+"."+username+"."+replyMAC(key, ticketID, username))
}

// parseAgentDetail splits the detail of a signed reply address into
// ticket id, agent and signature.
func parseAgentDetail(detail string) (ticketID, username, mac string, ok bool) {
	detail = strings.ToLower(detail)
	first, last := strings.IndexByte(detail, '.'), strings.LastIndexByte(detail, '.')
	if first < 0 || last <= first+1 {
		return "", "", "", false
	}
	ticketID, username, mac = detail[:first], detail[first+1:last], detail[last+1:]
	if !ValidTicketID(ticketID) || !usernameRe.MatchString(username) || len(mac) != 16 {
		return "", "", "", false
	}
	return ticketID, username, mac, true
}

// agentAnswer finds the agent whose answer m is: it must be sent to a
// reply address signed for that agent and a ticket, and come from that
// agent's address. A forged From without the signed address, or a signed
// address of another agent, is no agent's answer (ok false): the message
// then goes the way of any other mail.
func (s *Service) agentAnswer(ctx context.Context, tx Tx, m InboundMessage) (ticketID string, agent AgentMail, ok bool, err error) {
	var key []byte
	for _, r := range m.Recipients {
		if !s.IsSupportRecipient(r) {
			continue
		}
		_, detail := splitPlus(strings.TrimSpace(r))
		id, user, mac, ok := parseAgentDetail(detail)
		if !ok {
			continue
		}
		if key == nil {
			if key, err = replyKey(ctx, tx); err != nil {
				return "", AgentMail{}, false, err
			}
		}
		if !hmac.Equal([]byte(mac), []byte(replyMAC(key, id, user))) {
			continue
		}
		am, err := tx.AgentMail(ctx, user)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return "", AgentMail{}, false, err
		}
		if m.From == "" || !SameAddress(m.From, am.Email) {
			continue
		}
		// A ticket erased since leaves the mail to the other rules.
		if _, err := s.resolve(ctx, tx, id); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return "", AgentMail{}, false, err
		}
		return id, am, true, nil
	}
	return "", AgentMail{}, false, nil
}

// recordAgentAnswer records an agent's answer by mail on the ticket and,
// unless it is internal, mails its new part (without the quoted
// notification) to the customer as the agent's personal mail. It is
// internal when its first line is InternalMarker, when it is automatic
// (an out-of-office of the agent's mailbox), when nothing new is in it, or
// when the ticket is assigned to another agent (as on the ticket page,
// only the assignee answers an assigned ticket).
func (s *Service) recordAgentAnswer(ctx context.Context, tx Tx, m InboundMessage, ticketID string, am AgentMail, text, reason string, now time.Time) (ReceiveResult, error) {
	t, err := s.resolve(ctx, tx, ticketID)
	if err != nil {
		return ReceiveResult{}, err
	}
	me, err := tx.Agent(ctx, am.Username)
	if err != nil {
		return ReceiveResult{}, err
	}
	internal := reason != ""
	if first, rest, _ := strings.Cut(strings.TrimLeft(text, " \t\r\n"), "\n"); strings.EqualFold(strings.TrimSpace(first), InternalMarker) {
		internal, text = true, rest
	}
	fresh := SplitQuoted(text).New
	var note string
	switch {
	case internal:
	case strings.TrimSpace(fresh) == "":
		internal, note = true, "The answer by mail was empty; nothing was sent to the customer."
	case t.Assignee != "" && t.Assignee != me.Username:
		internal, note = true, fmt.Sprintf("Not sent to the customer: the ticket is assigned to %s.", t.Assignee)
	}
	entry := Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorAgent, Author: me.Username, AuthorName: me.DisplayName(),
		Internal: internal, Text: text, Automatic: reason != "", MessageID: m.MessageID, Attachments: m.Attachments}
	if err := tx.AddEntry(ctx, &entry); err != nil {
		return ReceiveResult{}, err
	}
	if err := tx.RememberMessageID(ctx, m.MessageID, t.ID, true); err != nil {
		return ReceiveResult{}, err
	}
	if note != "" {
		if err := tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: true, Text: note}); err != nil {
			return ReceiveResult{}, err
		}
	}
	t.UpdatedAt = now
	if err := tx.UpdateTicket(ctx, t); err != nil {
		return ReceiveResult{}, err
	}
	res := ReceiveResult{TicketID: t.ID, Automatic: reason}
	if internal {
		return res, nil
	}
	return res, s.queueMail(ctx, tx, t, false, true, changeText(s, t, me, fresh, t.Status, nil))
}

// notifyAgents queues the notification what about ticket t to every agent
// who chose it (only to the agent named only, when set): threaded to the
// ticket's conversation, with the ticket link and a Reply-To signed for
// that agent and ticket. Notifications never go to the ticket's customer.
// inReplyTo is the Message-ID of the mail the notification is about.
func (s *Service) notifyAgents(ctx context.Context, tx Tx, t Ticket, what Notify, only, inReplyTo, text string) error {
	ams, err := tx.AgentMails(ctx)
	if err != nil {
		return err
	}
	return s.notifyAgentMails(ctx, tx, t, what, only, inReplyTo, text, ams)
}

// notifyAgentMails is notifyAgents with every agent's address read
// already (ams, as Tx.AgentMails returns them).
func (s *Service) notifyAgentMails(ctx context.Context, tx Tx, t Ticket, what Notify, only, inReplyTo, text string, ams []AgentMail) error {
	var key []byte
	for _, am := range ams {
		if am.Notify&what == 0 || (only != "" && am.Username != only) || SameAddress(am.Email, t.Customer) || !s.mailable(am.Email) {
			continue
		}
		a, err := tx.Agent(ctx, am.Username)
		if err != nil {
			return err
		}
		if what == NotifyNew && a.Vacation {
			continue
		}
		if key == nil {
			if key, err = replyKey(ctx, tx); err != nil {
				return err
			}
		}
		from, base := s.sender(t)
		m := OutMail{
			TicketID:  t.ID,
			From:      from,
			To:        am.Email,
			ReplyTo:   agentReplyAddress(key, base, t.ID, am.Username),
			Subject:   Tag(t.ID) + " " + StripTag(t.Subject),
			Body:      noticeText(s, t, what, am.Email, text),
			MessageID: s.NewMessageID(),
			InReplyTo: inReplyTo,
			State:     MailPending,
			CreatedAt: s.now(),
		}
		if m.InReplyTo == "" {
			m.InReplyTo = t.RootMessageID
		}
		for _, id := range []string{t.RootMessageID, inReplyTo} {
			if id != "" && (len(m.References) == 0 || m.References[len(m.References)-1] != id) {
				m.References = append(m.References, id)
			}
		}
		if err := s.addToOutbox(ctx, tx, &m); err != nil {
			return fmt.Errorf("queue notification to %s for ticket %s: %w", am.Username, t.ID, err)
		}
		if err := tx.RememberMessageID(ctx, m.MessageID, t.ID, false); err != nil {
			return fmt.Errorf("remember message id of notification for ticket %s: %w", t.ID, err)
		}
	}
	return nil
}

// noticeText is the body of a notification to an agent.
func noticeText(s *Service, t Ticket, what Notify, agentEmail, text string) string {
	var b strings.Builder
	customer := t.Customer
	if t.CustomerName != "" {
		customer = t.CustomerName + " <" + t.Customer + ">"
	}
	switch what {
	case NotifyNew:
		fmt.Fprintf(&b, "New ticket from %s: %q\n\n", customer, t.Subject)
	case NotifyAssigned:
		fmt.Fprintf(&b, "The ticket %q of %s is now assigned to you.\n\n", t.Subject, customer)
	case NotifyReply:
		fmt.Fprintf(&b, "%s answered on the ticket %q:\n\n", customer, t.Subject)
	}
	if text = strings.TrimSpace(text); text != "" {
		if len(text) > maxNoticeText {
			text = strings.ToValidUTF8(text[:maxNoticeText], "") + "\n[… cut]"
		}
		b.WriteString(text)
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "Ticket: %s\n\n", s.TicketURL(t.ID))
	fmt.Fprintf(&b, "Answer the customer by replying to this mail from %s; quoted text\n", agentEmail)
	fmt.Fprintf(&b, "below your answer is left out. Start with a line %q to add an\n", InternalMarker)
	b.WriteString("internal note instead.\n")
	b.WriteString(signature)
	return b.String()
}
