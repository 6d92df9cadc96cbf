package smtpin_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/smtpin"
)

// hostileMails are the broken and hostile mails of the issue, made here or
// taken from the parser's corpus.
func hostileMails(t *testing.T) map[string]string {
	t.Helper()
	head := "From: Mallory <mallory@example.org>\r\nTo: support@help.example\r\n"
	var parts, nest strings.Builder
	parts.WriteString(head + "Subject: parts\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := range 10_000 {
		fmt.Fprintf(&parts, "--x\r\nContent-Type: application/octet-stream\r\n\r\npart %d\r\n", i)
	}
	parts.WriteString("--x--\r\n")
	nest.WriteString(head + "Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 1; i < 100; i++ {
		fmt.Fprintf(&nest, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
	}
	nest.WriteString("--b99\r\nContent-Type: text/plain\r\n\r\ndeepest text\r\n--b99--\r\n")
	for i := 98; i >= 0; i-- {
		fmt.Fprintf(&nest, "--b%d--\r\n", i)
	}
	mails := map[string]string{
		"10,000 parts":       parts.String(),
		"100 nesting levels": nest.String(),
		// Folded into lines of 1,000 octets (a longer line is refused by
		// the SMTP rules themselves).
		"1 MiB subject": head + "Subject: " + strings.Repeat("=?utf-8?q?=C3=A4?=\r\n ", 1<<20/22) + "\r\n\r\nbody\r\n",
		"8-bit headers": head + "Subject: Gr\xfc\xdfe \xe4\xf6\r\n\r\nbody\r\n",
		"NUL bytes":     head + "Subject: nul\r\n\r\nbefore\x00after\r\n",
	}
	files, err := filepath.Glob("../parse/testdata/*.eml")
	if err != nil || len(files) < 10 {
		t.Fatalf("parser corpus: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The corpus mails are addressed variously; the envelope decides.
		mails[filepath.Base(f)] = strings.ReplaceAll(string(b), "\n", "\r\n")
	}
	return mails
}

// TestHostileMailAtTheDoor sends the broken-mail corpus through the real
// gateway: each gets 250 and a ticket or entry with the best text the
// parser found, or a 5xx with a reason; the gateway never hangs and keeps
// working. A 30 MiB mail is refused with 552.
func TestHostileMailAtTheDoor(t *testing.T) {
	addr, svc := gateway(t, 25<<20)
	accepted := 0
	for name, raw := range hostileMails(t) {
		raw = strings.ReplaceAll(raw, "\r\r\n", "\r\n")
		err := send(addr, "mallory@example.org", []string{"support@help.example"}, raw)
		switch code := smtpCode(err); {
		case err == nil:
			accepted++
		case code >= 500 && code < 600:
			t.Logf("%s: refused: %v", name, err)
		default:
			t.Errorf("%s: %v, want 250 or a permanent refusal with a reason", name, err)
		}
	}
	huge := "From: a@example.org\r\nSubject: huge\r\n\r\n" + strings.Repeat(strings.Repeat("A", 998)+"\r\n", 30<<20/1000)
	if err := send(addr, "a@example.org", []string{"support@help.example"}, huge); smtpCode(err) != 552 {
		t.Errorf("30 MiB mail: %v, want 552", err)
	}
	// Still serving, and what was accepted is there.
	if err := send(addr, "alice@example.com", []string{"support@help.example"}, mail("after@example.com", "After the storm", "Hello")); err != nil {
		t.Fatalf("a normal mail after the hostile ones: %v", err)
	}
	l, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if l.Total < accepted {
		t.Errorf("%d tickets for %d accepted mails", l.Total, accepted)
	}
	if accepted < 20 {
		t.Errorf("only %d of the corpus accepted", accepted)
	}
}

// A client that sends commands but never a message is cut off after 200
// of them (EHLO and 199 MAIL) with 421, and the connection closes.
func TestCommandsWithoutData(t *testing.T) {
	addr, _ := gateway(t, 1<<20)
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var last error
	for i := range 300 {
		if last = c.Mail("a@example.org", nil); last != nil {
			if !isReply(last, smtpin.ErrTooManyCommands) || i != 199 {
				t.Fatalf("MAIL #%d: %v, want 421 at #199", i, last)
			}
			break
		}
	}
	if last == nil {
		t.Fatal("300 MAIL commands without DATA were all accepted")
	}
	// The gateway closes the connection after its 421 without reading
	// further: the next command's answer waits for that close and fails.
	if err := c.Noop(); err == nil {
		t.Error("the connection is still open after 421")
	}
	// A well-behaved client on a new connection is served.
	if err := send(addr, "alice@example.com", []string{"support@help.example"}, mail("ok@example.com", "Fine", "Hello")); err != nil {
		t.Errorf("a normal delivery after the cut-off: %v", err)
	}
}
