// Package imappoll is the IMAP door of Trivial Tickets: a Poller watches one
// mailbox of one IMAP account and hands every new message to core's one
// inbound path (core.Service.Receive), the same way the SMTP gateway does.
//
// A message is acknowledged on the server (\Seen, or moved to the Processed
// folder) only after Receive returned without error, that is after the
// commit; a crash at any moment loses no message, and core's Message-ID
// de-duplication makes a message that is fetched twice one entry. A message
// that can never be ingested (not a mail, or larger than the limit) is
// flagged with FailedKeyword and left in the mailbox, so it is never retried
// forever. With IDLE (RFC 2177) new mail arrives within about a second;
// without it the mailbox is polled.
//
// The package speaks IMAP only: it holds no domain rules (core decides what
// becomes of a message), parses mail with mailgw/parse and never renders HTML.
package imappoll

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"trivialtickets/core"
	"trivialtickets/mailgw/oauth2"
)

// TLS modes of Account.TLS.
const (
	TLSImplicit = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 143)
	TLSNone     = "none"     // no encryption at all; only sensible on loopback for testing
)

// Defaults for the zero values of Account and Config.
const (
	DefaultMailbox         = "INBOX"
	DefaultPollInterval    = 60 * time.Second
	DefaultMaxMessageBytes = 25 << 20
	DefaultBackoffMin      = time.Second
	DefaultBackoffMax      = 5 * time.Minute
)

// FailedKeyword is the IMAP keyword set on a message that can never be
// ingested (not a mail, or larger than Config.MaxMessageBytes). Such
// messages are also marked \Seen and are skipped by every later round. When
// the mailbox does not allow keywords (PERMANENTFLAGS), \Flagged and \Seen
// are set instead. Remove the keyword (or the flags) to have the message
// tried again.
const FailedKeyword = "$TicketdFailed"

// MinPollInterval is the shortest Account.PollInterval the daemon's
// configuration accepts.
const MinPollInterval = time.Second

// Account is one IMAP mailbox to watch: the settings of one IMAP account of
// the configuration file.
type Account struct {
	// Name identifies the account in logs and in Status. Default: Username
	// when it is an address, else Username@Host.
	Name string
	Host string // server host name or IP address, without port
	// Port of the server. Default: 993 for TLSImplicit, 143 otherwise.
	Port int
	// TLS is TLSImplicit, TLSStartTLS or TLSNone. Default: TLSImplicit.
	TLS string
	// TLSConfig is used for TLSImplicit and TLSStartTLS; the caller sets
	// RootCAs to trust a private CA. Nil means the system roots. An empty
	// ServerName is set to Host.
	TLSConfig *tls.Config
	Username  string
	Password  string
	// Mailbox is the folder to watch. Default: DefaultMailbox.
	Mailbox string
	// Processed is the folder ingested messages are moved to (created when
	// missing). Empty: ingested messages stay in Mailbox and are only
	// marked \Seen, and only unseen messages are ingested.
	Processed string
	// PollInterval is how often the mailbox is searched when the server
	// lacks IDLE, and the safety re-check while it IDLEs. Default:
	// DefaultPollInterval.
	PollInterval time.Duration
	// OAuth2, when set, logs in with SASL AuthMechanism and an access
	// token from it instead of LOGIN with Password. A token the server
	// refuses is invalidated, so the next attempt refreshes it.
	OAuth2 TokenSource
	// AuthMechanism is oauth2.XOAUTH2 or oauth2.OAUTHBEARER. Default:
	// OAUTHBEARER when the server offers it, else XOAUTH2.
	AuthMechanism string
}

// TokenSource hands out OAuth2 access tokens; *oauth2.Source satisfies it.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate()
}

// Receiver takes one inbound message; *core.Service satisfies it. A nil
// error means the message is committed and may be acknowledged on the
// server; any error means it was not, and it is offered again later.
type Receiver interface {
	Receive(ctx context.Context, m core.InboundMessage) (core.ReceiveResult, error)
}

