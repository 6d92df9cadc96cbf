// Package core is the domain of Trivial Tickets: tickets, their entries,
// agents, sessions, the outbox, and every rule that connects them.
//
// It defines the Store interface that the store packages implement and the
// InboundMessage value that every door (web form, Mail API, SMTP gateway, IMAP
// poller) hands to Service.Receive. It performs no network I/O, knows no SQL
// and renders no HTML.
package core
