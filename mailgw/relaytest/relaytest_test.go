package relaytest_test

import (
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/mailgw/relaytest"
)

func msg(subject, body string) string {
	return "From: Help Desk <support@help.example>\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n"
}

// send delivers one message over a new plain connection.
func send(addr, from string, to []string, m string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, strings.NewReader(m)); err != nil {
		return err
	}
	return c.Quit()
}

func smtpErr(err error) *smtp.SMTPError {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// plainAuth is SASL PLAIN (RFC 4616) for go-smtp's Client.Auth.
type plainAuth struct{ user, password string }

func (a plainAuth) Start() (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.password), nil
}

func (a plainAuth) Next([]byte) ([]byte, error) {
	return nil, errors.New("PLAIN takes no challenge")
}

func TestStoresMessages(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	if !strings.HasPrefix(r.Addr(), "127.0.0.1:") || r.Port() == 0 || r.Host() != "127.0.0.1" {
		t.Fatalf("address %s, host %s, port %d", r.Addr(), r.Host(), r.Port())
	}
	if ms := r.Messages(); len(ms) != 0 {
		t.Fatalf("a new relay has %d messages", len(ms))
	}
	for i, subject := range []string{"first", "second", "third"} {
		from := "bounces@help.example"
		if i == 1 {
			from = "" // the null sender
		}
		if err := send(r.Addr(), from, []string{"alice@example.com", "bob@example.org"}, msg(subject, ".leading dot\r\nbody "+subject)); err != nil {
			t.Fatalf("send %s: %v", subject, err)
		}
	}
	ms := r.WaitMessages(t, 3, 5*time.Second)
	if len(ms) != 3 {
		t.Fatalf("want 3 messages, got %d", len(ms))
	}
	for i, subject := range []string{"first", "second", "third"} {
		m := ms[i]
		if got := m.Header("Subject"); got != subject {
			t.Errorf("message %d: subject %q, want %q (arrival order)", i, got, subject)
		}
		wantFrom := "bounces@help.example"
		if i == 1 {
			wantFrom = ""
		}
		if m.From != wantFrom || !slices.Equal(m.To, []string{"alice@example.com", "bob@example.org"}) {
			t.Errorf("message %d: envelope %q → %q", i, m.From, m.To)
		}
		if !strings.Contains(string(m.Raw), "\r\n\r\n.leading dot\r\nbody "+subject+"\r\n") {
			t.Errorf("message %d: raw content %q", i, m.Raw)
		}
		if m.TLS || m.AuthUser != "" {
			t.Errorf("message %d: TLS %v, user %q on a plain relay", i, m.TLS, m.AuthUser)
		}
	}
}

func TestFail451(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	to := []string{"alice@example.com"}

	r.SetFail451(true)
	err := send(r.Addr(), "bounces@help.example", to, msg("deferred", "x"))
	if se := smtpErr(err); se == nil || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) {
		t.Fatalf("with fail451 on: got %v, want 451 4.3.0", err)
	}
	if ms := r.Messages(); len(ms) != 0 {
		t.Fatalf("a refused message was stored: %d", len(ms))
	}
	r.SetFail451(true) // idempotent

	r.SetFail451(false)
	r.SetFail451(false) // idempotent
	if err := send(r.Addr(), "bounces@help.example", to, msg("retried", "x")); err != nil {
		t.Fatalf("with fail451 off: %v", err)
	}
	ms := r.WaitMessages(t, 1, 5*time.Second)
	if len(ms) != 1 || ms[0].Header("Subject") != "retried" {
		t.Fatalf("want only the retried message, got %d", len(ms))
	}
}

func TestRejectRecipient(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})

	err := send(r.Addr(), "bounces@help.example", []string{"reject-me@example.com"}, msg("x", "x"))
	if se := smtpErr(err); se == nil || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("got %v, want 550 5.1.1", err)
	}

	// One good and one rejected recipient: the message goes to the good one.
	c, err := smtp.Dial(r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("bounces@help.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("alice@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("Rejected.User@example.com", nil); smtpErr(err) == nil || smtpErr(err).Code != 550 {
		t.Fatalf("RCPT reject…: got %v, want 550", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(msg("partly", "x"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ms := r.WaitMessages(t, 1, 5*time.Second)
	if len(ms) != 1 || !slices.Equal(ms[0].To, []string{"alice@example.com"}) {
		t.Fatalf("want one message to alice only, got %+v", ms)
	}
}

func TestSTARTTLSAndAuth(t *testing.T) {
	cert, key, pool := relaytest.SelfSigned(t)
	r := relaytest.Start(t, relaytest.Options{TLSCertFile: cert, TLSKeyFile: key, RequireTLS: true,
		AuthUser: "relayuser", AuthPassword: "s3cret pass"})
	to := []string{"alice@example.com"}

	// Without STARTTLS nothing goes (RFC 3207 §4).
	c, err := smtp.Dial(r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if err := c.Mail("bounces@help.example", nil); smtpErr(err) == nil || smtpErr(err).Code != 530 {
		t.Errorf("MAIL before STARTTLS: got %v, want 530", err)
	}
	c.Close()

	dial := func() *smtp.Client {
		t.Helper()
		c, err := smtp.DialStartTLS(r.Addr(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// After STARTTLS, MAIL still needs AUTH (RFC 4954 §6: 530 5.7.0).
	c = dial()
	if !c.SupportsAuth("PLAIN") {
		t.Error("AUTH PLAIN not offered after STARTTLS")
	}
	if err := c.Mail("bounces@help.example", nil); smtpErr(err) == nil || smtpErr(err).Code != 530 {
		t.Errorf("MAIL without AUTH: got %v, want 530", err)
	}
	if err := c.Auth(plainAuth{"relayuser", "wrong"}); smtpErr(err) == nil || smtpErr(err).Code != 535 {
		t.Errorf("AUTH with a wrong password: got %v, want 535", err)
	}

	c = dial()
	if err := c.Auth(plainAuth{"relayuser", "s3cret pass"}); err != nil {
		t.Fatalf("AUTH PLAIN: %v", err)
	}
	if err := c.SendMail("bounces@help.example", to, strings.NewReader(msg("secure", "x"))); err != nil {
		t.Fatalf("send: %v", err)
	}
	ms := r.WaitMessages(t, 1, 5*time.Second)
	if len(ms) != 1 || !ms[0].TLS || ms[0].AuthUser != "relayuser" {
		t.Fatalf("want one message over TLS from relayuser, got %+v", ms)
	}
}

func TestStop(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	if err := send(r.Addr(), "a@help.example", []string{"b@example.com"}, msg("before stop", "x")); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	r.Stop() // idempotent
	if c, err := net.DialTimeout("tcp", r.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("the relay still listens after Stop")
	}
	if ms := r.Messages(); len(ms) != 1 {
		t.Fatalf("stored messages after Stop: %d, want 1", len(ms))
	}
}
