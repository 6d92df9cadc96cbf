// Package outbound delivers the outbox through an SMTP relay (outbound =
// "smtp"). A Dispatcher claims due mails with a lease (so that with several
// daemons each mail has one sender), builds each with mailgw/compose, hands it
// to the relay with go-smtp's client, and records the outcome right after the
// relay's answer: sent after its 250, retried with exponential backoff and
// jitter after a temporary failure (4xx, network), failed and noted on the
// ticket after a permanent one (5xx) or after retrying for too long.
package outbound

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/compose"
	"trivialtickets/mailgw/oauth2"
)

// TLS modes of the relay connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587, 25); required
	TLSImplicit = "implicit" // TLS from the first byte (port 465)
	TLSNone     = "none"     // no TLS at all: only for a relay on loopback
)

// Relay is the SMTP server the dispatcher hands mail to.
type Relay struct {
	Host string
	Port int    // default 587, or 465 for implicit TLS, 25 for none
	TLS  string // TLSStartTLS (default), TLSImplicit or TLSNone
	// TLSConfig verifies the relay's certificate; nil trusts the system
	// roots for Host.
	TLSConfig *tls.Config
	// Username and Password for AUTH (PLAIN, else LOGIN); empty: no AUTH.
	Username string
	Password string
	// From is the envelope sender (MAIL FROM), where bounces go; the
	// mail's From when empty.
	From string
	// HelloName is the name given in EHLO; "localhost" when empty.
	HelloName string
	// OAuth2, when set, authenticates Username with an access token from
	// it over SASL AuthMechanism instead of the Password. A token the
	// relay refuses is invalidated, so the next session refreshes it.
	OAuth2 TokenSource
	// AuthMechanism is oauth2.XOAUTH2 or oauth2.OAUTHBEARER. Default:
	// OAUTHBEARER when the relay offers it, else XOAUTH2.
	AuthMechanism string
}

// TokenSource hands out OAuth2 access tokens; *oauth2.Source satisfies it.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate()
}

// Addr is host:port of the relay.
func (r Relay) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// Outbox is what the dispatcher needs of core; *core.Service provides it.
type Outbox interface {
	ClaimMails(ctx context.Context, owner string, lease time.Duration, limit int) ([]core.OutMail, error)
	MailDelivered(ctx context.Context, id int64) error
	MailDeferred(ctx context.Context, id int64, reason string, next time.Time) error
	MailFailed(ctx context.Context, m core.OutMail, reason string) error
	ReleaseMails(ctx context.Context, owner string, ids []int64) error
}

