package outbound_test

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"trivialtickets/mailgw/outbound"
	"trivialtickets/mailgw/relaytest"
)

// TestRealRelayTemporaryFailure delivers through a real SMTP server
// (Debian's aiosmtpd) over STARTTLS with AUTH, which answers 451 for a
// while: once it accepts, every notification arrives exactly once.
func TestRealRelayTemporaryFailure(t *testing.T) {
	certFile, keyFile, pool := relaytest.SelfSigned(t)
	r := relaytest.Start(t, relaytest.Options{TLSCertFile: certFile, TLSKeyFile: keyFile, RequireTLS: true,
		AuthUser: "ticketd", AuthPassword: "relay-secret"})
	r.SetFail451(true)
	svc := newService(t)
	tc := &tls.Config{RootCAs: pool}
	d, stop := runStoppable(t, outbound.Config{Outbox: svc, Relay: outbound.Relay{Host: "127.0.0.1", Port: r.Port(), TLS: outbound.TLSStartTLS,
		TLSConfig: tc, Username: "ticketd", Password: "relay-secret", From: "support@help.example"}})
	const n = 20
	for i := range n {
		receive(t, svc, fmt.Sprintf("c%d@example.com", i), "Hello", fmt.Sprintf("m%d@example.com", i))
	}
	waitFor(t, "deferrals", func() bool { return d.Stats().Deferred >= n })
	if len(r.Messages()) != 0 {
		t.Fatalf("relay stored mail while answering 451")
	}
	r.SetFail451(false)
	r.WaitMessages(t, n, 20*time.Second)
	stop() // a wrong second delivery under way is made by now
	ms := r.Messages()
	seen := map[string]int{}
	for _, m := range ms {
		seen[strings.Join(m.To, ",")]++
		if !m.TLS || m.AuthUser != "ticketd" || m.From != "support@help.example" {
			t.Errorf("message to %v: TLS %v, auth %q, from %q", m.To, m.TLS, m.AuthUser, m.From)
		}
		if m.Header("Auto-Submitted") != "auto-generated" || !strings.Contains(m.Header("Subject"), "[Ticket") {
			t.Errorf("message to %v lacks our headers:\n%s", m.To, m.Raw)
		}
	}
	if len(ms) != n || len(seen) != n {
		t.Errorf("relay got %d mails for %d recipients, want %d each once", len(ms), len(seen), n)
	}
}
