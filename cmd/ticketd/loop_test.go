package main

import (
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// freeAddr is a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// loopDaemon starts a daemon with its SMTP gateway on smtpAddr for support
// and its outgoing mail going to relayAddr.
func loopDaemon(t *testing.T, smtpAddr, support, relayAddr string, extra ...string) *loopState {
	t.Helper()
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(relayAddr)
	conf := filepath.Join(dir, "ticketd.toml")
	os.WriteFile(conf, fmt.Appendf(nil, "outbound = \"smtp\"\n[relay]\nhost = %q\nport = %s\ntls = \"none\"\nretry_min = \"100ms\"\n", host, port), 0o600)
	data := filepath.Join(dir, "data")
	url, _ := startDaemon(t, append([]string{"--config", conf, "--data", data, "--http", "127.0.0.1:0", "--no-tls",
		"--smtp", smtpAddr, "--support-address", support}, extra...)...)
	return &loopState{url: url, data: data}
}

// loopState reads from a loop test's daemon what it has received over
// SMTP and what it has still to send.
type loopState struct{ url, data string }

var (
	receivedSMTP = regexp.MustCompile(`(?m)^ticketd_messages_received_total\{door="smtp",outcome="(?:created|entry|duplicate|automatic)"\} (\d+)$`)
	pendingMails = regexp.MustCompile(`(?m)^ticketd_outbox_mails\{state="pending"\} (\d+)$`)
)

// read returns the messages recorded from the SMTP gateway and the mails
// waiting in the outbox; -1, -1 when /metrics does not answer.
func (l *loopState) read() (received, pending int) {
	b, err := scrapeMetrics(l.url, l.data)
	if err != nil {
		return -1, -1
	}
	for _, m := range receivedSMTP.FindAllSubmatch(b, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		received += n
	}
	pending = -1
	if m := pendingMails.FindSubmatch(b); m != nil {
		pending, _ = strconv.Atoi(string(m[1]))
	}
	return received, pending
}

// waitQuiet waits for the event after which no more mail can move: every
// mail counted on its way to a daemon is recorded there, and no daemon has
// a mail left to send (a recorded message and the mails it causes are one
// transaction). The counters must not change while the daemons are read.
func waitQuiet(t *testing.T, pairs map[*loopState]func() int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	// One scrape reads its collectors concurrently, so it may see the
	// outbox before a commit and the received counter after it: rest is
	// two readings in a row that are quiet and equal.
	var last map[*loopState]int
	for time.Now().Before(deadline) {
		before := map[*loopState]int{}
		for d, sent := range pairs {
			before[d] = sent()
		}
		quiet := true
		for d, sent := range pairs {
			received, pending := d.read()
			quiet = quiet && pending == 0 && received == before[d] && sent() == before[d]
		}
		if quiet && maps.Equal(last, before) {
			return
		}
		last = nil
		if quiet {
			last = before
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the daemons did not come to rest within 30 s")
}

// counter counts the mails that pass a point.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// forwarder is an SMTP server in front of a daemon's gateway that counts
// what passes, as the MTA between two helpdesks would.
type forwarder struct {
	to    string // the gateway to hand mail to
	count *counter
}

func (f *forwarder) NewSession(*smtp.Conn) (smtp.Session, error) { return &fwdSession{f: f}, nil }

type fwdSession struct {
	f    *forwarder
	from string
	rcpt []string
}

func (s *fwdSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *fwdSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpt = append(s.rcpt, to)
	return nil
}
func (s *fwdSession) Reset()        { s.from, s.rcpt = "", nil }
func (s *fwdSession) Logout() error { return nil }
func (s *fwdSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.count.add()
	return plainSend(s.f.to, s.from, s.rcpt, strings.NewReader(string(raw)))
}

func serveSMTP(t *testing.T, addr string, b smtp.Backend) {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// TestTwoHelpdesksDoNotLoop configures two daemons to mail each other's
// support address: a customer mail from one helpdesk's address to the other
// gets one confirmation, which the first helpdesk records as automatic and
// does not answer. The exchange stops at once.
func TestTwoHelpdesksDoNotLoop(t *testing.T) {
	t.Parallel()
	gwA, gwB := freeAddr(t), freeAddr(t)
	fwdToA, fwdToB := freeAddr(t), freeAddr(t)
	toA, toB := &counter{}, &counter{}
	serveSMTP(t, fwdToA, &forwarder{to: gwA, count: toA})
	serveSMTP(t, fwdToB, &forwarder{to: gwB, count: toB})
	a := loopDaemon(t, gwA, "help@a.example", fwdToB)
	b := loopDaemon(t, gwB, "help@b.example", fwdToA)

	// Helpdesk B's address writes to helpdesk A (say, a forwarded mail).
	err := plainSend(fwdToA, "help@b.example", []string{"help@a.example"}, strings.NewReader(
		"From: help@b.example\r\nTo: help@a.example\r\nSubject: Hello A\r\nMessage-ID: <start@b.example>\r\n\r\nHi.\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	waitQuiet(t, map[*loopState]func() int{a: toA.get, b: toB.get})
	if na, nb := toA.get(), toB.get(); na != 1 || nb != 1 {
		t.Errorf("mails to A: %d, to B: %d; want 1 each (the first mail, one confirmation)", na, nb)
	}
}

// ooo is a customer's mail server with an out-of-office responder that
// answers every mail to the customer with a new mail to the sender. A
// careless one sets no Auto-Submitted and makes up a new subject.
type ooo struct {
	gateway  string // the helpdesk's gateway
	careless bool
	got      *counter
}

func (o *ooo) NewSession(*smtp.Conn) (smtp.Session, error) { return &oooSession{o: o}, nil }

type oooSession struct {
	o    *ooo
	from string
}

func (s *oooSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *oooSession) Rcpt(string, *smtp.RcptOptions) error        { return nil }
func (s *oooSession) Reset()                                      {}
func (s *oooSession) Logout() error                               { return nil }
func (s *oooSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	n := s.o.got.get()
	s.o.got.add()
	headers := "Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n"
	if s.o.careless {
		headers = fmt.Sprintf("Subject: I am away (%d)\r\n", n)
	}
	// Answer the helpdesk's From (its support address), after a moment.
	go plainSend(s.o.gateway, "customer@example.org", []string{"help@a.example"}, strings.NewReader(
		fmt.Sprintf("From: customer@example.org\r\nTo: help@a.example\r\n%sMessage-ID: <ooo-%d@example.org>\r\n\r\nI am on holiday.\r\n", headers, n)))
	return nil
}

// TestOutOfOfficeDoesNotLoop: a customer whose responder answers every
// mail. A responder that marks its answers (Auto-Submitted) is recorded and
// never answered; a careless one that makes a new subject every time opens
// new tickets, but their confirmations stop at the hourly cap.
func TestOutOfOfficeDoesNotLoop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		careless bool
		want     int // mails the customer's server gets
	}{
		{"marked", false, 1},
		{"careless", true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gw, mx := freeAddr(t), freeAddr(t)
			got := &counter{}
			serveSMTP(t, mx, &ooo{gateway: gw, careless: tc.careless, got: got})
			d := loopDaemon(t, gw, "help@a.example", mx, "--auto-reply-limit", "3")
			err := plainSend(gw, "customer@example.org", []string{"help@a.example"}, strings.NewReader(
				"From: customer@example.org\r\nTo: help@a.example\r\nSubject: Printer\r\nMessage-ID: <first@example.org>\r\n\r\nIt broke.\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			// The helpdesk has recorded the first mail and an answer to
			// each mail the customer got.
			waitQuiet(t, map[*loopState]func() int{d: func() int { return 1 + got.get() }})
			if n := got.get(); n != tc.want {
				t.Errorf("the customer's server got %d mails, want %d", n, tc.want)
			}
		})
	}
}

// plainSend delivers one mail over plain SMTP on loopback.
func plainSend(addr, from string, to []string, r io.Reader) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, r); err != nil {
		return err
	}
	return c.Quit()
}