// Config configures a Dispatcher. Zero values take the defaults.
type Config struct {
	Outbox Outbox
	Relay  Relay
	// LoopID is the daemon's domain, written into the loop header of every
	// mail so that our own mail coming back is recognised.
	LoopID string
	// Owner names this dispatcher in leases; unique per daemon. Default:
	// host name, process id and a random suffix.
	Owner string
	// Interval is how often the outbox is checked for due mail (1s).
	Interval time.Duration
	// Batch is the most mails claimed (and sent on one connection) at a
	// time (20).
	Batch int
	// Lease is how long claimed mails stay ours (2 min, at least four
	// times Timeout): a daemon that dies holding mails delays them this
	// long. A batch starts no new mail once less than three Timeouts of
	// the lease are left; it gives the rest back unsent.
	Lease time.Duration
	// Timeout bounds each SMTP command and the transfer of one message
	// (30 s).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying a mail after
	// a temporary failure (1 min, 1 h); it doubles with each attempt.
	MinBackoff, MaxBackoff time.Duration
	// MaxAge is how long a mail is retried before it is marked failed
	// (4 days, as MTAs do).
	MaxAge time.Duration
	Logger *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Stats are the dispatcher's counters since start, for metrics and health.
type Stats struct {
	Sent, Deferred, Failed int64
	// Unrecorded counts mails the relay accepted whose delivery could not
	// be recorded yet (the database failed); none is claimed meanwhile.
	Unrecorded  int
	LastSuccess time.Time // last mail the relay accepted
	LastError   string    // last delivery problem, if any
	LastErrorAt time.Time
}

// Dispatcher delivers the outbox through the relay. Run it once per daemon.
type Dispatcher struct {
	cfg Config

	// unrecorded are mails the relay accepted whose record failed; only
	// Run's goroutine uses it. While it is not empty, nothing is claimed:
	// the owner would get these mails back from their lease and send
	// them again.
	unrecorded []core.OutMail

	mu    sync.Mutex
	stats Stats
}

// Bounds of the wait between attempts to record deliveries while the
// database fails.
const (
	minRecordWait = 100 * time.Millisecond
	maxRecordWait = 5 * time.Second
)

// New checks cfg and returns a Dispatcher.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("outbound: no outbox")
	}
	if cfg.Relay.Host == "" {
		return nil, errors.New("outbound: relay host is empty: set host in [relay]")
	}
	switch cfg.Relay.TLS {
	case "":
		cfg.Relay.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("outbound: relay tls %q: use starttls, implicit or none", cfg.Relay.TLS)
	}
	if cfg.Relay.Port == 0 {
		cfg.Relay.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.Relay.TLS]
	}
	if cfg.Relay.Port < 1 || cfg.Relay.Port > 65535 {
		return nil, fmt.Errorf("outbound: relay port %d: use 1 to 65535", cfg.Relay.Port)
	}
	if cfg.Relay.OAuth2 != nil && cfg.Relay.Username == "" {
		return nil, errors.New("outbound: an OAuth2 login to the relay needs the username")
	}
	if cfg.Relay.OAuth2 == nil && (cfg.Relay.Username == "") != (cfg.Relay.Password == "") {
		return nil, errors.New("outbound: relay username and password go together: set both or neither")
	}
	if cfg.Relay.HelloName == "" {
		cfg.Relay.HelloName = "localhost"
	}
	if cfg.LoopID == "" {
		cfg.LoopID = "localhost"
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		rand.Read(b)
		cfg.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{
		{&cfg.Interval, time.Second}, {&cfg.Lease, 2 * time.Minute}, {&cfg.Timeout, 30 * time.Second},
		{&cfg.MinBackoff, time.Minute}, {&cfg.MaxBackoff, time.Hour}, {&cfg.MaxAge, 96 * time.Hour},
	}
	for _, d := range defaults {
		if *d.d <= 0 {
			*d.d = d.def
		}
	}
	cfg.Lease = max(cfg.Lease, 4*cfg.Timeout)
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Dispatcher{cfg: cfg}, nil
}

// Relay is the relay's host:port.
func (d *Dispatcher) Relay() string { return d.cfg.Relay.Addr() }

// Stats returns the counters; safe for concurrent use.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *Dispatcher) record(f func(*Stats)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.stats)
}

// Run delivers due mail until ctx is cancelled, then returns nil. A mail in
// the middle of its transfer when ctx ends is left to its lease: the next
// dispatcher sends it again only if the relay did not accept it.
//
// A delivery the relay accepted but that could not be recorded (the
// database failed) ends the batch; the dispatcher then records such
// deliveries, retrying with backoff, before it claims anything again. Only
// if the daemon stops before it succeeds will those mails be sent again
// after their lease: the one window that cannot be closed.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.cfg.Logger.Info("delivering outgoing mail through relay", "relay", d.cfg.Relay.Addr(), "tls", d.cfg.Relay.TLS)
	defer d.lastRecord()
	t := time.NewTimer(0)
	defer t.Stop()
	recordWait := minRecordWait
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if len(d.unrecorded) > 0 {
			if err := d.recordDelivered(ctx); err != nil {
				if ctx.Err() == nil {
					d.cfg.Logger.Warn("could not record deliveries the relay accepted; trying again before sending more",
						"mails", len(d.unrecorded), "next_try_in", recordWait, "err", err)
				}
				t.Reset(recordWait)
				recordWait = min(2*recordWait, maxRecordWait)
				continue
			}
			recordWait = minRecordWait
		}
		n, err := d.round(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.Error("outbox dispatch", "err", err)
		}
		wait := d.cfg.Interval
		switch {
		case len(d.unrecorded) > 0:
			wait = recordWait
		case n == d.cfg.Batch && err == nil:
			wait = 0 // more may be due
		}
		t.Reset(wait)
	}
}

