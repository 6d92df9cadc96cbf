package core

import (
	"fmt"
	"time"
)

// Status is the processing state of a ticket.
type Status string

// The three statuses of a ticket. The string values are stored and appear in
// forms and URLs; they never change.
const (
	StatusOpen       Status = "open"        // not assigned yet, or waiting again
	StatusInProgress Status = "in_progress" // assigned and being worked on
	StatusClosed     Status = "closed"      // done
)

// Statuses lists every status in display order.
var Statuses = []Status{StatusOpen, StatusInProgress, StatusClosed}

// ParseStatus returns the status named s ("open", "in_progress", "closed").
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Invalid(fmt.Sprintf("unknown status %q: use open, in_progress or closed", s))
}

// Label is the human name of the status.
func (s Status) Label() string {
	switch s {
	case StatusOpen:
		return "Open"
	case StatusInProgress:
		return "In Progress"
	case StatusClosed:
		return "Closed"
	}
	return string(s)
}

// Ticket is one customer request.
type Ticket struct {
	ID           string
	Subject      string
	Customer     string // the customer's e-mail address, lower-case domain
	CustomerName string // display name, if the customer gave one
	Status       Status
	Assignee     string // agent username; empty while unassigned
	MergedInto   string // id of the ticket this one was merged into; empty if not merged
	// RootMessageID is the Message-ID that started the thread (the customer's
	// first mail, or our confirmation for tickets opened on the web);
	// LastMessageID is the customer's latest one. Outgoing mail refers to
	// both so that mail clients thread it (RFC 5322 §3.6.4).
	RootMessageID string
	LastMessageID string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Mailbox is the support address the ticket came in on when it is one
	// of Config.Mailboxes: the ticket's mail leaves from it. Empty: the
	// default From and Reply-To.
	Mailbox string
	// ActivityAt is the time of the latest entry of any kind (CreatedAt
	// before the first). CustomerAt is the latest entry by the customer
	// and RepliedAt the latest external entry by an agent (zero: none).
	// The store keeps all three in the transaction that adds the entry.
	ActivityAt time.Time
	CustomerAt time.Time
	RepliedAt  time.Time
	// SeenAt is when the assignee first opened the ticket after the
	// customer's latest entry (zero: never).
	SeenAt time.Time
}

// WaitingOnUs reports whether the ticket waits for an agent: it is not
// closed and the customer wrote after our last external reply, or nobody
// has answered yet. Otherwise it waits for the customer.
func (t Ticket) WaitingOnUs() bool {
	if t.Status == StatusClosed {
		return false
	}
	return t.RepliedAt.IsZero() || t.CustomerAt.After(t.RepliedAt)
}

// UnreadFor reports whether the ticket is assigned to username and the
// customer wrote since the assignee last opened it.
func (t Ticket) UnreadFor(username string) bool {
	return username != "" && t.Assignee == username && t.CustomerAt.After(t.SeenAt)
}

// Merged reports whether the ticket was merged into another one.
func (t Ticket) Merged() bool { return t.MergedInto != "" }

// AuthorKind says who wrote an entry.
type AuthorKind string

// Kinds of entry authors.
const (
	AuthorCustomer AuthorKind = "customer" // the ticket's customer (or another mail sender)
	AuthorAgent    AuthorKind = "agent"    // a logged-in agent
	AuthorSystem   AuthorKind = "system"   // the daemon (status changes, merges, bounces)
)

// Entry is one message, comment or event on a ticket.
type Entry struct {
	ID         int64
	TicketID   string
	CreatedAt  time.Time
	AuthorKind AuthorKind
	Author     string // e-mail address of a customer, username of an agent, empty for system
	AuthorName string // display name, if known
	Internal   bool   // visible to agents only
	Text       string
	// Automatic is set on inbound mail recognised as auto-generated (loop rules).
	Automatic bool
	// MessageID is the Message-ID of the mail this entry came from, if any.
	MessageID string
	// FromTicket is the id of the ticket this entry was copied from by a merge.
	FromTicket  string
	Attachments []Attachment
}

// Attachment is a file that came with an inbound message.
type Attachment struct {
	ID          int64
	Filename    string
	ContentType string
	Size        int64
	ContentID   string // for inline parts referenced with cid:
	Data        []byte // filled when storing and when downloading; empty in listings
}

// Agent is a registered support employee.
type Agent struct {
	Username     string
	Name         string // display name; the username when empty
	PasswordHash []byte
	Vacation     bool
	// TimeZone is the IANA name of the zone the agent reads times in;
	// empty for the daemon's default.
	TimeZone  string
	CreatedAt time.Time
}

// DisplayName is the agent's name, or the username when no name is set.
func (a Agent) DisplayName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Username
}

// Session is a logged-in agent's server-side session. Only a hash of the
// token is stored.
type Session struct {
	TokenHash string
	Username  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TrustedDevice is a browser in which an agent logged in successfully; its
// token, kept in a long-lived cookie, lets that browser log in with a
// failure budget of its own (core's login throttle). Only the token's hash
// is stored.
type TrustedDevice struct {
	TokenHash string
	Username  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// MailState is the delivery state of an outbox mail.
type MailState string

// Outbox mail states.
const (
	MailPending MailState = "pending" // waiting to be fetched or delivered
	MailSent    MailState = "sent"    // verified through the Mail API or accepted by the relay
	MailFailed  MailState = "failed"  // permanently rejected by the relay, or retried too long
	MailBounced MailState = "bounced" // accepted, then returned by a delivery status notification
)

// OutMail is one mail in the outbox.
type OutMail struct {
	ID         int64
	TicketID   string
	From       string
	To         string
	ReplyTo    string
	Subject    string
	Body       string
	MessageID  string   // without angle brackets
	InReplyTo  string   // without angle brackets
	References []string // without angle brackets
	// Automatic marks mail the daemon sent on its own (confirmations), which
	// the per-recipient hourly cap counts.
	Automatic bool
	// Personal marks an answer an agent wrote: it goes out without
	// Auto-Submitted, which RFC 3834 §5 keeps for automatic mail.
	Personal  bool
	State     MailState
	CreatedAt time.Time
	SentAt    time.Time
	Attempts  int
	NextTry   time.Time
	LastError string
	// Listing is the mail as the Mail API lists it, made once when it is
	// queued by Config.ListMail (empty when there was none, or the mail
	// was queued before the store kept it). Everything it holds is fixed
	// when the mail is queued, so it is never made again; see
	// Tx.PendingMails for what comes with it.
	Listing string
}
