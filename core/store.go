package core

import (
	"context"
	"time"
)

// Store is the persistence that core needs. Implementations live in the store
// packages. Update runs fn in one read-write transaction and commits it when
// fn returns nil; View runs fn in a read-only transaction. A Tx must not be
// used after fn returns. A store may run fn more than once (PostgreSQL
// retries serialization failures), so fn must not have effects outside the
// transaction other than setting its results.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// GroupUpdater is a Store that can run the functions of concurrent
// UpdateGrouped calls one after another in one transaction and commit
// them together: one commit, and fewer statements and locks per function,
// where the store pays for each (PostgreSQL). Each function sees the
// writes of those that ran before it, as if they had committed. When one
// of them fails, the transaction is rolled back and each runs again alone,
// as by Update, and returns its own result; so fn must be safe to run
// again, like any function given to Update. Service.Receive uses it when
// the store has it.
type GroupUpdater interface {
	UpdateGrouped(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction. Every method returns an error wrapping ErrNotFound
// when the thing asked for does not exist, and ErrDuplicate when a unique
// value is taken.
type Tx interface {
	CreateTicket(ctx context.Context, t Ticket) error
	Ticket(ctx context.Context, id string) (Ticket, error)
	// UpdateTicket writes Status, Assignee, MergedInto, LastMessageID and
	// UpdatedAt of an existing ticket.
	UpdateTicket(ctx context.Context, t Ticket) error
	// ListTickets returns at most q.Limit tickets matching q, skipping
	// q.Offset, in q.Sort's order: SortCreated (CreatedAt, then ID,
	// descending) or SortActivity (ActivityAt, then ID, descending; also
	// for ""). With q.After set, the order is SortCreated and the list
	// starts after the cursor.
	ListTickets(ctx context.Context, q TicketQuery) ([]Ticket, error)
	// CountTickets counts the tickets matching q (ignoring After, Offset,
	// Sort and Limit).
	CountTickets(ctx context.Context, q TicketQuery) (int, error)
	// MarkSeen sets the ticket's SeenAt.
	MarkSeen(ctx context.Context, id string, at time.Time) error

	// AddEntry stores e and its attachments and sets e.ID and the
	// attachments' IDs.
	AddEntry(ctx context.Context, e *Entry) error
	// Entries returns the ticket's entries ordered by CreatedAt, then ID,
	// with attachment metadata (no Data). Internal entries only when
	// withInternal is true.
	Entries(ctx context.Context, ticketID string, withInternal bool) ([]Entry, error)
	// Attachment returns one attachment with its Data and the entry it
	// belongs to (without attachments).
	Attachment(ctx context.Context, id int64) (Attachment, Entry, error)

	// RememberMessageID records that msgID (without angle brackets) belongs
	// to ticketID; inbound is true for mail we received and false for mail we
	// sent. A msgID already recorded gives ErrDuplicate.
	RememberMessageID(ctx context.Context, msgID, ticketID string, inbound bool) error
	// MessageIDTicket returns the ticket a recorded msgID belongs to.
	MessageIDTicket(ctx context.Context, msgID string) (ticketID string, inbound bool, err error)

	// QueueMail adds m to the outbox as pending and sets m.ID.
	QueueMail(ctx context.Context, m *OutMail) error
	// PendingMails returns at most limit pending mails with an ID greater
	// than afterID, in ID order, with what a mail service needs: a mail
	// queued with a Listing comes with ID, To, State and that Listing
	// only; any other with every field but the delivery bookkeeping
	// (SentAt, Attempts, NextTry and LastError zero).
	PendingMails(ctx context.Context, afterID int64, limit int) ([]OutMail, error)
	// MarkMailSent marks a pending mail sent; it reports false when no
	// pending mail has that id.
	MarkMailSent(ctx context.Context, id int64, at time.Time) (bool, error)
	// CountAutomaticMails counts automatic mails queued since the given
	// time to the address or any variant of it that NormalizeAddress
	// makes the same (case, +tag).
	CountAutomaticMails(ctx context.Context, to string, since time.Time) (int, error)
	// ClaimMails leases at most limit pending mails that are due (NextTry
	// at or before now) and not leased beyond now to anyone but owner, to
	// owner until leaseUntil, and returns them in ID order. A leased mail
	// is not claimed by another owner before its lease ends, so with
	// several daemons each mail has one dispatcher at a time, and a
	// dispatcher that died gives its mails up when the lease runs out (or
	// at once to its successor under the same owner name).
	ClaimMails(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]OutMail, error)
	// RetryMail records a failed attempt of a pending mail: Attempts plus
	// one, LastError, the next try, and the lease released.
	RetryMail(ctx context.Context, id int64, nextTry time.Time, lastError string) error
	// ReleaseMail gives up owner's lease of a pending mail without an
	// attempt, so that any dispatcher may claim it at once.
	ReleaseMail(ctx context.Context, id int64, owner string) error
	// MarkMailFailed moves a pending or sent mail to state (MailFailed or
	// MailBounced) with the reason; it reports false when no pending or
	// sent mail has that id.
	MarkMailFailed(ctx context.Context, id int64, state MailState, reason string, at time.Time) (bool, error)
	// MailByMessageID returns the outbox mail with that Message-ID.
	MailByMessageID(ctx context.Context, msgID string) (OutMail, error)
	// CountMails counts the outbox mails in a state.
	CountMails(ctx context.Context, state MailState) (int, error)

	// LockLoginThrottle returns the record of key, first creating an
	// empty one (Last = now) when there is none, and locks it until the
	// transaction ends: a read-check-write of it in one Update is atomic,
	// also with several daemons on one database.
	LockLoginThrottle(ctx context.Context, key string, now time.Time) (LoginThrottle, error)
	// PutLoginThrottle stores the record of key, replacing any.
	PutLoginThrottle(ctx context.Context, key string, e LoginThrottle) error
	// DeleteLoginThrottle removes the record of key, if any.
	DeleteLoginThrottle(ctx context.Context, key string) error
	// DeleteIdleLoginThrottles removes the records whose Last is before
	// idleSince and whose lockout ended by now.
	DeleteIdleLoginThrottles(ctx context.Context, idleSince, now time.Time) error

	// AcquireLease takes or renews the named lease for owner until the
	// given time; it reports false while another owner holds it beyond
	// now. Leases make one daemon of several do a job, such as polling
	// one IMAP account.
	AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
	// ReleaseLease gives up a lease held by owner; releasing a lease that
	// owner does not hold does nothing.
	ReleaseLease(ctx context.Context, name, owner string) error

	CreateAgent(ctx context.Context, a Agent) error
	Agent(ctx context.Context, username string) (Agent, error)
	// Agents returns every agent ordered by username.
	Agents(ctx context.Context) ([]Agent, error)
	// UpdateAgent writes Name, PasswordHash, Vacation and TimeZone.
	UpdateAgent(ctx context.Context, a Agent) error
	// DeleteAgent removes an agent and clears the assignee of every ticket
	// that still names it (merged tickets, which lists never return).
	DeleteAgent(ctx context.Context, username string) error

	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, tokenHash string) (Session, error)
	// DeleteSession gives ErrNotFound when no session has that hash.
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteSessions removes every session of an agent.
	DeleteSessions(ctx context.Context, username string) error
	// DeleteExpiredSessions removes sessions whose ExpiresAt is at or
	// before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) error

	PrivacyTx
	CreateTrustedDevice(ctx context.Context, d TrustedDevice) error
	// TrustedDevice returns the device with that token hash.
	TrustedDevice(ctx context.Context, tokenHash string) (TrustedDevice, error)
	// DeleteTrustedDevices removes every trusted device of an agent.
	DeleteTrustedDevices(ctx context.Context, username string) error
	// DeleteExpiredTrustedDevices removes devices whose ExpiresAt is at or
	// before now.
	DeleteExpiredTrustedDevices(ctx context.Context, now time.Time) error
	// AgentMail returns an agent's address and notification choices;
	// ErrNotFound when the agent has none.
	AgentMail(ctx context.Context, username string) (AgentMail, error)
	// AgentMails returns every agent's address, ordered by username.
	AgentMails(ctx context.Context) ([]AgentMail, error)
	// PutAgentMail sets an agent's address and choices, replacing any;
	// ErrDuplicate when another agent has the address, ErrNotFound when
	// there is no such agent.
	PutAgentMail(ctx context.Context, m AgentMail) error
	// DeleteAgentMail removes an agent's address, if any.
	DeleteAgentMail(ctx context.Context, username string) error
	// Secret returns the value stored under name; when there is none it
	// stores fresh and returns it, so that every daemon on the database
	// uses the value that was stored first.
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)
	// TicketVersion returns the ticket's version, a number the database
	// changes in the same transaction as any change of the ticket's row,
	// its entries or their attachments (everything its page shows).
	TicketVersion(ctx context.Context, id string) (int64, error)

	InboundQueueTx
}