// recordDelivered records the deliveries that could not be recorded
// before, in order; it stops at the first failure.
func (d *Dispatcher) recordDelivered(ctx context.Context) error {
	for len(d.unrecorded) > 0 {
		m := d.unrecorded[0]
		if err := d.markDelivered(ctx, m); err != nil {
			return err
		}
		d.unrecorded = d.unrecorded[1:]
		d.record(func(s *Stats) { s.Unrecorded = len(d.unrecorded) })
		d.cfg.Logger.Info("delivery recorded late", "mail", m.ID, "ticket", m.TicketID)
	}
	d.unrecorded = nil
	return nil
}

// lastRecord tries once more, at shutdown, to record the deliveries still
// unrecorded, and names those it could not.
func (d *Dispatcher) lastRecord() {
	if len(d.unrecorded) == 0 {
		return
	}
	if err := d.recordDelivered(context.Background()); err != nil {
		ids := make([]int64, len(d.unrecorded))
		for i, m := range d.unrecorded {
			ids[i] = m.ID
		}
		d.cfg.Logger.Error("stopping with deliveries the relay accepted but the database did not record: these mails will be sent again when their lease ends",
			"mails", ids, "err", err)
	}
}

// markDelivered records the delivery of m, bounded by Timeout. Not bound
// to ctx: a shutdown must not lose the record of a delivery.
func (d *Dispatcher) markDelivered(ctx context.Context, m core.OutMail) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.Timeout)
	defer cancel()
	if err := d.cfg.Outbox.MailDelivered(rctx, m.ID); err != nil {
		return err
	}
	d.record(func(s *Stats) { s.Sent++; s.LastSuccess = d.cfg.Now() })
	return nil
}

// round claims one batch and delivers it; it returns how many were claimed.
func (d *Dispatcher) round(ctx context.Context) (int, error) {
	claimed := time.Now()
	ms, err := d.cfg.Outbox.ClaimMails(ctx, d.cfg.Owner, d.cfg.Lease, d.cfg.Batch)
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	// No new mail once what is left of the lease might not cover it: the
	// lease must never run out while a mail is in transfer, or another
	// dispatcher could send it too.
	budget := d.cfg.Lease - 3*d.cfg.Timeout
	var c *smtp.Client
	defer func() {
		if c != nil {
			c.Quit()
			c.Close()
		}
	}()
	for i, m := range ms {
		if ctx.Err() != nil || time.Since(claimed) > budget {
			d.release(ms[i:])
			return len(ms), nil
		}
		raw, err := compose.Build(m, d.cfg.Now(), d.cfg.LoopID)
		if err != nil {
			// A mail that cannot be written is a permanent failure.
			if !d.finish(ctx, m, permanent("cannot build the mail: "+err.Error())) {
				d.release(ms[i+1:])
				return len(ms), nil
			}
			continue
		}
		if c != nil && c.Reset() != nil {
			c.Close() // the session broke; open a new one
			c = nil
		}
		if c == nil {
			if c, err = d.connect(); err != nil {
				// The relay is unreachable: every mail of the batch waits.
				for j, rest := range ms[i:] {
					if !d.finish(ctx, rest, temporary(err.Error())) {
						d.release(ms[i+j+1:])
						break
					}
				}
				return len(ms), nil
			}
		}
		err = d.send(c, m, raw)
		var se *smtp.SMTPError
		var recorded bool
		switch {
		case err == nil:
			recorded = d.finish(ctx, m, outcome{})
		case errors.As(err, &se) && se.Code >= 500:
			recorded = d.finish(ctx, m, permanent(smtpText(se)))
		case errors.As(err, &se):
			recorded = d.finish(ctx, m, temporary(smtpText(se)))
		default:
			// A network error: the connection is unusable.
			recorded = d.finish(ctx, m, temporary(err.Error()))
			c.Close()
			c = nil
		}
		if !recorded {
			// The database fails: send nothing more until it records
			// again, and give the rest back (should that fail too, their
			// lease keeps them ours, and they were not sent).
			d.release(ms[i+1:])
			return len(ms), nil
		}
	}
	return len(ms), nil
}

