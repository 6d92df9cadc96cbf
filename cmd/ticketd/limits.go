package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"trivialtickets/core"
	"trivialtickets/mailgw/connlimit"
	"trivialtickets/mailgw/parse"
	"trivialtickets/mailgw/smtpin"
)

// NetLimits are the limits that keep floods of connections, idle
// sessions and large messages from taking the daemon down; README.md's
// "Limits" section lists them.
type NetLimits struct {
	HTTPMaxConnections   int
	HTTPMaxPerAddress    int
	HTTPHeaderTimeout    time.Duration
	HTTPIdleTimeout      time.Duration
	SMTPMaxConnections   int
	SMTPMaxPerAddress    int
	SMTPFirstTimeout     time.Duration
	SMTPIdleTimeout      time.Duration
	SMTPMaxCommands      int
	LMTPMaxConnections   int
	LMTPMaxPerAddress    int
	SpoolThreshold       int64
	MaxLargeMessages     int
	APIMaxRequestsAtOnce int
}

func init() {
	settings = append(settings, limitSettings...)
}

// positiveInt parses a whole number of at least least.
func positiveInt(v string, least int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, fmt.Errorf("%q is not a whole number of at least %d", v, least)
	}
	return n, nil
}

// positiveDuration parses a duration above zero.
func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 30s", v)
	}
	return d, nil
}

// limitSettings are the settings of NetLimits.
var limitSettings = []setting{
	{name: "http-max-connections", def: "2000", help: "web and Mail API connections open at once; more are closed at once",
		set: func(c *Config, v string) (err error) { c.Limits.HTTPMaxConnections, err = positiveInt(v, 1); return }},
	{name: "http-max-connections-per-address", def: "256", help: "web and Mail API connections open at once from one client address (IPv6: one /64)",
		set: func(c *Config, v string) (err error) { c.Limits.HTTPMaxPerAddress, err = positiveInt(v, 1); return }},
	{name: "http-header-timeout", def: "10s", help: "time a web client has to send a request's header",
		set: func(c *Config, v string) (err error) { c.Limits.HTTPHeaderTimeout, err = positiveDuration(v); return }},
	{name: "http-idle-timeout", def: "2m", help: "how long an idle keep-alive web connection is kept open",
		set: func(c *Config, v string) (err error) { c.Limits.HTTPIdleTimeout, err = positiveDuration(v); return }},
	{name: "smtp-max-connections", def: "100", help: "SMTP gateway connections open at once; more get 421 and are closed",
		set: func(c *Config, v string) (err error) { c.Limits.SMTPMaxConnections, err = positiveInt(v, 1); return }},
	{name: "smtp-max-connections-per-address", def: "10", help: "SMTP gateway connections open at once from one client address (IPv6: one /64)",
		set: func(c *Config, v string) (err error) { c.Limits.SMTPMaxPerAddress, err = positiveInt(v, 1); return }},
	{name: "smtp-first-command-timeout", def: "30s", help: "time a new SMTP or LMTP connection has to send its first command",
		set: func(c *Config, v string) (err error) { c.Limits.SMTPFirstTimeout, err = positiveDuration(v); return }},
	{name: "smtp-idle-timeout", def: "5m", help: "time an SMTP or LMTP client has for each later command (RFC 5321 asks for 5 minutes)",
		set: func(c *Config, v string) (err error) { c.Limits.SMTPIdleTimeout, err = positiveDuration(v); return }},
	{name: "smtp-max-commands", def: "200", help: "SMTP or LMTP commands of any kind without a message; then 421 and the connection closes",
		set: func(c *Config, v string) (err error) { c.Limits.SMTPMaxCommands, err = positiveInt(v, 10); return }},
	{name: "lmtp-max-connections", def: "100", help: "LMTP connections open at once",
		set: func(c *Config, v string) (err error) { c.Limits.LMTPMaxConnections, err = positiveInt(v, 1); return }},
	{name: "lmtp-max-connections-per-address", def: "100", help: "LMTP connections open at once from one client address (not for a unix socket)",
		set: func(c *Config, v string) (err error) { c.Limits.LMTPMaxPerAddress, err = positiveInt(v, 1); return }},
	{name: "spool-threshold", def: "1048576", help: "messages larger than this many bytes are spooled to a file in the data directory's spool/ while they arrive",
		set: func(c *Config, v string) (err error) {
			n, err := positiveInt(v, 1024)
			c.Limits.SpoolThreshold = int64(n)
			return err
		}},
	{name: "max-large-messages", def: "1", help: "spooled (large) messages parsed and stored at once; others wait up to a minute, then get 451",
		set: func(c *Config, v string) (err error) { c.Limits.MaxLargeMessages, err = positiveInt(v, 1); return }},
	{name: "api-max-requests", def: "16", help: "Mail API requests handled at once; more wait up to 5 s for a turn, then get 503 with Retry-After",
		set: func(c *Config, v string) (err error) { c.Limits.APIMaxRequestsAtOnce, err = positiveInt(v, 1); return }},
}

