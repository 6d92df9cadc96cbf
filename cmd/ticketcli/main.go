// Command ticketcli plays the part of a mail service against the Mail API
// of a Trivial Tickets daemon: it submits customer messages (as JSON or as
// raw .eml files), fetches the mails the daemon wants sent and confirms them,
// and offers an interactive menu. Run "ticketcli --help" for the details.
package main

import (
	"context"
	"os"
)

func main() {
	// No signal handling: Ctrl-C ends the program at once, also while the
	// menu waits for input; a request cut off changes nothing on the server
	// that a retry could not repeat.
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