// release gives mails back unsent, for the next round or another daemon.
func (d *Dispatcher) release(ms []core.OutMail) {
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	// Not the run's context: a shutdown is when giving back matters.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.cfg.Outbox.ReleaseMails(ctx, d.cfg.Owner, ids); err != nil {
		d.cfg.Logger.Warn("could not give back claimed mails; they wait for their lease to end", "mails", len(ids), "err", err)
	}
}

// outcome of one delivery attempt: delivered when reason is empty.
type outcome struct {
	reason    string
	permanent bool
}

func permanent(reason string) outcome { return outcome{reason: reason, permanent: true} }
func temporary(reason string) outcome { return outcome{reason: reason} }

func smtpText(se *smtp.SMTPError) string {
	code := strconv.Itoa(se.Code)
	if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
		code += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	return code + " " + se.Message
}

// finish records the outcome of m and reports whether that worked. A
// delivery that could not be recorded is remembered in d.unrecorded, to be
// recorded before anything is claimed again; any other outcome that could
// not be recorded leaves the mail to its lease, as it was not delivered.
func (d *Dispatcher) finish(ctx context.Context, m core.OutMail, o outcome) bool {
	log := d.cfg.Logger.With("mail", m.ID, "ticket", m.TicketID, "to", m.To)
	now := d.cfg.Now()
	var err error
	switch {
	case o.reason == "":
		if err = d.markDelivered(ctx, m); err != nil {
			d.unrecorded = append(d.unrecorded, m)
			d.record(func(s *Stats) {
				s.Unrecorded = len(d.unrecorded)
				s.LastError, s.LastErrorAt = "recording a delivery: "+err.Error(), now
			})
			log.Error("the relay accepted the mail but the database did not record it; no more mail is sent until it does", "err", err)
			return false
		}
		log.Info("mail delivered to relay")
		return true
	case o.permanent || now.Sub(m.CreatedAt) >= d.cfg.MaxAge:
		reason := o.reason
		if !o.permanent {
			reason = fmt.Sprintf("gave up after %s of retries; last error: %s", d.cfg.MaxAge, o.reason)
		}
		err = d.cfg.Outbox.MailFailed(ctx, m, reason)
		if err == nil {
			d.record(func(s *Stats) { s.Failed++; s.LastError, s.LastErrorAt = reason, now })
			log.Warn("mail could not be delivered", "reason", reason)
		}
	default:
		next := now.Add(d.backoff(m.Attempts))
		err = d.cfg.Outbox.MailDeferred(ctx, m.ID, o.reason, next)
		if err == nil {
			d.record(func(s *Stats) { s.Deferred++; s.LastError, s.LastErrorAt = o.reason, now })
			log.Warn("mail delivery deferred", "reason", o.reason, "attempts", m.Attempts+1, "next_try", next)
		}
	}
	if err != nil {
		log.Error("could not record the delivery outcome; the mail's lease will make it retried", "err", err)
		return false
	}
	return true
}

// backoff is the wait after the attempts-th failed attempt: MinBackoff
// doubled per attempt up to MaxBackoff, with ±25 % jitter so that mails
// deferred together do not return together.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.cfg.MinBackoff
	for range min(attempts, 30) {
		b *= 2
		if b >= d.cfg.MaxBackoff {
			b = d.cfg.MaxBackoff
			break
		}
	}
	return b - b/4 + time.Duration(mrand.Int64N(int64(b/2)+1))
}