var _ Receiver = (*core.Service)(nil)

// Config is what a Poller needs.
type Config struct {
	Account  Account
	Receiver Receiver // required
	// MaxMessageBytes is the largest message ingested. Larger messages are
	// not downloaded: they are flagged with FailedKeyword and logged.
	// Default: DefaultMaxMessageBytes.
	MaxMessageBytes int64
	Logger          *slog.Logger // default: discard
	// BackoffMin and BackoffMax bound the wait before reconnecting after an
	// error; it doubles with every failure in a row, with jitter. Defaults:
	// DefaultBackoffMin and DefaultBackoffMax.
	BackoffMin time.Duration
	BackoffMax time.Duration
}

// Status is a snapshot of a Poller's health, for /healthz and metrics.
type Status struct {
	Account     string    // Account.Name
	Connected   bool      // logged in with the mailbox selected
	LastSuccess time.Time // end of the last successful check of the mailbox
	// LastError is the most recent error and LastErrorAt its time. They are
	// kept after recovery: the poller is healthy when LastSuccess is later
	// than LastErrorAt.
	LastError   string
	LastErrorAt time.Time
	Ingested    int64 // messages handed to the Receiver successfully
	Rejected    int64 // messages flagged with FailedKeyword (or \Flagged)
}

// Poller ingests the mail of one IMAP account. Create it with New and run
// it with Run; Status is safe to call from any goroutine.
type Poller struct {
	acct       Account // with defaults applied
	addr       string  // host:port
	tlsConfig  *tls.Config
	recv       Receiver
	maxBytes   int64
	log        *slog.Logger
	backoffMin time.Duration
	backoffMax time.Duration

	// noIdle makes the poller behave as if the server lacked IDLE (tests).
	noIdle bool

	running     atomic.Bool
	uidValidity uint32 // of Mailbox, last seen; used by Run's goroutine only

	mu     sync.Mutex
	status Status
}

