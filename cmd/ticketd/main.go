// Command ticketd is the Trivial Tickets helpdesk daemon: the web interface
// for customers and agents, the Mail API, the SMTP and LMTP gateway, the
// IMAP poller and the relay dispatcher, on SQLite or PostgreSQL; and the
// commands to administer agents and to move a SQLite data directory into
// PostgreSQL. With no command it serves.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
