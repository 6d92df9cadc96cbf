package outbound_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/outbound"
	"trivialtickets/store/sqlite"
)

// received is one mail the test relay accepted.
type received struct {
	from string
	to   []string
	raw  []byte
}

// relay is an in-process SMTP server that stores what it accepts and can
// be told to refuse.
type relay struct {
	mu       sync.Mutex
	mails    []received
	fail451  int           // answer 451 to this many more DATA commands
	delay    time.Duration // wait this long before answering DATA
	authUser string
	authed   bool
	addr     string
	srv      *smtp.Server
}

func (r *relay) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }

type relaySession struct {
	r      *relay
	from   string
	to     []string
	authed bool
}

func (s *relaySession) AuthMechanisms() []string {
	if s.r.authUser == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *relaySession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.r.authUser || password != "secret" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.authUser != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "reject") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *relaySession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	delay := s.r.delay
	s.r.mu.Unlock()
	time.Sleep(delay)
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.fail451 > 0 {
		s.r.fail451--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	s.r.mails = append(s.r.mails, received{from: s.from, to: s.to, raw: raw})
	return nil
}

func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }

// startRelay serves the relay on addr ("127.0.0.1:0" for any port).
func startRelay(t *testing.T, r *relay, addr string, tc *tls.Config) {
	t.Helper()
	srv := smtp.NewServer(r)
	srv.Domain = "relay.test"
	srv.TLSConfig = tc
	srv.AllowInsecureAuth = tc == nil
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.addr, r.srv = ln.Addr().String(), srv
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func (r *relay) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.mails...)
}

