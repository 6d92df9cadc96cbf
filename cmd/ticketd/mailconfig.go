package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"trivialtickets/core"
	"trivialtickets/mailgw/imappoll"
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

// relayTable is [relay] as written in the config file; README.md
// documents its keys. Pointers tell a key that is missing from one set to
// its zero value.
type relayTable struct {
	Host         string  `toml:"host"`
	Port         *int64  `toml:"port"` // default by tls: 587, 465 or 25
	TLS          *string `toml:"tls"`  // "starttls" (default), "implicit" or "none"
	CAFile       string  `toml:"ca_file"`
	Username     string  `toml:"username"`
	Password     string  `toml:"password"`
	PasswordFile *string `toml:"password_file"`
	From         string  `toml:"from"`
	HelloName    string  `toml:"hello_name"`
	RetryFor     *string `toml:"retry_for"` // default "96h"
	RetryMin     *string `toml:"retry_min"` // default "1m"
	RetryMax     *string `toml:"retry_max"` // default "1h"
	oauthTable
}

// imapTable is one [[imap]] table as written in the config file.
type imapTable struct {
	Host         string  `toml:"host"`
	Port         *int64  `toml:"port"` // default 993 (implicit) or 143
	TLS          *string `toml:"tls"`  // "implicit" (default), "starttls" or "none"
	CAFile       string  `toml:"ca_file"`
	Username     string  `toml:"username"`
	Password     string  `toml:"password"`
	PasswordFile *string `toml:"password_file"`
	Mailbox      *string `toml:"mailbox"`       // default "INBOX"
	Processed    *string `toml:"processed"`     // default "Processed"; "" only sets \Seen
	PollInterval *string `toml:"poll_interval"` // default "60s"
	oauthTable
}

// mailboxTable is one [[mailbox]] table.
type mailboxTable struct {
	Address string `toml:"address"`
	Name    string `toml:"name"`
}

// mailFile is the part of the config file that holds tables.
type mailFile struct {
	Relay   *relayTable    `toml:"relay"`
	IMAP    []imapTable    `toml:"imap"`
	Mailbox []mailboxTable `toml:"mailbox"`
}

// The keys of each table, for the message about an unknown key and the
// test that keeps README.md complete.
var (
	relayKeys   = tomlKeys(reflect.TypeFor[relayTable]())
	imapKeys    = tomlKeys(reflect.TypeFor[imapTable]())
	mailboxKeys = tomlKeys(reflect.TypeFor[mailboxTable]())
)

// tomlKeys lists the toml tags of struct type t, embedded structs
// included.
func tomlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if f.Anonymous {
			keys = append(keys, tomlKeys(f.Type)...)
		} else if k := f.Tag.Get("toml"); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// applyMailTables reads [relay], [[imap]] and [[mailbox]] of the config
// file at path: raw is its text, m the same decoded as a map.
func applyMailTables(c *Config, path, raw string, m map[string]any) error {
	for _, t := range []struct {
		key, shape string
		array      bool
	}{{"relay", "a table: [relay]", false}, {"imap", "an array of tables: [[imap]]", true}, {"mailbox", "an array of tables: [[mailbox]]", true}} {
		v, ok := m[t.key]
		if !ok {
			continue
		}
		_, table := v.(map[string]any)
		_, tables := v.([]map[string]any)
		if t.array && !tables || !t.array && !table {
			return fmt.Errorf("config file %s: %s must be %s", path, t.key, t.shape)
		}
	}
	var f mailFile
	md, err := toml.Decode(raw, &f)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if err := unknownTableKey(md, m); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if f.Relay != nil {
		if c.Relay, err = f.Relay.config(); err != nil {
			return fmt.Errorf("config file %s: [relay]: %w", path, err)
		}
	}
	if _, ok := m["imap"]; ok {
		c.IMAP = nil
	}
	for i, t := range f.IMAP {
		a, err := t.config()
		if err != nil {
			return fmt.Errorf("config file %s: [[imap]] #%d: %w", path, i+1, err)
		}
		c.IMAP = append(c.IMAP, a)
	}
	if _, ok := m["mailbox"]; ok {
		c.Mailboxes = nil
	}
	for _, t := range f.Mailbox {
		c.Mailboxes = append(c.Mailboxes, MailboxConfig(t))
	}
	return nil
}

// unknownTableKey reports the first key of a table that the decoder left
// over, naming the table (and which one of an array) and the known keys.
func unknownTableKey(md toml.MetaData, m map[string]any) error {
	for _, k := range md.Undecoded() {
		if len(k) < 2 {
			continue // a plain setting; applyFile reads those
		}
		switch k[0] {
		case "relay":
			return fmt.Errorf("[relay]: unknown key %q (known: %s)", k[1:].String(), strings.Join(relayKeys, ", "))
		case "imap", "mailbox":
			known := imapKeys
			if k[0] == "mailbox" {
				known = mailboxKeys
			}
			n := 0
			for i, t := range m[k[0]].([]map[string]any) {
				if _, ok := t[k[1]]; ok {
					n = i + 1
					break
				}
			}
			return fmt.Errorf("[[%s]] #%d: unknown key %q (known: %s)", k[0], n, k[1:].String(), strings.Join(known, ", "))
		}
	}
	return nil
}

