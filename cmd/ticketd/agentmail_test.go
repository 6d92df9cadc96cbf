package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/mailgw/relaytest"
)

func TestUserEmailCommands(t *testing.T) {
	data := t.TempDir()
	var out, errb bytes.Buffer
	runCmd := func(stdin string, args ...string) int {
		out.Reset()
		errb.Reset()
		return run(context.Background(), append(args, "--data", data), nil, strings.NewReader(stdin), &out, &errb)
	}
	if code := runCmd("secret-pass-1\n", "user", "add", "bob", "--email", "Bob@Agents.example"); code != 0 {
		t.Fatalf("user add --email: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "e-mail bob@agents.example, notified of assigned,reply") {
		t.Errorf("user add --email said %q", out.String())
	}
	if code := runCmd("", "user", "edit", "bob", "--notify", "new, reply"); code != 0 {
		t.Fatalf("user edit --notify: exit %d: %s", code, errb.String())
	}
	if code := runCmd("", "user", "list"); code != 0 || !strings.Contains(out.String(), "bob@agents.example  new,reply") {
		t.Errorf("user list: exit %d:\n%s", code, out.String())
	}
	if code := runCmd("secret-pass-2\n", "user", "add", "carol", "--email", "bob@agents.example"); code != 1 ||
		!strings.Contains(errb.String(), "another agent has the address bob@agents.example") {
		t.Errorf("taken address: exit %d: %s", code, errb.String())
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"user", "edit", "bob", "--notify", "everything"}, 1, `unknown notification "everything"`},
		{[]string{"user", "edit", "bob", "--email", "not an address"}, 1, "not an address"},
		{[]string{"user", "edit", "bob", "--email", "support@localhost"}, 1, "helpdesk's own addresses"},
		{[]string{"user", "edit", "carol", "--notify", "new"}, 2, "has no e-mail address"},
		{[]string{"user", "edit", "bob"}, 2, "usage: ticketd user edit"},
		{[]string{"user", "edit", "nobody", "--email", "x@agents.example"}, 1, "nobody"},
	} {
		if code := runCmd("", tc.args...); code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%q: exit %d: %s, want %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
	if code := runCmd("", "user", "edit", "bob", "--email", ""); code != 0 {
		t.Fatalf("remove address: exit %d: %s", code, errb.String())
	}
	if code := runCmd("", "user", "list"); code != 0 || strings.Contains(out.String(), "agents.example") {
		t.Errorf("address still listed:\n%s", out.String())
	}
}

// TestAgentAnswersByMail runs the whole round through real mail: a customer
// writes to the SMTP gateway, the agent's notification reaches the relay
// with a signed Reply-To, the agent's reply (quoting the notification) goes
// back through the gateway, and the customer gets the agent's new text only,
// without Auto-Submitted. A reply with the agent's From to the plain
// support address reaches no customer.
func TestAgentAnswersByMail(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if code := run(context.Background(), []string{"user", "add", "bob", "--data", data, "--email", "bob@agents.example", "--notify", "new"},
		nil, strings.NewReader("secret-pass-1\n"), &bytes.Buffer{}, os.Stderr); code != 0 {
		t.Fatalf("user add: %d", code)
	}
	conf := filepath.Join(dir, "ticketd.toml")
	os.WriteFile(conf, fmt.Appendf(nil, "outbound = \"smtp\"\n[relay]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\nretry_min = \"100ms\"\n", r.Port()), 0o600)
	gw := freeAddr(t)
	startDaemon(t, "--config", conf, "--data", data, "--http", "127.0.0.1:0", "--no-tls", "--smtp", gw,
		"--support-address", "help@help.example")
	send := func(from, to, raw string) {
		t.Helper()
		c, err := smtp.Dial(gw)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail(from, []string{to}, strings.NewReader(raw)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	send("alice@example.org", "help@help.example",
		"From: Alice <alice@example.org>\r\nTo: help@help.example\r\nSubject: Printer\r\nMessage-ID: <alice-1@example.org>\r\n\r\nThe printer is on fire.\r\n")
	ms := r.WaitMessages(t, 2, 15*time.Second)
	var notice relaytest.Message
	for _, m := range ms {
		if m.To[0] == "bob@agents.example" {
			notice = m
		}
	}
	replyTo := strings.Trim(notice.Header("Reply-To"), "<>")
	if !strings.HasPrefix(replyTo, "help+") || strings.Count(replyTo, ".") < 3 || notice.Header("In-Reply-To") != "<alice-1@example.org>" ||
		!strings.Contains(decodeQP(notice.Raw), "The printer is on fire.") {
		t.Fatalf("notice to bob:\n%s", notice.Raw)
	}

	send("bob@agents.example", replyTo, fmt.Sprintf("From: Bob <bob@agents.example>\r\nTo: %s\r\nSubject: Re: %s\r\n"+
		"Message-ID: <bob-1@agents.example>\r\nIn-Reply-To: %s\r\n\r\nWe are sending a technician.\r\n\r\n"+
		"On Monday, Helpdesk <help@help.example> wrote:\r\n> New ticket from Alice\r\n> The printer is on fire.\r\n",
		replyTo, notice.Header("Subject"), notice.Header("Message-Id")))
	ms = r.WaitMessages(t, 3, 15*time.Second)
	answer := ms[2]
	body := decodeQP(answer.Raw)
	if answer.To[0] != "alice@example.org" || !strings.Contains(body, "We are sending a technician.") || strings.Contains(body, "New ticket from Alice") {
		t.Fatalf("answer to the customer:\n%s", answer.Raw)
	}
	if answer.Header("Auto-Submitted") != "" || answer.Header("X-Auto-Response-Suppress") != "All" {
		t.Errorf("answer's loop headers: Auto-Submitted %q, X-Auto-Response-Suppress %q", answer.Header("Auto-Submitted"), answer.Header("X-Auto-Response-Suppress"))
	}
	if ms[0].Header("Auto-Submitted") != "auto-generated" {
		t.Errorf("the confirmation lacks Auto-Submitted:\n%s", ms[0].Raw)
	}

	// The same answer with Bob's From to the support address is no answer.
	send("bob@agents.example", "help@help.example", fmt.Sprintf("From: Bob <bob@agents.example>\r\nTo: help@help.example\r\nSubject: %s\r\n"+
		"Message-ID: <forged-1@agents.example>\r\n\r\nClosing this, send me the invoice.\r\n", notice.Header("Subject")))
	time.Sleep(time.Second)
	if n := len(r.Messages()); n != 3 {
		t.Errorf("a mail with bob's From alone reached someone: %d mails", n)
	}
}

func decodeQP(raw []byte) string {
	_, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	b, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	return string(b)
}