// connect opens an SMTP session with the relay: TLS as configured, EHLO,
// AUTH when a user is set.
func (d *Dispatcher) connect() (*smtp.Client, error) {
	r := d.cfg.Relay
	tc := r.TLSConfig
	if tc == nil {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc = tc.Clone()
		tc.ServerName = r.Host
	}
	dialer := &net.Dialer{Timeout: d.cfg.Timeout}
	var conn net.Conn
	var err error
	if r.TLS == TLSImplicit {
		conn, err = tls.DialWithDialer(dialer, "tcp", r.Addr(), tc)
	} else {
		conn, err = dialer.Dial("tcp", r.Addr())
	}
	if err != nil {
		return nil, fmt.Errorf("connect to relay %s: %w", r.Addr(), err)
	}
	// Bounds the greeting; go-smtp sets its own deadlines after that.
	conn.SetDeadline(time.Now().Add(d.cfg.Timeout))
	var c *smtp.Client
	if r.TLS == TLSStartTLS {
		// go-smtp greets as "localhost" before STARTTLS; the EHLO that
		// counts comes after it, with our name.
		if c, err = smtp.NewClientStartTLS(conn, tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("relay %s: STARTTLS (set tls = \"implicit\", or \"none\" on loopback only, if the relay does not offer it): %w", r.Addr(), err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout, c.SubmissionTimeout = d.cfg.Timeout, d.cfg.Timeout
	fail := func(what string, err error) (*smtp.Client, error) {
		c.Close()
		return nil, fmt.Errorf("relay %s: %s: %w", r.Addr(), what, err)
	}
	if err := c.Hello(r.HelloName); err != nil {
		return fail("EHLO", err)
	}
	if r.Username != "" && r.OAuth2 != nil {
		if err := d.authOAuth2(c); err != nil {
			return fail("AUTH", err)
		}
	} else if r.Username != "" {
		var a sasl.Client
		switch {
		case c.SupportsAuth(sasl.Plain):
			a = sasl.NewPlainClient("", r.Username, r.Password)
		case c.SupportsAuth(sasl.Login):
			a = sasl.NewLoginClient(r.Username, r.Password)
		default:
			return fail("AUTH", errors.New("the relay offers neither AUTH PLAIN nor LOGIN (it may need STARTTLS first)"))
		}
		if err := c.Auth(a); err != nil {
			return fail("AUTH", err)
		}
	}
	return c, nil
}

// authOAuth2 authenticates with an access token (RFC 7628 OAUTHBEARER or
// XOAUTH2); a refused token is invalidated for the next session.
func (d *Dispatcher) authOAuth2(c *smtp.Client) error {
	r := d.cfg.Relay
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
	defer cancel()
	token, err := r.OAuth2.Token(ctx)
	if err != nil {
		return err
	}
	mech := r.AuthMechanism
	if mech == "" {
		mech = oauth2.XOAUTH2
		if c.SupportsAuth(oauth2.OAUTHBEARER) {
			mech = oauth2.OAUTHBEARER
		}
	}
	a, err := oauth2.NewClient(mech, r.Username, token, r.Host, r.Port)
	if err != nil {
		return err
	}
	if err := c.Auth(a); err != nil {
		r.OAuth2.Invalidate()
		return fmt.Errorf("%s: %w", mech, err)
	}
	return nil
}

// send transfers one mail on an open session.
func (d *Dispatcher) send(c *smtp.Client, m core.OutMail, raw []byte) error {
	from := d.cfg.Relay.From
	if from == "" {
		from = m.From
	}
	if err := c.Mail(from, &smtp.MailOptions{Size: int64(len(raw))}); err != nil {
		return err
	}
	if err := c.Rcpt(m.To, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
