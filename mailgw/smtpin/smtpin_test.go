package smtpin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/smtpin"
	"trivialtickets/store/sqlite"
)

// gateway starts the gateway on a loopback port over a fresh store.
func gateway(t testing.TB, maxBytes int64) (addr string, svc *core.Service) {
	t.Helper()
	return gatewayWith(t, smtpin.Config{MaxMessageBytes: maxBytes})
}

func send(addr, from string, to []string, msg string) error {
	c, err := smtp.Dial(addr) // plain SMTP on loopback, as an MTA without TLS
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func mail(msgID, subject, body string, extra ...string) string {
	h := "From: Alice <alice@example.com>\r\nTo: support@help.example\r\nSubject: " + subject + "\r\n"
	if msgID != "" {
		h += "Message-ID: <" + msgID + ">\r\n"
	}
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n" + body + "\r\n"
}

// isReply reports whether err is the gateway's reply want: its code,
// enhanced code and text (to which a reason may be added).
func isReply(err error, want *smtp.SMTPError) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == want.Code && se.EnhancedCode == want.EnhancedCode &&
		strings.HasPrefix(se.Message, want.Message)
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestGateway(t *testing.T) {
	addr, svc := gateway(t, 64<<10)
	ctx := context.Background()
	pending := func() []core.OutMail {
		ms, err := svc.PendingMails(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}

	// A new mail becomes a ticket with a confirmation.
	if err := send(addr, "alice@example.com", []string{"support@help.example"}, mail("m1@example.com", "Printer on fire", "Help!")); err != nil {
		t.Fatalf("send: %v", err)
	}
	processed(t, svc)
	ms := pending()
	if len(ms) != 1 || ms[0].To != "alice@example.com" {
		t.Fatalf("want one confirmation to alice, got %+v", ms)
	}
	id := ms[0].TicketID

	// The same Message-ID again (a retried delivery): acknowledged, not added.
	if err := send(addr, "alice@example.com", []string{"support@help.example"}, mail("m1@example.com", "Printer on fire", "Help!")); err != nil {
		t.Fatalf("resend: %v", err)
	}
	// A reply to the plus-address, without a tag, threads to the ticket.
	if err := send(addr, "alice@example.com", []string{"support+" + id + "@help.example"}, mail("m2@example.com", "more", "Still burning")); err != nil {
		t.Fatalf("plus reply: %v", err)
	}
	processed(t, svc)
	v, err := svc.ViewTicket(ctx, nil, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Entries) != 2 || !strings.Contains(v.Entries[1].Text, "Still burning") {
		t.Fatalf("want the first message and the reply once each, got %d entries", len(v.Entries))
	}

	// An out-of-office from the null sender: recorded, never answered.
	if err := send(addr, "", []string{"support@help.example"}, mail("m3@example.com", "Out of office", "Away", "Auto-Submitted: auto-replied")); err != nil {
		t.Fatalf("auto-reply: %v", err)
	}
	processed(t, svc)
	if n := len(pending()); n != 1 {
		t.Fatalf("an auto-reply was answered: %d pending mails", n)
	}

	tests := []struct {
		name string
		to   []string
		msg  string
		want *smtp.SMTPError
	}{
		{"foreign recipient (no open relay)", []string{"someone@elsewhere.example"}, mail("r1@example.com", "relay?", "x"), smtpin.ErrNotHelpdesk},
		{"too large", []string{"support@help.example"}, mail("r2@example.com", "big", strings.Repeat(strings.Repeat("x", 70)+"\r\n", 1500)), smtp.ErrDataTooLarge},
		{"line over 2000 characters", []string{"support@help.example"}, mail("r3@example.com", "long", strings.Repeat("y", 5000)), smtpin.ErrLineTooLong},
		{"not a mail at all", []string{"support@help.example"}, "\r\n\r\njust text", smtpin.ErrUnreadable},
	}
	for _, tt := range tests {
		err := send(addr, "bob@example.com", tt.to, tt.msg)
		if !isReply(err, tt.want) {
			t.Errorf("%s: got %v, want %d %v %s", tt.name, err, tt.want.Code, tt.want.EnhancedCode, tt.want.Message)
		}
	}
}

func TestGatewayConcurrentDeliveries(t *testing.T) {
	addr, svc := gateway(t, 0)
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- send(addr, "c@example.com", []string{"support@help.example"}, mail(fmt.Sprintf("c%d@example.com", i%20), "Hello", "x"))
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("delivery: %v", err)
		}
	}
	processed(t, svc)
	l, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != 20 {
		t.Fatalf("20 distinct Message-IDs sent twice each made %d tickets", l.Total)
	}
}

// TestGatewaySTARTTLS delivers over STARTTLS with the daemon's certificate.
func TestGatewaySTARTTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := core.NewService(st, core.Config{SupportAddresses: []string{"support@help.example"}})
	srv := smtpin.New(smtpin.Config{Service: svc, Domain: "localhost",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c, err := smtp.DialStartTLS(ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.SendMail("alice@example.com", []string{"support@help.example"}, strings.NewReader(mail("tls1@example.com", "Over TLS", "secret"))); err != nil {
		t.Fatalf("send over TLS: %v", err)
	}
	if ms, _ := svc.PendingMails(context.Background(), 0, 10); len(ms) != 1 {
		t.Fatalf("want one confirmation, got %d", len(ms))
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
