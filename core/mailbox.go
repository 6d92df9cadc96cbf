package core

import (
	"slices"
	"strings"
)

// Mailbox is one support address with a name of its own ("Sales",
// "Billing"): tickets that come in on it show the name, and their mail
// leaves from that address.
type Mailbox struct {
	Address string
	Name    string
}

// mailboxFor returns the configured mailbox address that one of the
// recipients is, or a plus-address of; "" when none is.
func (s *Service) mailboxFor(recipients []string) string {
	for _, r := range recipients {
		base, _ := splitPlus(strings.TrimSpace(r))
		for _, mb := range s.cfg.Mailboxes {
			if strings.EqualFold(base, mb.Address) {
				return mb.Address
			}
		}
	}
	return ""
}

// MailboxName is the name of the mailbox with that address; "" when the
// address is not one of the configured mailboxes.
func (s *Service) MailboxName(addr string) string {
	i := slices.IndexFunc(s.cfg.Mailboxes, func(mb Mailbox) bool { return strings.EqualFold(mb.Address, addr) })
	if i < 0 {
		return ""
	}
	return s.cfg.Mailboxes[i].Name
}

// sender returns the From of the ticket's mail and the support address its
// plus-addresses are made from: the ticket's mailbox when it has one that is
// still configured, else the defaults.
func (s *Service) sender(t Ticket) (from, base string) {
	if t.Mailbox != "" && s.MailboxName(t.Mailbox) != "" {
		return t.Mailbox, t.Mailbox
	}
	return s.cfg.FromAddress, s.cfg.SupportAddresses[0]
}
