package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"trivialtickets/core"
)

// RelayConfig is the [relay] table: the SMTP server outgoing mail goes
// through when outbound = "smtp".
type RelayConfig struct {
	Host      string
	Port      int // 0: by TLS mode (587, 465, 25)
	TLS       string
	CAFile    string
	Username  string
	Password  string
	From      string        // envelope sender; default the From of each mail
	HelloName string        // name in EHLO; default the public URL's host
	RetryFor  time.Duration // how long temporary failures are retried
	// RetryMin and RetryMax bound the wait between tries (it doubles).
	RetryMin, RetryMax time.Duration
	OAuth              OAuthConfig // AUTH with an OAuth2 token instead of the password
}

// IMAPConfig is one [[imap]] table: a mailbox the poller reads customer mail
// from.
type IMAPConfig struct {
	Host         string
	Port         int // 0: 993 for implicit TLS, else 143
	TLS          string
	CAFile       string
	Username     string
	Password     string
	Mailbox      string
	Processed    string // folder ingested mail is moved to; "" = only set \Seen
	PollInterval time.Duration
	OAuth        OAuthConfig // log in with an OAuth2 token instead of the password
}

// MailboxConfig is one [[mailbox]] table: a support address with a name.
type MailboxConfig struct {
	Address string
	Name    string
}

// tableKey describes one key of a config table: its documentation and how
// it is set from the TOML value.
type tableKey[T any] struct {
	name string
	help string
	set  func(t *T, v any) error
}

func str(f func(string) error) func(v any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return errors.New("must be a string")
		}
		return f(s)
	}
}

func port(p *int) func(v any) error {
	return func(v any) error {
		n, ok := v.(int64)
		if !ok || n < 1 || n > 65535 {
			return errors.New("must be a port number from 1 to 65535")
		}
		*p = int(n)
		return nil
	}
}

func duration(d *time.Duration, least time.Duration) func(v any) error {
	return str(func(s string) error {
		x, err := time.ParseDuration(s)
		if err != nil || x < least {
			return fmt.Errorf("%q is not a duration of at least %s, such as \"%s\"", s, least, 2*least)
		}
		*d = x
		return nil
	})
}

func oneOf(p *string, allowed ...string) func(v any) error {
	return str(func(s string) error {
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(allowed, ", "))
		}
		*p = s
		return nil
	})
}

func text(p *string) func(v any) error { return str(func(s string) error { *p = s; return nil }) }

func secretFile(p *string) func(v any) error {
	return str(func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read password file: %w", err)
		}
		*p = strings.TrimRight(string(b), "\r\n")
		return nil
	})
}

// relayKeys documents and sets the keys of [relay]; README.md lists them.
var relayKeys = append([]tableKey[RelayConfig]{
	{"host", "relay host name", func(r *RelayConfig, v any) error { return text(&r.Host)(v) }},
	{"port", "relay port; default 587 (starttls), 465 (implicit) or 25 (none)", func(r *RelayConfig, v any) error { return port(&r.Port)(v) }},
	{"tls", `"starttls" (default), "implicit" or "none" (loopback only)`, func(r *RelayConfig, v any) error {
		return oneOf(&r.TLS, "starttls", "implicit", "none")(v)
	}},
	{"ca_file", "PEM file of a CA to trust for the relay, besides the system ones", func(r *RelayConfig, v any) error { return text(&r.CAFile)(v) }},
	{"username", "AUTH user (PLAIN, else LOGIN); empty: no AUTH", func(r *RelayConfig, v any) error { return text(&r.Username)(v) }},
	{"password", "AUTH password", func(r *RelayConfig, v any) error { return text(&r.Password)(v) }},
	{"password_file", "file holding the AUTH password (instead of password)", func(r *RelayConfig, v any) error { return secretFile(&r.Password)(v) }},
	{"from", "envelope sender (MAIL FROM), where bounces go; default the mail's From", func(r *RelayConfig, v any) error { return text(&r.From)(v) }},
	{"hello_name", "name given in EHLO; default the host of public-url", func(r *RelayConfig, v any) error { return text(&r.HelloName)(v) }},
	{"retry_for", `how long temporary failures are retried before the mail is failed (default "96h")`, func(r *RelayConfig, v any) error {
		return duration(&r.RetryFor, time.Minute)(v)
	}},
	{"retry_min", `first wait before retrying a temporary failure; it doubles with each try (default "1m")`, func(r *RelayConfig, v any) error {
		return duration(&r.RetryMin, 100*time.Millisecond)(v)
	}},
	{"retry_max", `longest wait between tries (default "1h")`, func(r *RelayConfig, v any) error {
		return duration(&r.RetryMax, 100*time.Millisecond)(v)
	}},
}, oauthKeys(func(r *RelayConfig) *OAuthConfig { return &r.OAuth })...)

