// Package core is the domain of Trivial Tickets: tickets, their entries,
// agents, sessions, the outbox, and every rule that connects them.
//
// It defines the Store interface that the store packages implement and the
// InboundMessage value that every door (web form, Mail API, SMTP gateway, IMAP
// poller) hands to Service.Receive. It performs no network I/O, knows no SQL
// and renders no HTML.
//
// Where the tests are: the rules of Service (Receive's order of duplicate,
// ticket, loop and commit; agents' changes; merging; the outbox; agents by
// mail) run against both real stores in the shared suite
// trivialtickets/store/storetest, files service*.go, agentmail.go and
// privacy.go, started by the store/sqlite and store/postgres tests. The
// rules that need no store (addresses, subject tags, loop signals, ids,
// quoted replies, the login throttle) are tested here, in rules_test.go,
// quote_test.go and throttle_test.go.
package core