// TicketVersionReader is a Store that reads a ticket's version (see
// Tx.TicketVersion) in one statement, without the cost of a transaction
// around it. Service.TicketVersion uses it when the store has it.
type TicketVersionReader interface {
	TicketVersion(ctx context.Context, id string) (int64, error)
}

// TicketQuery selects tickets for lists. Merged tickets are never listed.
// CountTickets ignores After and Limit.
type TicketQuery struct {
	Status     Status // empty: any status
	Assignee   string // only tickets assigned to this agent
	Unassigned bool   // only tickets without an assignee
	Customer   string // only tickets of this customer address (exact, lower-case)
	Exclude    string // leave out this ticket id
	NotClosed  bool   // only tickets that are Open or In Progress
	// Search keeps the tickets that contain every word of it (see
	// SearchWords) in their id, customer address or name, subject or the
	// text of a customer's or agent's entry. Stores get it trimmed and
	// non-empty only when there is something to search.
	Search string
	// Viewer is the username of the agent asking; Service.ListTickets
	// refuses a Search without one (customers never search).
	Viewer string
	Sort   Sort
	After  *Cursor
	Offset int // tickets to skip; Service.ListTickets caps it at MaxOffset
	Limit  int
	// CountMax, when above 0, lets CountTickets stop counting there: a
	// list's badge needs no exact count of a million tickets.
	CountMax int
}

