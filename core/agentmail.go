package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Notify is a set of the notifications an agent gets by mail.
type Notify uint8

// The notifications an agent may choose.
const (
	NotifyNew      Notify = 1 << iota // a new ticket (unassigned)
	NotifyAssigned                    // a ticket was assigned to them by someone else
	NotifyReply                       // the customer answered a ticket of theirs
)

type notifyName struct {
	n    Notify
	name string
}

var notifyNames = []notifyName{{NotifyNew, "new"}, {NotifyAssigned, "assigned"}, {NotifyReply, "reply"}}

// ParseNotify reads a comma-separated list of notification names (new,
// assigned, reply); "" and "none" are the empty set.
func ParseNotify(s string) (Notify, error) {
	var n Notify
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part == "" || part == "none" {
			continue
		}
		i := slices.IndexFunc(notifyNames, func(x notifyName) bool { return x.name == part })
		if i < 0 {
			return 0, Invalid(fmt.Sprintf("unknown notification %q: use new, assigned and reply, separated by commas, or none", part))
		}
		n |= notifyNames[i].n
	}
	return n, nil
}

// String lists the set as ParseNotify reads it ("none" when empty).
func (n Notify) String() string {
	var names []string
	for _, x := range notifyNames {
		if n&x.n != 0 {
			names = append(names, x.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// AgentMail is an agent's e-mail address and the notifications they want
// there.
type AgentMail struct {
	Username string
	Email    string // lower case
	Notify   Notify
}

// SetAgentMail gives an agent an e-mail address for notifications and
// answers by mail, with the notifications they want; an empty email
// removes it.
func (s *Service) SetAgentMail(ctx context.Context, username, email string, notify Notify) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Agent(ctx, username); err != nil {
			return err
		}
		if strings.TrimSpace(email) == "" {
			return tx.DeleteAgentMail(ctx, username)
		}
		addr, err := ParseAddress(email)
		if err != nil {
			return err
		}
		if s.IsSupportRecipient(addr) || SameAddress(addr, s.cfg.FromAddress) {
			return Invalid(fmt.Sprintf("%s is one of the helpdesk's own addresses: give the agent's personal address", addr))
		}
		err = tx.PutAgentMail(ctx, AgentMail{Username: username, Email: strings.ToLower(addr), Notify: notify})
		if errors.Is(err, ErrDuplicate) {
			return Invalid(fmt.Sprintf("another agent has the address %s already", addr))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set e-mail of agent %s: %w", username, err)
	}
	return nil
}

// AgentMails returns every agent's address and notification choices.
func (s *Service) AgentMails(ctx context.Context) ([]AgentMail, error) {
	var ms []AgentMail
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		ms, err = tx.AgentMails(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("agents' e-mail addresses: %w", err)
	}
	return ms, nil
}

// AgentMail returns an agent's address and notification choices; the zero
// AgentMail with the username when the agent has no address.
func (s *Service) AgentMail(ctx context.Context, username string) (AgentMail, error) {
	var m AgentMail
	err := s.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Agent(ctx, username); err != nil {
			return err
		}
		var err error
		m, err = tx.AgentMail(ctx, username)
		if errors.Is(err, ErrNotFound) {
			m, err = AgentMail{Username: username}, nil
		}
		return err
	})
	if err != nil {
		return AgentMail{}, fmt.Errorf("e-mail of agent %s: %w", username, err)
	}
	return m, nil
}