func (r *relay) port(t *testing.T) int {
	_, p, _ := net.SplitHostPort(r.addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

// newService is a core.Service over a fresh SQLite store in relay mode.
func newService(t *testing.T) *core.Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return core.NewService(st, core.Config{PublicURL: "https://help.example",
		SupportAddresses: []string{"support@help.example"}, RelayOutbound: true})
}

// run starts a dispatcher and stops it at the end of the test.
func run(t *testing.T, cfg outbound.Config) *outbound.Dispatcher {
	t.Helper()
	d, _ := runStoppable(t, cfg)
	return d
}

// runStoppable is run that also returns a stop function: it ends the
// dispatcher and waits for Run to return, so that whatever it was going
// to send has been sent when stop returns.
func runStoppable(t *testing.T, cfg outbound.Config) (*outbound.Dispatcher, func()) {
	t.Helper()
	if cfg.Relay.TLS == "" {
		cfg.Relay.TLS = outbound.TLSNone
	}
	cfg.LoopID = "help.example"
	cfg.Interval = 10 * time.Millisecond
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 50*time.Millisecond
	}
	cfg.Timeout = 5 * time.Second
	d, err := outbound.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return d, stop
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func receive(t *testing.T, svc *core.Service, from, subject, msgID string) core.ReceiveResult {
	t.Helper()
	res, err := svc.Receive(context.Background(), core.InboundMessage{Door: core.DoorSMTP, From: from,
		Recipients: []string{"support@help.example"}, Subject: subject, Text: "Hello", MessageID: msgID})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDeliversThreadedMail(t *testing.T) {
	svc := newService(t)
	r := &relay{}
	startRelay(t, r, "127.0.0.1:0", nil)
	d := run(t, outbound.Config{Outbox: svc, Relay: outbound.Relay{Host: "127.0.0.1", Port: r.port(t), From: "bounces@help.example"}})

	res := receive(t, svc, "alice@example.com", "Printer\r\nBcc: evil@example.com", "first@example.com")
	waitFor(t, "the confirmation", func() bool { return len(r.got()) == 1 })
	m := r.got()[0]
	if m.from != "bounces@help.example" || len(m.to) != 1 || m.to[0] != "alice@example.com" {
		t.Errorf("envelope = %s → %v", m.from, m.to)
	}
	mr, err := mail.CreateReader(bytes.NewReader(m.raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	subject, _ := h.Subject()
	checks := map[string]bool{
		"subject has the tag":      strings.Contains(subject, `[Ticket "`+res.TicketID+`"]`),
		"In-Reply-To the customer": h.Get("In-Reply-To") == "<first@example.com>",
		"References the customer":  strings.Contains(h.Get("References"), "<first@example.com>"),
		"Reply-To plus-address":    h.Get("Reply-To") == "<support+"+res.TicketID+"@help.example>",
		"Auto-Submitted":           h.Get("Auto-Submitted") == "auto-generated",
		"Message-ID":               strings.HasSuffix(h.Get("Message-Id"), "@help.example>"),
		"no injected Bcc":          h.Get("Bcc") == "" && !bytes.Contains(m.raw, []byte("\r\nBcc:")),
		"quoted-printable UTF-8":   h.Get("Content-Transfer-Encoding") == "quoted-printable",
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s: not so in\n%s", what, m.raw)
		}
	}
	// An agent's external comment is threaded too.
	ctx := context.Background()
	if err := svc.AddAgent(ctx, "bob", "Bob", "a long password"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Assign(ctx, "bob", res.TicketID, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Save(ctx, "bob", res.TicketID, core.Change{External: true, Comment: "Try turning it off and on."}); err != nil {
		t.Fatal(err)
	}
	// (Assigning tells the customer too.)
	waitFor(t, "the comment", func() bool { return len(r.got()) == 3 })
	if last := r.got()[2].raw; !bytes.Contains(last, []byte("Try turning it off and on.")) ||
		!bytes.Contains(last, []byte("In-Reply-To: <first@example.com>")) {
		t.Errorf("comment mail:\n%s", last)
	}
	waitFor(t, "the stats", func() bool { return d.Stats().Sent == 3 })
	if c, _ := svc.OutboxCounts(ctx); c.Pending != 0 {
		t.Errorf("pending after delivery: %+v", c)
	}
}

func TestTemporaryFailureRetriesOnce(t *testing.T) {
	svc := newService(t)
	r := &relay{fail451: 3}
	startRelay(t, r, "127.0.0.1:0", nil)
	d, stop := runStoppable(t, outbound.Config{Outbox: svc, Relay: outbound.Relay{Host: "127.0.0.1", Port: r.port(t)}})
	for i := range 5 {
		receive(t, svc, fmt.Sprintf("c%d@example.com", i), "Hello", fmt.Sprintf("m%d@example.com", i))
	}
	waitFor(t, "five mails", func() bool { return len(r.got()) >= 5 })
	stop() // a wrong second delivery under way is made by now
	got := r.got()
	seen := map[string]int{}
	for _, m := range got {
		seen[m.to[0]]++
	}
	if len(got) != 5 || len(seen) != 5 {
		t.Errorf("relay got %d mails for %v, want each of 5 once", len(got), seen)
	}
	if s := d.Stats(); s.Deferred != 3 || s.Sent != 5 || !strings.Contains(s.LastError, "451 4.3.0") {
		t.Errorf("stats = %+v, want 3 deferred, 5 sent", s)
	}
}

func TestPermanentFailureIsShownOnTicket(t *testing.T) {
	svc := newService(t)
	r := &relay{}
	startRelay(t, r, "127.0.0.1:0", nil)
	d := run(t, outbound.Config{Outbox: svc, Relay: outbound.Relay{Host: "127.0.0.1", Port: r.port(t)}})
	res := receive(t, svc, "rejected@example.com", "Hello", "m@example.com")
	waitFor(t, "the failure", func() bool { return d.Stats().Failed == 1 })
	v, err := svc.ViewTicket(context.Background(), &core.Agent{Username: "bob"}, res.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	last := v.Entries[len(v.Entries)-1]
	if !last.Internal || !strings.Contains(last.Text, "550 5.1.1 No such user") {
		t.Errorf("last entry = %+v, want an internal note with the relay's answer", last)
	}
	if c, _ := svc.OutboxCounts(context.Background()); c.Failed != 1 || c.Pending != 0 {
		t.Errorf("counts = %+v", c)
	}
	if len(r.got()) != 0 {
		t.Errorf("relay stored %d mails", len(r.got()))
	}
}

func TestRelayDownThenUp(t *testing.T) {
	svc := newService(t)
	// A port with nothing listening: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, p, _ := net.SplitHostPort(addr)
	var port int
	fmt.Sscan(p, &port)
	d := run(t, outbound.Config{Outbox: svc, Relay: outbound.Relay{Host: "127.0.0.1", Port: port}})
	receive(t, svc, "alice@example.com", "Hello", "m@example.com")
	waitFor(t, "a deferral", func() bool { return d.Stats().Deferred >= 2 })
	if s := d.Stats(); !strings.Contains(s.LastError, "connection refused") {
		t.Errorf("last error = %q", s.LastError)
	}
	r := &relay{}
	startRelay(t, r, addr, nil)
	waitFor(t, "delivery after the relay came up", func() bool { return len(r.got()) == 1 })
}

func TestGivesUpAfterMaxAge(t *testing.T) {
	svc := newService(t)
	r := &relay{fail451: 1000}
	startRelay(t, r, "127.0.0.1:0", nil)
	d := run(t, outbound.Config{Outbox: svc, Relay: outbound.Relay{Host: "127.0.0.1", Port: r.port(t)}, MaxAge: 100 * time.Millisecond})
	res := receive(t, svc, "alice@example.com", "Hello", "m@example.com")
	waitFor(t, "giving up", func() bool { return d.Stats().Failed == 1 })
	v, _ := svc.ViewTicket(context.Background(), &core.Agent{Username: "bob"}, res.TicketID)
	if last := v.Entries[len(v.Entries)-1]; !strings.Contains(last.Text, "gave up after") || !strings.Contains(last.Text, "451") {
		t.Errorf("last entry = %q", last.Text)
	}
}

// eachOnce stops the dispatchers, so that late copies under way are made,
// then checks that each of the n recipients got exactly one mail.
func eachOnce(t *testing.T, r *relay, n int, stops ...func()) {
	t.Helper()
	for _, stop := range stops {
		stop()
	}
	seen := map[string]int{}
	for _, m := range r.got() {
		seen[m.to[0]]++
	}
	for to, k := range seen {
		if k != 1 {
			t.Errorf("%s got %d mails", to, k)
		}
	}
	if len(seen) != n {
		t.Errorf("%d recipients, want %d", len(seen), n)
	}
}

// TestTwoDispatchersSendEachOnce runs two dispatchers (two daemons) on one
// store: every mail reaches the relay exactly once.
func TestTwoDispatchersSendEachOnce(t *testing.T) {
	svc := newService(t)
	r := &relay{}
	startRelay(t, r, "127.0.0.1:0", nil)
	var stops []func()
	for _, owner := range []string{"a", "b"} {
		_, stop := runStoppable(t, outbound.Config{Outbox: svc, Owner: owner, Batch: 7, Relay: outbound.Relay{Host: "127.0.0.1", Port: r.port(t)}})
		stops = append(stops, stop)
	}
	const n = 200
	for i := range n {
		receive(t, svc, fmt.Sprintf("c%d@example.com", i), "Hello", fmt.Sprintf("m%d@example.com", i))
	}
	waitFor(t, "all mails", func() bool { return len(r.got()) >= n })
	eachOnce(t, r, n, stops...)
}

func TestStartTLSAndAuth(t *testing.T) {
	svc := newService(t)
	cert, pool := testCert(t)
	r := &relay{authUser: "ticketd"}
	startRelay(t, r, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	relayCfg := outbound.Relay{Host: "127.0.0.1", Port: r.port(t), TLS: outbound.TLSStartTLS,
		TLSConfig: &tls.Config{RootCAs: pool}, Username: "ticketd", Password: "secret"}
	run(t, outbound.Config{Outbox: svc, Relay: relayCfg})
	receive(t, svc, "alice@example.com", "Hello", "m@example.com")
	waitFor(t, "delivery over STARTTLS with AUTH", func() bool { return len(r.got()) == 1 })

	// A wrong password is a temporary failure of the connection, visible
	// in the stats; the mail waits.
	svc2 := newService(t)
	relayCfg.Password = "wrong"
	d := run(t, outbound.Config{Outbox: svc2, Relay: relayCfg})
	receive(t, svc2, "alice@example.com", "Hello", "m2@example.com")
	waitFor(t, "the AUTH failure", func() bool { return d.Stats().Deferred >= 1 })
	if s := d.Stats(); !strings.Contains(s.LastError, "AUTH") {
		t.Errorf("last error = %q, want it to name AUTH", s.LastError)
	}
	if len(r.got()) != 1 {
		t.Errorf("relay got %d mails", len(r.got()))
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  outbound.Config
		want string
	}{
		{"no host", outbound.Config{}, "host"},
		{"bad tls", outbound.Config{Relay: outbound.Relay{Host: "h", TLS: "ssl"}}, "starttls, implicit or none"},
		{"bad port", outbound.Config{Relay: outbound.Relay{Host: "h", Port: 70000}}, "port"},
		{"user without password", outbound.Config{Relay: outbound.Relay{Host: "h", Username: "u"}}, "username and password"},
	}
	for _, tc := range tests {
		tc.cfg.Outbox = newService(t)
		if _, err := outbound.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// testCert makes a self-signed certificate for 127.0.0.1 and a pool
// trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestShutdownGivesMailsBack stops a dispatcher in the middle of a batch:
// the mails it had not sent are claimable at once by another daemon, not
// only when their lease ends.
func TestShutdownGivesMailsBack(t *testing.T) {
	svc := newService(t)
	r := &relay{delay: 300 * time.Millisecond}
	startRelay(t, r, "127.0.0.1:0", nil)
	for i := range 10 {
		receive(t, svc, fmt.Sprintf("c%d@example.com", i), "Hello", fmt.Sprintf("m%d@example.com", i))
	}
	d, err := outbound.New(outbound.Config{Outbox: svc, Owner: "first", Relay: outbound.Relay{Host: "127.0.0.1", Port: r.port(t), TLS: outbound.TLSNone},
		Interval: 10 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	waitFor(t, "the first delivery", func() bool { return len(r.got()) >= 1 })
	cancel()
	<-done
	sent := len(r.got())
	ms, err := svc.ClaimMails(context.Background(), "second", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	if sent+len(ms) != 10 || sent >= 10 {
		t.Errorf("after the stop: %d sent, %d claimable at once; want all 10 accounted for", sent, len(ms))
	}
}

// flakyOutbox is the real outbox behind a switch that makes every call
// fail as a database outage would, and counts the claims made while a
// delivery was unrecorded.
type flakyOutbox struct {
	outbound.Outbox
	down atomic.Bool
	// claimsWhileUnrecorded counts ClaimMails calls while stats reported
	// unrecorded deliveries.
	claimsWhileUnrecorded atomic.Int64
	// failedRecords counts the deliveries it refused to record.
	failedRecords atomic.Int64
	d             atomic.Pointer[outbound.Dispatcher]
}

var errDown = fmt.Errorf("database down: %w", core.ErrUnavailable)

func (f *flakyOutbox) ClaimMails(ctx context.Context, owner string, lease time.Duration, limit int) ([]core.OutMail, error) {
	if d := f.d.Load(); d != nil && d.Stats().Unrecorded > 0 {
		f.claimsWhileUnrecorded.Add(1)
	}
	if f.down.Load() {
		return nil, errDown
	}
	return f.Outbox.ClaimMails(ctx, owner, lease, limit)
}

func (f *flakyOutbox) MailDelivered(ctx context.Context, id int64) error {
	if f.down.Load() {
		f.failedRecords.Add(1)
		return errDown
	}
	return f.Outbox.MailDelivered(ctx, id)
}

func (f *flakyOutbox) MailDeferred(ctx context.Context, id int64, reason string, next time.Time) error {
	if f.down.Load() {
		return errDown
	}
	return f.Outbox.MailDeferred(ctx, id, reason, next)
}

func (f *flakyOutbox) ReleaseMails(ctx context.Context, owner string, ids []int64) error {
	if f.down.Load() {
		return errDown
	}
	return f.Outbox.ReleaseMails(ctx, owner, ids)
}

// TestDatabaseOutageSendsNothingTwice: the database fails in the middle of
// a batch and comes back 1 s later. The dispatcher stops at the first
// delivery it cannot record, claims nothing until it has recorded it, and
// every mail reaches the relay exactly once and ends recorded as sent.
func TestDatabaseOutageSendsNothingTwice(t *testing.T) {
	svc := newService(t)
	r := &relay{delay: 20 * time.Millisecond}
	startRelay(t, r, "127.0.0.1:0", nil)
	const n = 60
	for i := range n {
		receive(t, svc, fmt.Sprintf("c%d@example.com", i), "Hello", fmt.Sprintf("m%d@example.com", i))
	}
	fo := &flakyOutbox{Outbox: svc}
	d, stop := runStoppable(t, outbound.Config{Outbox: fo, Owner: "a", Batch: 20, Relay: outbound.Relay{Host: "127.0.0.1", Port: r.port(t)}})
	fo.d.Store(d)
	waitFor(t, "10 mails", func() bool { return len(r.got()) >= 10 })
	fo.down.Store(true)
	waitFor(t, "an unrecorded delivery", func() bool { return d.Stats().Unrecorded > 0 })
	sentWhileDown := len(r.got())
	// Three more failed tries to record (100, 200, 400 ms apart) show
	// the dispatcher still at work, and still sending nothing.
	tries := fo.failedRecords.Load()
	waitFor(t, "three more tries to record", func() bool { return fo.failedRecords.Load() >= tries+3 })
	if got := len(r.got()); got != sentWhileDown {
		t.Errorf("%d more mails sent while the database was down", got-sentWhileDown)
	}
	fo.down.Store(false)
	waitFor(t, "all mails", func() bool { return len(r.got()) >= n })
	waitFor(t, "all recorded", func() bool {
		c, err := svc.OutboxCounts(context.Background())
		return err == nil && c.Pending == 0
	})
	eachOnce(t, r, n, stop)
	if k := fo.claimsWhileUnrecorded.Load(); k != 0 {
		t.Errorf("%d claims while a delivery was unrecorded", k)
	}
	if s := d.Stats(); s.Sent != n || s.Unrecorded != 0 {
		t.Errorf("stats: %d sent, %d unrecorded; want %d, 0", s.Sent, s.Unrecorded, n)
	}
}
