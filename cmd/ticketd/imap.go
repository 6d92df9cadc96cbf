package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"trivialtickets/core"
	"trivialtickets/mailgw/imappoll"
)

// newDaemonID names one run of the daemon in leases: host, process and a
// random part, so that two daemons never share an identity.
func newDaemonID() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// newPollers makes one IMAP poller per [[imap]] table.
func newPollers(c Config, svc *core.Service, maxBytes int64, log *slog.Logger) ([]*imappoll.Poller, error) {
	var ps []*imappoll.Poller
	for i, a := range c.IMAP {
		tc, err := clientTLS(a.Host, a.CAFile)
		if err != nil {
			return nil, fmt.Errorf("[[imap]] #%d: %w", i+1, err)
		}
		acct := imappoll.Account{Name: a.name(), Host: a.Host, Port: a.Port, TLS: a.TLS, TLSConfig: tc, Username: a.Username,
			Password: a.Password, Mailbox: a.Mailbox, Processed: a.Processed, PollInterval: a.PollInterval}
		if a.OAuth.enabled() {
			src, err := a.OAuth.source()
			if err != nil {
				return nil, fmt.Errorf("[[imap]] #%d: %w", i+1, err)
			}
			acct.OAuth2, acct.AuthMechanism = src, a.OAuth.mechanism()
		}
		p, err := imappoll.New(imappoll.Config{
			Account:         acct,
			Receiver:        svc,
			MaxMessageBytes: maxBytes,
			Logger:          log,
		})
		if err != nil {
			return nil, fmt.Errorf("[[imap]] #%d: %w", i+1, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// pollerStatus is the /healthz line of one IMAP account.
func pollerStatus(p *imappoll.Poller, held bool) string {
	s := p.Status()
	if !held {
		return fmt.Sprintf("imap %s: polled by another daemon", s.Account)
	}
	line := fmt.Sprintf("imap %s: ", s.Account)
	switch {
	case s.LastError != "" && !s.LastErrorAt.Before(s.LastSuccess):
		line += fmt.Sprintf("FAILING since %s: %s", s.LastErrorAt.UTC().Format(time.RFC3339), s.LastError)
	case s.Connected:
		line += "ok"
	default:
		line += "connecting"
	}
	if !s.LastSuccess.IsZero() {
		line += ", last successful check " + s.LastSuccess.UTC().Format(time.RFC3339)
	}
	return line + fmt.Sprintf(", %d ingested, %d rejected", s.Ingested, s.Rejected)
}

// addPoller exports one IMAP account's state. The labels tell apart
// several tables of one login (another port or mailbox).
func (m *metrics) addPoller(p *imappoll.Poller, a IMAPConfig) {
	host, port, user, mailbox := a.identity()
	labels := prometheus.Labels{"account": p.Status().Account, "host": host, "port": strconv.Itoa(port),
		"user": user, "mailbox": mailbox}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ticketd_imap_connected", ConstLabels: labels,
			Help: "1 while this daemon is logged in to the IMAP account with its mailbox selected."},
			func() float64 {
				if p.Status().Connected {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ticketd_imap_last_success_timestamp_seconds", ConstLabels: labels,
			Help: "Unix time of the last successful check of the IMAP account's mailbox (0: none yet)."},
			func() float64 {
				if t := p.Status().LastSuccess; !t.IsZero() {
					return float64(t.UnixNano()) / 1e9
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ticketd_imap_ingested_total", ConstLabels: labels,
			Help: "Messages ingested from the IMAP account by this daemon."},
			func() float64 { return float64(p.Status().Ingested) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ticketd_imap_rejected_total", ConstLabels: labels,
			Help: "Messages of the IMAP account flagged as unreadable or too large."},
			func() float64 { return float64(p.Status().Rejected) }),
	)
}

// effectivePort is the port the poller connects to: the configured one, or
// the default of the TLS mode.
func (a IMAPConfig) effectivePort() int {
	switch {
	case a.Port != 0:
		return a.Port
	case a.TLS == "implicit" || a.TLS == "":
		return 993
	}
	return 143
}

// identity is what tells one [[imap]] table from another: the server (host
// in lower case and port), the login and the mailbox (INBOX in any case is
// INBOX, RFC 3501 §5.1).
func (a IMAPConfig) identity() (host string, port int, user, mailbox string) {
	mailbox = a.Mailbox
	if mailbox == "" || strings.EqualFold(mailbox, "INBOX") {
		mailbox = "INBOX"
	}
	return strings.ToLower(strings.TrimSpace(a.Host)), a.effectivePort(), a.Username, mailbox
}

// name is the account's name in logs, /healthz and metrics.
func (a IMAPConfig) name() string {
	host, port, user, mailbox := a.identity()
	return fmt.Sprintf("%s on %s, %s", user, net.JoinHostPort(host, strconv.Itoa(port)), mailbox)
}

// lease is the name of the lease under which one daemon of several polls
// the account's mailbox.
func (a IMAPConfig) lease() string {
	host, port, user, mailbox := a.identity()
	return fmt.Sprintf("imap:%s:%d:%s:%s", host, port, user, mailbox)
}
