package main

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"trivialtickets/webui/mailapi/wire"
)

// separator is printed before every mail.
var separator = strings.Repeat("-", 72)

// fetchCommand runs "ticketcli fetch".
func (a *app) fetchCommand(ctx context.Context, args []string) error {
	flags := newFlagSet("fetch")
	a.opts.register(flags)
	noVerify := flags.Bool("no-verify", false, "only print")
	rest, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("fetch: unexpected argument %q", rest[0])
	}
	return a.connectThen(func() error { return a.fetch(ctx, !*noVerify) })
}

// fetch prints every pending mail and, with verify, confirms each as sent.
func (a *app) fetch(ctx context.Context, verify bool) error {
	mails, err := a.api.FetchMails(ctx)
	if err != nil {
		return err
	}
	if len(mails) == 0 {
		fmt.Fprintln(a.stdout, "No pending mails.")
		return nil
	}
	for _, m := range mails {
		a.printMail(m)
	}
	fmt.Fprintln(a.stdout, separator)
	if !verify {
		fmt.Fprintf(a.stdout, "%d pending mails, none confirmed\n", len(mails))
		return nil
	}
	confirmed, gone := 0, 0
	for _, m := range mails {
		ok, err := a.api.VerifyMail(ctx, m.ID)
		if err != nil {
			fmt.Fprintf(a.stdout, "confirmed %d mails before the error\n", confirmed)
			return err
		}
		if ok {
			confirmed++
		} else {
			gone++
		}
	}
	fmt.Fprintf(a.stdout, "confirmed %d mails\n", confirmed)
	if gone > 0 {
		fmt.Fprintf(a.stdout, "(%d had been confirmed by someone else meanwhile)\n", gone)
	}
	return nil
}

// printMail writes one mail readably. Everything in it may come from a
// customer, so control characters that could steer a terminal are shown
// as U+FFFD.
func (a *app) printMail(m wire.Mail) {
	fmt.Fprintln(a.stdout, separator)
	fmt.Fprintf(a.stdout, "Mail %s\n", clean(m.ID, false))
	fmt.Fprintf(a.stdout, "From:    %s\n", clean(m.From, false))
	fmt.Fprintf(a.stdout, "To:      %s\n", clean(m.To, false))
	fmt.Fprintf(a.stdout, "Subject: %s\n", clean(m.Subject, false))
	fmt.Fprintln(a.stdout)
	body := clean(m.Message, true)
	fmt.Fprint(a.stdout, body)
	if !strings.HasSuffix(body, "\n") {
		fmt.Fprintln(a.stdout)
	}
}

// clean replaces control characters (but line breaks and tabs when
// multiline) with U+FFFD.
func clean(s string, multiline bool) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if multiline && (r == '\n' || r == '\t') {
			return r
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