// config checks [relay] and applies its defaults.
func (t *relayTable) config() (RelayConfig, error) {
	r := RelayConfig{Host: t.Host, CAFile: t.CAFile, Username: t.Username, Password: t.Password,
		From: t.From, HelloName: t.HelloName, RetryFor: 96 * time.Hour, RetryMin: time.Minute, RetryMax: time.Hour}
	var k keyChecks
	k.port("port", &r.Port, t.Port)
	k.oneOf("tls", &r.TLS, t.TLS, "starttls", "implicit", "none")
	k.secretFile("password_file", &r.Password, t.PasswordFile)
	k.duration("retry_for", &r.RetryFor, t.RetryFor, time.Minute)
	k.duration("retry_min", &r.RetryMin, t.RetryMin, 100*time.Millisecond)
	k.duration("retry_max", &r.RetryMax, t.RetryMax, 100*time.Millisecond)
	r.OAuth = t.oauthTable.config(&k)
	return r, k.err
}

// config checks one [[imap]] table and applies its defaults.
func (t *imapTable) config() (IMAPConfig, error) {
	a := IMAPConfig{Host: t.Host, TLS: "implicit", CAFile: t.CAFile, Username: t.Username, Password: t.Password,
		Mailbox: "INBOX", Processed: "Processed", PollInterval: time.Minute}
	var k keyChecks
	k.port("port", &a.Port, t.Port)
	k.oneOf("tls", &a.TLS, t.TLS, "implicit", "starttls", "none")
	k.secretFile("password_file", &a.Password, t.PasswordFile)
	k.text(&a.Mailbox, t.Mailbox)
	k.text(&a.Processed, t.Processed)
	k.duration("poll_interval", &a.PollInterval, t.PollInterval, imappoll.MinPollInterval)
	a.OAuth = t.oauthTable.config(&k)
	return a, k.err
}

// keyChecks checks and converts the values of one table; err is the first
// error, naming its key.
type keyChecks struct {
	err error
}

func (k *keyChecks) fail(key string, err error) {
	if k.err == nil {
		k.err = fmt.Errorf("%s: %w", key, err)
	}
}

func (k *keyChecks) text(dst, v *string) {
	if v != nil {
		*dst = *v
	}
}

func (k *keyChecks) port(key string, dst *int, v *int64) {
	switch {
	case v == nil:
	case *v < 1 || *v > 65535:
		k.fail(key, errors.New("must be a port number from 1 to 65535"))
	default:
		*dst = int(*v)
	}
}

func (k *keyChecks) duration(key string, dst *time.Duration, v *string, least time.Duration) {
	if v == nil {
		return
	}
	d, err := time.ParseDuration(*v)
	if err != nil || d < least {
		k.fail(key, fmt.Errorf("%q is not a duration of at least %s, such as \"%s\"", *v, least, 2*least))
		return
	}
	*dst = d
}

func (k *keyChecks) oneOf(key string, dst, v *string, allowed ...string) {
	switch {
	case v == nil:
	case !slices.Contains(allowed, *v):
		k.fail(key, fmt.Errorf("%q is not one of %s", *v, strings.Join(allowed, ", ")))
	default:
		*dst = *v
	}
}

func (k *keyChecks) secretFile(key string, dst, path *string) {
	if path == nil {
		return
	}
	b, err := os.ReadFile(*path)
	if err != nil {
		k.fail(key, fmt.Errorf("read password file: %w", err))
		return
	}
	*dst = strings.TrimRight(string(b), "\r\n")
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
	return c.validateIMAP()
}

// validateIMAP checks the [[imap]] tables: each complete, none twice.
func (c *Config) validateIMAP() error {
	for i, a := range c.IMAP {
		if err := a.OAuth.validate(); err != nil {
			return fmt.Errorf("[[imap]] #%d: %w", i+1, err)
		}
		if a.Host == "" || a.Username == "" || (a.Password == "" && !a.OAuth.enabled()) {
			return fmt.Errorf("[[imap]] #%d: host, username and password (or password_file, or auth = \"oauth2\") are required", i+1)
		}
		if h := strings.TrimSpace(a.Host); strings.ContainsAny(h, " \t/") || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
			return fmt.Errorf("[[imap]] #%d: host %q is not a host name or IP address (set the port with port, not in host)", i+1, a.Host)
		}
		if a.Processed != "" && strings.EqualFold(a.Processed, a.Mailbox) {
			return fmt.Errorf("[[imap]] #%d: processed = %q is the watched mailbox itself: name another folder, or set processed = \"\"", i+1, a.Processed)
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