// Cursor marks a position in a ticket list for keyset paging.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// PrivacyTx is the part of Tx for retention and for a customer's data
// (export and erasure). Deletes are plain row deletes, so that whatever
// follows the rows (indexes, triggers) follows them.
type PrivacyTx interface {
	// ExpiredTickets returns at most limit ids of tickets closed and
	// unchanged since before closedBefore (UpdatedAt), oldest first. A
	// ticket merged into a ticket that is not expired itself is left out:
	// mail that answers it still finds its target through it.
	ExpiredTickets(ctx context.Context, closedBefore time.Time, limit int) ([]string, error)
	// DeleteTickets deletes the tickets with their entries, attachments,
	// Message-ID records and outbox mails, and counts what it deleted.
	// Unknown ids are skipped.
	DeleteTickets(ctx context.Context, ids []string) (Deleted, error)
	// CustomerTickets returns every ticket (merged ones too) whose
	// customer address equals addr without regard to case, oldest first.
	CustomerTickets(ctx context.Context, addr string) ([]Ticket, error)
	// AuthorEntries returns the customer entries written from addr
	// (compared without regard to case) on any ticket, internal ones too,
	// with attachment metadata, ordered by ticket, CreatedAt and ID.
	AuthorEntries(ctx context.Context, addr string) ([]Entry, error)
	// DeleteEntries deletes the entries with their attachments and the
	// Message-ID records of the mails they came from.
	DeleteEntries(ctx context.Context, ids []int64) (Deleted, error)
	// MailsTo returns the outbox mails to addr (without regard to case),
	// in ID order.
	MailsTo(ctx context.Context, addr string) ([]OutMail, error)
	// DeleteMailsTo deletes the outbox mails to addr (without regard to
	// case) and returns how many.
	DeleteMailsTo(ctx context.Context, addr string) (int, error)
	// DeleteLoginThrottlesNaming deletes the login and rate-limit records
	// whose key contains addr (without regard to case) and returns how
	// many.
	DeleteLoginThrottlesNaming(ctx context.Context, addr string) (int, error)
	// InboundFrom returns the inbound queue's rows whose Sender is sender,
	// leased or not, in ID order, with Size and without Message (read each
	// with InboundMessage).
	InboundFrom(ctx context.Context, sender string) ([]QueuedInbound, error)
}

