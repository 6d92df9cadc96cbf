package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"trivialtickets/webui/mailapi/wire"
)

// submitCommand runs "ticketcli submit".
func (a *app) submitCommand(ctx context.Context, args []string) error {
	flags := newFlagSet("submit")
	a.opts.register(flags)
	var from, subject, message, ticket, eml string
	flags.StringVar(&from, "from", "", "the customer's address")
	flags.StringVar(&subject, "subject", "", "the subject")
	flags.StringVar(&message, "message", "", `the text, "-" for stdin`)
	flags.StringVar(&ticket, "ticket", "", "ticket id to answer")
	flags.StringVar(&eml, "eml", "", `raw message file, "-" for stdin`)
	rest, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("submit: unexpected argument %q", rest[0])
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["eml"] {
		if set["from"] || set["subject"] || set["message"] || set["ticket"] {
			return usagef("submit: --eml sends a whole message; leave out --from, --subject, --message and --ticket")
		}
		return a.connectThen(func() error { return a.submitRaw(ctx, eml) })
	}
	var missing []string
	for _, name := range []string{"from", "subject", "message"} {
		if !set[name] {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) > 0 {
		return usagef("submit needs --from, --subject and --message (or --eml FILE); missing %s", strings.Join(missing, ", "))
	}
	if ticket != "" || set["ticket"] {
		if subject, err = withTag(subject, ticket); err != nil {
			return usagef("submit: %s", err)
		}
	}
	if message == "-" {
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return fmt.Errorf("read message from standard input: %w", err)
		}
		message = string(b)
	}
	return a.connectThen(func() error {
		return a.submit(ctx, wire.ReceiveRequest{From: from, Subject: subject, Message: message})
	})
}

// submit sends one JSON message and prints what became of it.
func (a *app) submit(ctx context.Context, req wire.ReceiveRequest) error {
	resp, err := a.api.Receive(ctx, req)
	if err != nil {
		return err
	}
	a.printReceived(resp)
	return nil
}

// submitRaw sends the raw message in file ("-": stdin).
func (a *app) submitRaw(ctx context.Context, file string) error {
	var r io.Reader = a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("open message: %w", err)
		}
		defer f.Close()
		r = f
	}
	resp, err := a.api.ReceiveRaw(ctx, r)
	if err != nil {
		return err
	}
	a.printReceived(resp)
	return nil
}

func (a *app) printReceived(r wire.ReceiveResponse) {
	switch {
	case r.Duplicate:
		fmt.Fprintf(a.stdout, "Already received: ticket %s (nothing changed)\n", r.TicketID)
	case r.Created:
		fmt.Fprintf(a.stdout, "Created ticket %s\n", r.TicketID)
	default:
		fmt.Fprintf(a.stdout, "Added to ticket %s\n", r.TicketID)
	}
	if r.Link != "" {
		fmt.Fprintf(a.stdout, "Link: %s\n", r.Link)
	}
}

// withTag puts the reply tag of ticket before subject unless subject
// carries it already. ticket may also be the ticket's link.
func withTag(subject, ticket string) (string, error) {
	id := strings.TrimSpace(ticket)
	if u, err := url.Parse(id); err == nil && u.Query().Get("id") != "" {
		id = u.Query().Get("id")
	}
	id = strings.ToLower(id)
	if !wire.ValidTicketID(id) {
		return "", fmt.Errorf("%q is not a ticket id (16 characters a-z and 2-7, as in the ticket's link)", ticket)
	}
	if have, ok := wire.ParseTag(subject); ok && have == id {
		return subject, nil
	}
	return wire.Tag(id) + " " + subject, nil
}
