package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"trivialtickets/webui/mailapi/wire"
)

// errReported marks a failure whose message was printed already; the
// program exits with 1 without printing more.
var errReported = errors.New("reported")

const menuText = `
  1  submit a message
  2  fetch and confirm mails
  3  fetch only
  4  quit
Choice: `

// menu runs the interactive menu on stdin and stdout. It reads one answer
// per line, so a pipe can drive it. A failed step prints its error and the
// menu goes on; the exit status is then 1.
func (a *app) menu(ctx context.Context) error {
	in := bufio.NewReader(a.stdin)
	fmt.Fprintf(a.stdout, "Trivial Tickets mail simulator, talking to %s\n", a.opts.server)
	failed := false
	for {
		fmt.Fprint(a.stdout, menuText)
		line, err := readLine(in)
		if err != nil { // end of input: like quit
			fmt.Fprintln(a.stdout)
			break
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "1":
			err = a.menuSubmit(ctx, in)
		case "2":
			err = a.fetch(ctx, true)
		case "3":
			err = a.fetch(ctx, false)
		case "4", "q", "quit", "exit":
			return menuResult(failed)
		case "":
			continue
		default:
			fmt.Fprintln(a.stdout, "Please answer 1, 2, 3 or 4.")
		}
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(a.stderr, "ticketcli: input ended in the middle of a message; nothing was sent")
			return errReported
		}
		if err != nil {
			a.exit(err) // prints the one-line error
			failed = true
		}
	}
	return menuResult(failed)
}

func menuResult(failed bool) error {
	if failed {
		return errReported
	}
	return nil
}

// menuSubmit asks for a message field by field and submits it.
func (a *app) menuSubmit(ctx context.Context, in *bufio.Reader) error {
	ask := func(prompt string) (string, error) {
		fmt.Fprint(a.stdout, prompt)
		return readLine(in)
	}
	from, err := ask("From: ")
	if err != nil {
		return err
	}
	subject, err := ask("Subject: ")
	if err != nil {
		return err
	}
	ticket, err := ask("Ticket id to answer (empty for a new ticket): ")
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, `Message (end it with a line containing only "."):`)
	var text strings.Builder
	for {
		line, err := readLine(in)
		if err != nil {
			return err
		}
		if line == "." {
			break
		}
		text.WriteString(line)
		text.WriteByte('\n')
	}
	if strings.TrimSpace(ticket) != "" {
		if subject, err = withTag(subject, ticket); err != nil {
			return err
		}
	}
	return a.submit(ctx, wire.ReceiveRequest{From: strings.TrimSpace(from), Subject: subject, Message: text.String()})
}

// readLine returns the next line without its line break; io.EOF only when
// nothing is left.
func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