// New applies the defaults and returns a Poller. The daemon checks the
// settings where it reads them (the [[imap]] tables); New refuses only
// what would make the poller misbehave: no host, an unknown TLS mode, no
// Receiver.
func New(cfg Config) (*Poller, error) {
	a := cfg.Account
	a.Host = strings.TrimSpace(a.Host)
	name := accountName(a)
	switch {
	case a.Host == "":
		return nil, fmt.Errorf("imap account %q: no host", name)
	case a.TLS != "" && a.TLS != TLSImplicit && a.TLS != TLSStartTLS && a.TLS != TLSNone:
		return nil, fmt.Errorf("imap account %q: tls = %q is not one of %q, %q, %q", name, a.TLS, TLSImplicit, TLSStartTLS, TLSNone)
	case cfg.Receiver == nil:
		return nil, fmt.Errorf("imap account %q: no Receiver given", name)
	}
	applyDefaults(&a, &cfg)
	a.Name = name

	var tc *tls.Config
	if a.TLSConfig != nil {
		tc = a.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = a.Host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	a.TLSConfig = tc

	p := &Poller{
		acct:       a,
		addr:       net.JoinHostPort(a.Host, strconv.Itoa(a.Port)),
		tlsConfig:  tc,
		recv:       cfg.Receiver,
		maxBytes:   cfg.MaxMessageBytes,
		log:        cfg.Logger.With("imap_account", a.Name),
		backoffMin: cfg.BackoffMin,
		backoffMax: cfg.BackoffMax,
		status:     Status{Account: a.Name},
	}
	if a.TLS == TLSNone && !isLoopback(a.Host) {
		p.log.Warn("IMAP account uses tls = \"none\" with a host that is not loopback: the password and all mail cross the network unencrypted",
			"host", a.Host)
	}
	return p, nil
}

// accountName is the account's name in logs and Status: Name, else the
// user name if it is an address, else user@host.
func accountName(a Account) string {
	switch {
	case a.Name != "":
		return a.Name
	case a.Username == "":
		return a.Host
	case strings.Contains(a.Username, "@"):
		return a.Username
	}
	return a.Username + "@" + a.Host
}

// applyDefaults fills in what a and cfg leave empty.
func applyDefaults(a *Account, cfg *Config) {
	if a.TLS == "" {
		a.TLS = TLSImplicit
	}
	if a.Port == 0 {
		a.Port = 143
		if a.TLS == TLSImplicit {
			a.Port = 993
		}
	}
	if a.Mailbox == "" {
		a.Mailbox = DefaultMailbox
	}
	if a.PollInterval <= 0 {
		a.PollInterval = DefaultPollInterval
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(DefaultBackoffMax, cfg.BackoffMin)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Status returns a snapshot of the poller's health. It is safe for
// concurrent use.
func (p *Poller) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Run connects, ingests and waits for new mail until ctx is cancelled, and
// then returns nil. After a network error, a server restart, a failed login
// or a Receive error it reconnects after a back-off that doubles with every
// failure in a row (with jitter), from BackoffMin up to BackoffMax. Run must
// not be called twice at once.
func (p *Poller) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("imappoll: Run is already running for account " + p.acct.Name)
	}
	defer p.running.Store(false)
	p.log.Info("IMAP poller started", "server", p.addr, "tls", p.acct.TLS, "mailbox", p.acct.Mailbox, "processed", p.acct.Processed)
	failures := 0
	for {
		progressed, err := p.session(ctx)
		p.setConnected(false)
		if ctx.Err() != nil {
			p.log.Info("IMAP poller stopped")
			return nil
		}
		if progressed {
			failures = 0
		}
		delay := p.backoff(failures)
		failures++
		if err == nil {
			err = errors.New("connection ended")
		}
		p.noteError(err)
		var le *loginError
		if errors.As(err, &le) || errors.Is(err, oauth2.ErrRefresh) {
			p.log.Error(err.Error(), "retry_in", delay.Round(time.Millisecond))
		} else {
			p.log.Warn("IMAP polling interrupted; reconnecting", "server", p.addr, "err", err, "retry_in", delay.Round(time.Millisecond))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			p.log.Info("IMAP poller stopped")
			return nil
		case <-t.C:
		}
	}
}

// backoff returns the wait after n failures in a row: BackoffMin·2ⁿ capped
// at BackoffMax, with "equal jitter" (a random value in [d/2, d]) so that
// several pollers do not reconnect in step.
func (p *Poller) backoff(n int) time.Duration {
	d := p.backoffMin
	for range n {
		d *= 2
		if d >= p.backoffMax || d <= 0 {
			d = p.backoffMax
			break
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func (p *Poller) setConnected(c bool) {
	p.mu.Lock()
	p.status.Connected = c
	p.mu.Unlock()
}

func (p *Poller) noteSuccess() {
	p.mu.Lock()
	p.status.LastSuccess = time.Now()
	p.mu.Unlock()
}

func (p *Poller) noteError(err error) {
	p.mu.Lock()
	p.status.LastError = err.Error()
	p.status.LastErrorAt = time.Now()
	p.mu.Unlock()
}

func (p *Poller) countIngested() {
	p.mu.Lock()
	p.status.Ingested++
	p.mu.Unlock()
}

func (p *Poller) countRejected(n int) {
	p.mu.Lock()
	p.status.Rejected += int64(n)
	p.mu.Unlock()
}

// loginError is a LOGIN the server refused: wrong credentials, most likely.
type loginError struct {
	user, addr string
	text       string // the server's words
	mechanism  string // the SASL mechanism of an OAuth2 login; "" for LOGIN
}

func (e *loginError) Error() string {
	if e.mechanism != "" {
		return fmt.Sprintf("IMAP login (%s) failed for %s at %s: %s: the token is refreshed for the next try; if this repeats, check username and the OAuth2 client's grants",
			e.mechanism, e.user, e.addr, e.text)
	}
	return fmt.Sprintf("IMAP login failed for %s at %s: %s: check username/password", e.user, e.addr, e.text)
}