// InboundQueueTx is the part of Tx for the durable inbound queue: mail
// that a door accepted (its 250 sent after the row's commit) and that
// Service.ProcessInbound turns into tickets later. See QueuedInbound.
type InboundQueueTx interface {
	// EnqueueInbound adds q (Sender, Door, Message, QueuedAt), due at
	// once and leased to nobody, and sets q.ID; ids grow in the order of
	// the commits.
	EnqueueInbound(ctx context.Context, q *QueuedInbound) error
	// ClaimInbound leases to owner until leaseUntil at most limit rows
	// that are due (NextTry at or before now), not leased beyond now to
	// another owner, and whose sender has no earlier row that is not due
	// or is leased to another owner (a sender's mail is processed in id
	// order, also across daemons); it returns them in id order, with
	// Size and without Message. With several daemons each row has one
	// claimer at a time.
	ClaimInbound(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]QueuedInbound, error)
	// InboundMessage returns the Message of the row id.
	InboundMessage(ctx context.Context, id int64) ([]byte, error)
	// DeleteInbound deletes the row id if owner holds its lease; it
	// reports false when it does not (the row is gone or another daemon
	// took it over after the lease ran out).
	DeleteInbound(ctx context.Context, id int64, owner string) (bool, error)
	// RetryInbound records a failed attempt of owner's row: Attempts plus
	// one, LastError, the next try, and the lease released.
	RetryInbound(ctx context.Context, id int64, owner string, nextTry time.Time, lastError string) error
	// ReleaseInbound gives up owner's lease of a row without an attempt;
	// the row is due again at notBefore.
	ReleaseInbound(ctx context.Context, id int64, owner string, notBefore time.Time) error
	// DeleteInboundFrom deletes every queued row whose Sender is sender,
	// leased or not, and returns how many it deleted (for erasure: a
	// worker holding such a lease then fails to delete it and rolls back).
	DeleteInboundFrom(ctx context.Context, sender string) (int, error)
	// InboundQueueStats counts the queued rows and reads the oldest one's
	// QueuedAt and how many have failed at least once.
	InboundQueueStats(ctx context.Context) (InboundQueueStats, error)
}

// TicketOpener is a Tx that opens a ticket with its first entry in one
// call: the same as CreateTicket(t) and then AddEntry(e) (e.TicketID is
// t.ID; e.ID and its attachments' IDs are set), with the ticket's row
// written once instead of once more for the entry. Service.Receive uses
// it when the store's Tx has it.
type TicketOpener interface {
	OpenTicket(ctx context.Context, t Ticket, e *Entry) error
}

// ReceiveReader is a Tx that reads in one call what Service.Receive needs
// to know before it writes (see ReceiveFacts): one statement instead of
// three, and on PostgreSQL one round trip. Service.Receive uses it when
// the store's Tx has it.
type ReceiveReader interface {
	// ReceiveFacts reads the ticket that msgID belongs to, every agent's
	// address (as AgentMails) and the automatic mails queued to the
	// address to since the given time (as CountAutomaticMails).
	ReceiveFacts(ctx context.Context, msgID, to string, since time.Time) (ReceiveFacts, error)
}

// ReceiveFacts is what ReceiveReader reads.
type ReceiveFacts struct {
	// Ticket is the ticket that the Message-ID belongs to; "" when it is
	// not recorded.
	Ticket string
	// AgentMails are every agent's address, ordered by username.
	AgentMails []AgentMail
	// To and AutomaticMails: the automatic mails queued to To since the
	// time asked for.
	To             string
	AutomaticMails int
}