// listenerMetrics counts what the listener limits do, by listener.
type listenerMetrics struct {
	refused *prometheus.CounterVec
}

func newListenerMetrics(reg *prometheus.Registry) *listenerMetrics {
	m := &listenerMetrics{refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketd_connections_refused_total",
		Help: "Connections closed at accept because a listener limit was reached, by listener (http, smtp, lmtp) and limit (total, address).",
	}, []string{"listener", "reason"})}
	reg.MustRegister(m.refused)
	return m
}

// limit wraps ln with the limits of listener name and exports its count
// of open connections.
func (m *listenerMetrics) limit(reg *prometheus.Registry, ln net.Listener, cfg connlimit.Config, log *slog.Logger) net.Listener {
	cfg.Logger = log
	cfg.OnRefuse = func(reason string) { m.refused.WithLabelValues(cfg.Name, reason).Inc() }
	l := connlimit.New(ln, cfg)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "ticketd_connections_open",
		Help:        "Connections open now, by listener.",
		ConstLabels: prometheus.Labels{"listener": cfg.Name},
	}, func() float64 { return float64(l.Open()) }))
	return l
}

// smtpRefusals are the one-line answers of an SMTP or LMTP listener to a
// connection over its limits (RFC 5321 §3.8: 421 closes the channel).
var (
	smtpRefuseTotal   = []byte("421 4.3.2 too many connections, try again later\r\n")
	smtpRefuseAddress = []byte("421 4.7.0 too many connections from your address\r\n")
)

// spoolDir is the directory of spooled messages inside the data directory.
const spoolDir = "spool"

// newSpool makes the spool of large messages in the data directory and
// removes what a daemon that did not stop cleanly left there.
func newSpool(c Config) (*parse.Spool, error) {
	dir := filepath.Join(c.Data, spoolDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("setting data: making the spool directory: %w", err)
	}
	if err := parse.Clean(dir); err != nil {
		return nil, fmt.Errorf("setting data: %w", err)
	}
	return parse.NewSpool(parse.SpoolConfig{Dir: dir, Threshold: c.Limits.SpoolThreshold, MaxLarge: c.Limits.MaxLargeMessages}), nil
}

// parseRaw parses a message posted to the Mail API through the spool.
func parseRaw(spool *parse.Spool, lim parse.Limits) func(io.Reader) (core.InboundMessage, error) {
	return func(r io.Reader) (core.InboundMessage, error) {
		m, release, err := spool.Parse(context.Background(), r, lim)
		release()
		if errors.Is(err, parse.ErrBusy) {
			// Not the message's fault: the client should send it again.
			err = fmt.Errorf("%w: %w", core.ErrUnavailable, err)
		}
		return m, err
	}
}

// smtpConfig is the configuration of the SMTP gateway or, with lmtp, of
// the LMTP server.
func (c *Config) smtpConfig(svc *core.Service, domain string, spool *parse.Spool, tc *tls.Config, lmtp bool, log *slog.Logger) smtpin.Config {
	return smtpin.Config{
		Service:             svc,
		Domain:              domain,
		MaxMessageBytes:     c.MaxMessageSize,
		MaxCommands:         c.Limits.SMTPMaxCommands,
		FirstCommandTimeout: c.Limits.SMTPFirstTimeout,
		IdleTimeout:         c.Limits.SMTPIdleTimeout,
		Spool:               spool,
		LMTP:                lmtp,
		TLSConfig:           tc,
		Logger:              log,
	}
}