// imapKeys documents and sets the keys of [[imap]]; README.md lists them.
var imapKeys = append([]tableKey[IMAPConfig]{
	{"host", "IMAP server host name", func(c *IMAPConfig, v any) error { return text(&c.Host)(v) }},
	{"port", "IMAP port; default 993 (implicit) or 143", func(c *IMAPConfig, v any) error { return port(&c.Port)(v) }},
	{"tls", `"implicit" (default), "starttls" or "none" (loopback only)`, func(c *IMAPConfig, v any) error {
		return oneOf(&c.TLS, "implicit", "starttls", "none")(v)
	}},
	{"ca_file", "PEM file of a CA to trust for this server, besides the system ones", func(c *IMAPConfig, v any) error { return text(&c.CAFile)(v) }},
	{"username", "login name", func(c *IMAPConfig, v any) error { return text(&c.Username)(v) }},
	{"password", "password", func(c *IMAPConfig, v any) error { return text(&c.Password)(v) }},
	{"password_file", "file holding the password (instead of password)", func(c *IMAPConfig, v any) error { return secretFile(&c.Password)(v) }},
	{"mailbox", `mailbox to read (default "INBOX")`, func(c *IMAPConfig, v any) error { return text(&c.Mailbox)(v) }},
	{"processed", `folder ingested mail is moved to (default "Processed", created if missing); "" only marks it \Seen`, func(c *IMAPConfig, v any) error {
		return text(&c.Processed)(v)
	}},
	{"poll_interval", `how often to look for mail when the server has no IDLE, and to re-check otherwise (default "60s")`, func(c *IMAPConfig, v any) error {
		return duration(&c.PollInterval, time.Second)(v)
	}},
}, oauthKeys(func(c *IMAPConfig) *OAuthConfig { return &c.OAuth })...)

// mailboxKeys documents and sets the keys of [[mailbox]]; README.md lists
// them.
var mailboxKeys = []tableKey[MailboxConfig]{
	{"address", "the support address (it is one without support-address too)", func(m *MailboxConfig, v any) error { return text(&m.Address)(v) }},
	{"name", `the mailbox's name shown on its tickets, e.g. "Sales"`, func(m *MailboxConfig, v any) error { return text(&m.Name)(v) }},
}

// setTable applies the keys of one TOML table to t; where names the table
// in errors.
func setTable[T any](t *T, m map[string]any, keys []tableKey[T], where string) error {
	for k, v := range m {
		i := slices.IndexFunc(keys, func(tk tableKey[T]) bool { return tk.name == k })
		if i < 0 {
			var names []string
			for _, tk := range keys {
				names = append(names, tk.name)
			}
			return fmt.Errorf("%s: unknown key %q (known: %s)", where, k, strings.Join(names, ", "))
		}
		if err := keys[i].set(t, v); err != nil {
			return fmt.Errorf("%s: %s: %w", where, k, err)
		}
	}
	return nil
}

// applyMailTables reads [relay], [[imap]] and [[mailbox]] of a config file.
func applyMailTables(c *Config, path, key string, v any) error {
	switch key {
	case "relay":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("config file %s: relay must be a table: [relay]", path)
		}
		c.Relay = RelayConfig{RetryFor: 96 * time.Hour, RetryMin: time.Minute, RetryMax: time.Hour}
		return setTable(&c.Relay, m, relayKeys, "config file "+path+": [relay]")
	case "imap":
		list, ok := v.([]map[string]any)
		if !ok {
			return fmt.Errorf("config file %s: imap must be an array of tables: [[imap]]", path)
		}
		c.IMAP = nil
		for i, m := range list {
			a := IMAPConfig{TLS: "implicit", Mailbox: "INBOX", Processed: "Processed", PollInterval: time.Minute}
			if err := setTable(&a, m, imapKeys, fmt.Sprintf("config file %s: [[imap]] #%d", path, i+1)); err != nil {
				return err
			}
			c.IMAP = append(c.IMAP, a)
		}
		return nil
	case "mailbox":
		list, ok := v.([]map[string]any)
		if !ok {
			return fmt.Errorf("config file %s: mailbox must be an array of tables: [[mailbox]]", path)
		}
		c.Mailboxes = nil
		for i, m := range list {
			var mb MailboxConfig
			if err := setTable(&mb, m, mailboxKeys, fmt.Sprintf("config file %s: [[mailbox]] #%d", path, i+1)); err != nil {
				return err
			}
			c.Mailboxes = append(c.Mailboxes, mb)
		}
		return nil
	}
	return fmt.Errorf("config file %s: unknown setting %q", path, key)
}

