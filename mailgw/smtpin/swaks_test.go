package smtpin_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/mailgw/smtpin"
)

// These tests drive the gateway with swaks, a real SMTP client written by
// someone else (Debian package swaks), over loopback.

const swaksMissing = "swaks not installed (Debian package swaks)"

// requireProgram returns the path of program, or skips the test with msg
// when it is not installed; under CI=true it fails the test instead, since
// there a missing program means a broken runner, not less to test.
func requireProgram(t *testing.T, program, msg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// swaksGateway starts the gateway on a loopback port over a fresh SQLite
// store, offering STARTTLS with a self-signed certificate.
func swaksGateway(t *testing.T, maxBytes int64) (addr string, svc *core.Service) {
	t.Helper()
	cert, _ := selfSigned(t)
	return gatewayWith(t, smtpin.Config{Domain: "localhost", MaxMessageBytes: maxBytes,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
}

// swaks runs swaks against addr with the given options and returns its
// transcript and exit status (0 for success; see "EXIT CODES" in swaks(1)).
// No configuration file or SWAKS_OPT_ variable of the developer applies.
func swaks(t *testing.T, addr string, opts ...string) (transcript string, status int) {
	t.Helper()
	path := requireProgram(t, "swaks", swaksMissing)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"--config", "--server", host, "--port", port, "--helo", "client.example", "--timeout", "30s"}, opts...)
	cmd := exec.CommandContext(ctx, path, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWAKS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("swaks did not finish in time:\n%s", out)
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("run swaks: %v", err)
	}
	return string(out), 0
}

// swaksTickets lists every ticket in the gateway's store.
func swaksTickets(t *testing.T, svc *core.Service) []core.Ticket {
	t.Helper()
	l, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return l.Tickets
}

// oneTicket returns the only ticket in the store and its entries.
func oneTicket(t *testing.T, svc *core.Service) core.TicketView {
	t.Helper()
	processed(t, svc)
	ts := swaksTickets(t, svc)
	if len(ts) != 1 {
		t.Fatalf("want one ticket, got %d", len(ts))
	}
	v, err := svc.ViewTicket(context.Background(), nil, ts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// nothingStored fails when the gateway recorded a ticket or queued a mail.
func nothingStored(t *testing.T, svc *core.Service) {
	t.Helper()
	processed(t, svc)
	if ts := swaksTickets(t, svc); len(ts) != 0 {
		t.Errorf("a refused message was stored: %d tickets", len(ts))
	}
	ms, err := svc.PendingMails(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 0 {
		t.Errorf("a refused message queued %d mails", len(ms))
	}
}

func TestSwaksDelivery(t *testing.T) {
	requireProgram(t, "swaks", swaksMissing)
	t.Parallel()
	addr, svc := swaksGateway(t, 0)
	out, status := swaks(t, addr, "--from", "alice@example.com", "--to", "support@help.example",
		"--header", "Subject: Printer on fire", "--body", "Help, the printer in room 4 is burning.")
	if status != 0 {
		t.Fatalf("swaks exit status %d:\n%s", status, out)
	}
	v := oneTicket(t, svc)
	if v.Ticket.Subject != "Printer on fire" || v.Ticket.Customer != "alice@example.com" {
		t.Errorf("ticket %q from %q", v.Ticket.Subject, v.Ticket.Customer)
	}
	if len(v.Entries) != 1 || !strings.Contains(v.Entries[0].Text, "the printer in room 4 is burning") {
		t.Errorf("want the body as the one entry, got %+v", v.Entries)
	}
}

func TestSwaksSTARTTLS(t *testing.T) {
	path := requireProgram(t, "swaks", swaksMissing)
	t.Parallel()
	if out, _ := exec.Command(path, "--config", "--support").CombinedOutput(); !strings.Contains(string(out), "TLS supported") {
		t.Skipf("swaks cannot do TLS (Debian package libnet-ssleay-perl):\n%s", out)
	}
	addr, svc := swaksGateway(t, 0)
	// The certificate is self-signed: swaks must not verify it.
	out, status := swaks(t, addr, "--tls", "--no-tls-verify", "--from", "alice@example.com", "--to", "support@help.example",
		"--header", "Subject: Over TLS", "--body", "secret details")
	if status != 0 {
		t.Fatalf("swaks exit status %d:\n%s", status, out)
	}
	if !strings.Contains(out, "=== TLS started") {
		t.Errorf("swaks did not start TLS:\n%s", out)
	}
	v := oneTicket(t, svc)
	if v.Ticket.Subject != "Over TLS" || len(v.Entries) != 1 || !strings.Contains(v.Entries[0].Text, "secret details") {
		t.Errorf("ticket %q with %+v", v.Ticket.Subject, v.Entries)
	}
}

func TestSwaksForeignRecipient(t *testing.T) {
	requireProgram(t, "swaks", swaksMissing)
	t.Parallel()
	addr, svc := swaksGateway(t, 0)
	out, status := swaks(t, addr, "--from", "spammer@example.net", "--to", "someone@elsewhere.example",
		"--header", "Subject: relay me")
	if status != 24 { // swaks(1): no RCPTs accepted
		t.Errorf("swaks exit status %d, want 24:\n%s", status, out)
	}
	if !strings.Contains(out, "<** 550 5.1.1 ") {
		t.Errorf("no 550 5.1.1 for a foreign recipient:\n%s", out)
	}
	nothingStored(t, svc)
}

func TestSwaksTooLarge(t *testing.T) {
	requireProgram(t, "swaks", swaksMissing)
	t.Parallel()
	const limit = 64 << 10
	addr, svc := swaksGateway(t, limit)
	body := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(body, []byte(strings.Repeat(strings.Repeat("x", 70)+"\n", 2*limit/71)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, status := swaks(t, addr, "--from", "alice@example.com", "--to", "support@help.example",
		"--header", "Subject: huge", "--body", "@"+body, "--suppress-data")
	if status != 26 { // swaks(1): server did not accept mail following data
		t.Errorf("swaks exit status %d, want 26:\n%s", status, out)
	}
	if !strings.Contains(out, "<** 552 ") {
		t.Errorf("no 552 for a message over the size limit:\n%s", out)
	}
	nothingStored(t, svc)
}

func TestSwaksReplyWithTag(t *testing.T) {
	requireProgram(t, "swaks", swaksMissing)
	t.Parallel()
	addr, svc := swaksGateway(t, 0)
	if out, status := swaks(t, addr, "--from", "alice@example.com", "--to", "support@help.example",
		"--header", "Subject: VPN down", "--body", "The VPN does not connect."); status != 0 {
		t.Fatalf("first mail: swaks exit status %d:\n%s", status, out)
	}
	id := oneTicket(t, svc).Ticket.ID

	// A reply without In-Reply-To or a plus-address: only the subject tag
	// ties it to the ticket.
	out, status := swaks(t, addr, "--from", "alice@example.com", "--to", "support@help.example",
		"--header", "Subject: Re: "+core.Tag(id)+" VPN down", "--body", "It works again after a restart.")
	if status != 0 {
		t.Fatalf("reply: swaks exit status %d:\n%s", status, out)
	}
	v := oneTicket(t, svc)
	if v.Ticket.ID != id {
		t.Fatalf("the reply opened ticket %s instead of joining %s", v.Ticket.ID, id)
	}
	if len(v.Entries) != 2 || !strings.Contains(v.Entries[1].Text, "It works again after a restart.") {
		t.Fatalf("want the first mail and the reply, got %+v", v.Entries)
	}
}