// validateMail checks outbound, [relay] and [[imap]].
func (c *Config) validateMail() error {
	switch c.Outbound {
	case "smtp":
		if c.Relay.Host == "" {
			return errors.New(`setting outbound: "smtp" needs a [relay] table with a host in the config file`)
		}
	case "api":
		if c.Relay.Host != "" {
			return errors.New(`setting outbound: a [relay] is configured but outbound is "api": set outbound = "smtp" to use it, or remove [relay]`)
		}
	}
	if c.Relay.RetryMax < c.Relay.RetryMin {
		return errors.New("[relay]: retry_max must not be shorter than retry_min")
	}
	if c.Relay.OAuth.enabled() {
		if err := c.Relay.OAuth.validate(); err != nil {
			return fmt.Errorf("[relay]: %w", err)
		}
		if c.Relay.Username == "" {
			return errors.New("[relay]: an OAuth2 login needs the username")
		}
	} else if c.Relay.Host != "" && (c.Relay.Username == "") != (c.Relay.Password == "") {
		return errors.New("[relay]: username and password go together: set both or neither")
	}
	for i, a := range c.IMAP {
		if err := a.OAuth.validate(); err != nil {
			return fmt.Errorf("[[imap]] #%d: %w", i+1, err)
		}
		if a.Host == "" || a.Username == "" || (a.Password == "" && !a.OAuth.enabled()) {
			return fmt.Errorf("[[imap]] #%d: host, username and password (or password_file, or auth = \"oauth2\") are required", i+1)
		}
		// Two pollers of one mailbox would share a lease and metrics and
		// fetch the same mail twice over.
		host, port, user, mailbox := a.identity()
		for j, b := range c.IMAP[:i] {
			if h, p, u, m := b.identity(); h == host && p == port && u == user && m == mailbox {
				return fmt.Errorf("[[imap]] #%d repeats #%d (host %s, port %d, username %s, mailbox %s): remove one, or set mailbox to read another folder",
					i+1, j+1, host, port, user, mailbox)
			}
		}
	}
	return nil
}

// validateMailboxes checks the [[mailbox]] tables: an address each, not a
// plus-address, a name, no address twice.
func (c *Config) validateMailboxes() error {
	for i := range c.Mailboxes {
		mb := &c.Mailboxes[i]
		addr, err := core.ParseAddress(mb.Address)
		if err != nil {
			return fmt.Errorf("[[mailbox]] #%d: address: %w", i+1, err)
		}
		if strings.Contains(addr[:strings.LastIndexByte(addr, '@')], "+") {
			return fmt.Errorf("[[mailbox]] #%d: address %q must not contain '+': plus-addresses are made from it", i+1, mb.Address)
		}
		mb.Address = addr
		mb.Name = strings.TrimSpace(mb.Name)
		if mb.Name == "" || len(mb.Name) > 100 || strings.ContainsAny(mb.Name, "\r\n") {
			return fmt.Errorf("[[mailbox]] #%d (%s): name must be one line of 1 to 100 characters, such as \"Sales\"", i+1, addr)
		}
		for j, other := range c.Mailboxes[:i] {
			if strings.EqualFold(other.Address, addr) {
				return fmt.Errorf("[[mailbox]] #%d repeats the address %s of #%d", i+1, addr, j+1)
			}
		}
	}
	return nil
}

// clientTLS is the TLS configuration for a mail server at host: the system
// roots plus the CA in caFile, if any.
func clientTLS(host, caFile string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}
