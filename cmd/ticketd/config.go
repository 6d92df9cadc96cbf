package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"trivialtickets/core"
	"trivialtickets/webui"
)

// Config is the daemon's whole configuration after defaults, the config
// file, TICKETD_* environment variables and flags (in that order, the later
// overriding the earlier: flag > environment > file > default) were
// applied.
type Config struct {
	ConfigFile       string
	Data             string
	HTTP             string
	TLSCert          string
	TLSKey           string
	NoTLS            bool
	PublicURL        string
	SMTP             string
	SupportAddresses []string
	FromAddress      string
	Database         string
	NoAPIToken       bool
	MaxMessageSize   int64
	AutoReplyLimit   int
	LogLevel         string
	LogFormat        string
	ShutdownTimeout  time.Duration
	DebugListen      string      // address of the pprof server; empty = off
	Outbound         string      // "api" or "smtp"
	LMTP             string      // LMTP listen address: host:port or unix:/path; empty = off
	LMTPSocketMode   os.FileMode // permissions of the LMTP unix socket
	LMTPSocketGroup  string      // group of the LMTP unix socket; empty = the daemon's
	Relay            RelayConfig
	IMAP             []IMAPConfig
	Retention        time.Duration // delete tickets closed for longer; 0 = keep forever

	FormRate         webui.Rate      // anonymous forms per client address; zero: no limit
	APIRate          webui.Rate      // Mail API requests per client address; zero: no limit
	MetricsListen    string          // address of a listener of its own for /metrics; empty: on the web port behind the token
	MetricsTokenFile string          // file with the bearer token of /metrics on the web port; empty: metrics-token in the data directory
	StoreTimeout     time.Duration   // time budget of one store transaction
	Mailboxes        []MailboxConfig // [[mailbox]]: named support addresses
	Limits           NetLimits       // limits.go
	TimeZone         string          // IANA zone of agents without their own
	InboundMaxQueued int             // inbound queue rows before the mail doors answer 451 (inqueue.go)
	Runtime          RuntimeConfig   // the garbage collector of serve (runtime.go)
}

// setting is one configuration value: its flag name (the TOML key is the
// same with '_' for '-', the variable TICKETD_ plus the key in upper case),
// its default as text, its documentation and how it is set.
type setting struct {
	name       string
	def        string
	help       string
	repeatable bool
	set        func(c *Config, v string) error
}

func (s setting) key() string { return strings.ReplaceAll(s.name, "-", "_") }
func (s setting) env() string { return "TICKETD_" + strings.ToUpper(s.key()) }

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", v)
	}
	return b, nil
}

// settings lists every setting; README.md documents the same list.
var settings = []setting{
	{name: "config", help: "TOML configuration file", set: func(c *Config, v string) error { c.ConfigFile = v; return nil }},
	{name: "data", def: "./data", help: "data directory: SQLite database, generated certificate and key, Mail API token",
		set: func(c *Config, v string) error { c.Data = v; return nil }},
	{name: "http", def: ":8443", help: "listen address of the web interface and the Mail API",
		set: func(c *Config, v string) error { c.HTTP = v; return nil }},
	{name: "tls-cert", help: "TLS certificate file (PEM); default: a self-signed one made in the data directory",
		set: func(c *Config, v string) error { c.TLSCert = v; return nil }},
	{name: "tls-key", help: "TLS private key file (PEM) belonging to tls-cert",
		set: func(c *Config, v string) error { c.TLSKey = v; return nil }},
	{name: "no-tls", def: "false", help: "serve plain HTTP (only behind a TLS-terminating proxy)",
		set: func(c *Config, v string) (err error) { c.NoTLS, err = parseBool(v); return }},
	{name: "public-url", help: "base URL of ticket links in mails; default from the listen address, e.g. https://localhost:8443",
		set: func(c *Config, v string) error { c.PublicURL = v; return nil }},
	{name: "smtp", def: ":2525", help: "listen address of the SMTP gateway for customer mail; empty switches it off",
		set: func(c *Config, v string) error { c.SMTP = v; return nil }},
	{name: "support-address", def: core.DefaultSupportAddress, repeatable: true,
		help: "address customers write to (repeatable; the first is the base of reply plus-addresses)",
		set:  func(c *Config, v string) error { c.SupportAddresses = append(c.SupportAddresses, v); return nil }},
	{name: "from-address", help: "From address of outgoing mail; default the first support address",
		set: func(c *Config, v string) error { c.FromAddress = v; return nil }},
	{name: "lmtp", help: "LMTP listen address for a local MTA (Postfix, Exim) to hand mail over: host:port or unix:/path/to/socket; empty: off",
		set: func(c *Config, v string) error { c.LMTP = v; return nil }},
	{name: "lmtp-socket-mode", def: "0660", help: "permissions (octal) of the LMTP unix socket; the MTA's user needs write permission, e.g. through lmtp-socket-group",
		set: func(c *Config, v string) error {
			// The leading 0 is required, so that a TOML number (0o660
			// arrives as 432) is not taken for a different mode.
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o777 || !strings.HasPrefix(v, "0") {
				return fmt.Errorf("%q is not an octal permission with a leading 0 such as \"0660\" (in the config file, a string)", v)
			}
			c.LMTPSocketMode = os.FileMode(m)
			return nil
		}},
	{name: "lmtp-socket-group", help: "group (name or number) the LMTP unix socket is given, such as postfix; the daemon's user must be a member; empty: the daemon's group",
		set: func(c *Config, v string) error { c.LMTPSocketGroup = v; return nil }},
	{name: "outbound", def: "api", help: `how outgoing mail leaves: "api" (a mail service fetches it over the Mail API) or "smtp" (through the [relay] of the config file)`,
		set: func(c *Config, v string) error {
			if v != "api" && v != "smtp" {
				return fmt.Errorf("%q is not api or smtp", v)
			}
			c.Outbound = v
			return nil
		}},
	{name: "database", help: "PostgreSQL URL (postgres://user:password@host:5432/dbname) for several daemons on one database; empty: SQLite in the data directory",
		set: func(c *Config, v string) error { c.Database = v; return nil }},
	{name: "no-api-token", def: "false", help: "switch off the Mail API's bearer token check (local testing only)",
		set: func(c *Config, v string) (err error) { c.NoAPIToken, err = parseBool(v); return }},
	{name: "max-message-size", def: "26214400", help: "largest message accepted through the Mail API, in bytes",
		set: func(c *Config, v string) (err error) {
			c.MaxMessageSize, err = strconv.ParseInt(v, 10, 64)
			if err != nil || c.MaxMessageSize < 1024 {
				return fmt.Errorf("%q is not a number of bytes of at least 1024", v)
			}
			return nil
		}},
	{name: "auto-reply-limit", def: "10", help: "most automatic mails (confirmations) to one address per hour",
		set: func(c *Config, v string) (err error) {
			c.AutoReplyLimit, err = strconv.Atoi(v)
			if err != nil || c.AutoReplyLimit < 1 {
				return fmt.Errorf("%q is not a whole number of at least 1", v)
			}
			return nil
		}},
	{name: "log-level", def: "info", help: "least important log level shown: debug, info, warn or error",
		set: func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return fmt.Errorf("%q is not debug, info, warn or error", v)
		}},
	{name: "log-format", def: "text", help: "log format: text or json",
		set: func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("%q is not text or json", v)
			}
			c.LogFormat = v
			return nil
		}},
	{name: "shutdown-timeout", def: "10s", help: "how long a shutdown waits for requests in flight",
		set: func(c *Config, v string) (err error) {
			c.ShutdownTimeout, err = time.ParseDuration(v)
			if err != nil || c.ShutdownTimeout <= 0 {
				return fmt.Errorf("%q is not a positive duration such as 10s", v)
			}
			return nil
		}},
	{name: "form-rate-limit", def: "20/1h", help: "most anonymous forms (new tickets, customer comments) per client address, as requests/duration; 0: no limit",
		set: func(c *Config, v string) (err error) { c.FormRate, err = webui.ParseRate(v); return }},
	{name: "api-rate-limit", def: "0", help: "most Mail API requests per client address, as requests/duration such as 600/1m; 0: no limit",
		set: func(c *Config, v string) (err error) { c.APIRate, err = webui.ParseRate(v); return }},
	{name: "metrics-listen", help: "serve /metrics without a token on a listener of its own, such as 127.0.0.1:9090 (keep it private); empty: /metrics on the web port with a bearer token",
		set: func(c *Config, v string) error { c.MetricsListen = v; return nil }},
	{name: "metrics-token-file", help: "file with the bearer token that /metrics on the web port requires; default metrics-token in the data directory, made on first start",
		set: func(c *Config, v string) error { c.MetricsTokenFile = v; return nil }},
	{name: "debug-listen", help: "listen address of a debug server with Go's profiles under /debug/pprof/, such as 127.0.0.1:6060; keep it on loopback, it has no login; empty: off",
		set: func(c *Config, v string) error { c.DebugListen = v; return nil }},
	{name: "retention", help: "delete tickets closed (and unchanged) for longer than this, with their entries, attachments and mails: days such as 730d, or a duration such as 17520h; empty or 0: keep forever",
		set: func(c *Config, v string) (err error) { c.Retention, err = parseRetention(v); return }},
	{name: "store-timeout", def: "15s", help: "time budget of each database transaction of a request or message; beyond it the request gets 503 (SMTP/LMTP 451) and nothing is stored",
		set: func(c *Config, v string) (err error) {
			c.StoreTimeout, err = time.ParseDuration(v)
			if err != nil || c.StoreTimeout < 100*time.Millisecond || c.StoreTimeout > 10*time.Minute {
				return fmt.Errorf("%q is not a duration from 100ms to 10m, such as 15s", v)
			}
			return nil
		}},
	{name: "time-zone", def: core.DefaultTimeZone, help: "IANA time zone agents read times in unless they chose their own, e.g. Europe/Berlin",
		set: func(c *Config, v string) error {
			if err := core.CheckTimeZone(v); err != nil {
				return fmt.Errorf("setting time-zone: %w", err)
			}
			c.TimeZone = v
			return nil
		}},
}

// settingValue adapts a setting to flag.Value: it records what was given,
// to be applied after the config file.
type settingValue struct {
	s    setting
	vals []string
	bool bool
}

func (v *settingValue) String() string   { return strings.Join(v.vals, ",") }
func (v *settingValue) IsBoolFlag() bool { return v.bool }
func (v *settingValue) Set(val string) error {
	if !v.s.repeatable {
		v.vals = v.vals[:0]
	}
	// Check now, so that the error names the flag at once.
	var scratch Config
	if err := v.s.set(&scratch, val); err != nil {
		return err
	}
	v.vals = append(v.vals, val)
	return nil
}

// loadConfig builds the configuration from the defaults, the config file,
// env and args (lowest to highest precedence). It returns the positional
// arguments (the command). extra may define more flags (a command's own).
func loadConfig(args, env []string, stderr io.Writer, extra func(fs *flag.FlagSet)) (Config, []string, error) {
	var c Config
	for _, s := range settings {
		if s.def != "" {
			if err := s.set(&c, s.def); err != nil {
				panic("bad default of " + s.name + ": " + err.Error())
			}
		}
	}
	c.Runtime.fromEnv(env)
	envMap := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "TICKETD_") {
			envMap[k] = v
		}
	}

	fs := flag.NewFlagSet("ticketd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(fs.Output()) }
	given := make([]*settingValue, len(settings))
	for i, s := range settings {
		given[i] = &settingValue{s: s, bool: strings.HasPrefix(s.name, "no-")}
		fs.Var(given[i], s.name, s.help)
	}
	if extra != nil {
		extra(fs)
	}
	positional, err := parseMixed(fs, args)
	if err != nil {
		return c, nil, err
	}

	file := ""
	if v, ok := envMap["TICKETD_CONFIG"]; ok {
		file = v
	}
	if g := given[0]; len(g.vals) > 0 {
		file = g.vals[0]
	}
	if file != "" {
		if err := applyFile(&c, file); err != nil {
			return c, nil, err
		}
		c.ConfigFile = file
	}
	if err := c.applyOverrides(envMap, given); err != nil {
		return c, nil, err
	}
	if err := c.validate(); err != nil {
		return c, nil, err
	}
	return c, positional, nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// applyFile reads a TOML config file into c. Unknown keys are errors, so
// that a typo does not go unnoticed.
func applyFile(c *Config, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var m map[string]any
	if _, err := toml.Decode(string(raw), &m); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	byKey := map[string]setting{}
	for _, s := range settings {
		byKey[s.key()] = s
	}
	if err := applyMailTables(c, path, string(raw), m); err != nil {
		return err
	}
	fresh := false
	for k, v := range m {
		if k == "relay" || k == "imap" || k == "mailbox" {
			continue
		}
		s, ok := byKey[k]
		if !ok || k == "config" {
			return fmt.Errorf("config file %s: unknown setting %q", path, k)
		}
		var vals []string
		switch v := v.(type) {
		case string:
			vals = []string{v}
		case bool:
			vals = []string{strconv.FormatBool(v)}
		case int64:
			vals = []string{strconv.FormatInt(v, 10)}
		case []any:
			if !s.repeatable {
				return fmt.Errorf("config file %s: setting %q takes one value, not a list", path, k)
			}
			for _, e := range v {
				str, ok := e.(string)
				if !ok {
					return fmt.Errorf("config file %s: setting %q: the list must hold strings", path, k)
				}
				vals = append(vals, str)
			}
		default:
			return fmt.Errorf("config file %s: setting %q has a value of the wrong kind", path, k)
		}
		if s.repeatable && !fresh {
			c.SupportAddresses = nil
			fresh = true
		}
		for _, val := range vals {
			if err := s.set(c, val); err != nil {
				return fmt.Errorf("config file %s: setting %q: %w", path, k, err)
			}
		}
	}
	return nil
}

// validate checks the settings that depend on each other or on syntax.
func (c *Config) validate() error {
	if c.Data == "" {
		return errors.New("setting data: the data directory must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
		return fmt.Errorf("setting http: %q is not host:port (e.g. :8443 or 127.0.0.1:8443)", c.HTTP)
	}
	if c.SMTP != "" {
		if _, _, err := net.SplitHostPort(c.SMTP); err != nil {
			return fmt.Errorf("setting smtp: %q is not host:port (e.g. :2525), or empty to switch the gateway off", c.SMTP)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("settings tls-cert and tls-key: give both or neither")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("setting public-url: %q is not an http(s) URL like https://help.example.com", c.PublicURL)
		}
	}
	if len(c.SupportAddresses) == 0 {
		return errors.New("setting support-address: give at least one address")
	}
	if err := c.normalizeAddresses(); err != nil {
		return err
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return fmt.Errorf("setting metrics-listen: %q is not host:port (e.g. 127.0.0.1:9090)", c.MetricsListen)
		}
	}
	if c.LMTP != "" && !strings.HasPrefix(c.LMTP, "unix:") {
		if _, _, err := net.SplitHostPort(c.LMTP); err != nil {
			return fmt.Errorf("setting lmtp: %q is not host:port or unix:/path/to/socket", c.LMTP)
		}
	}
	if err := c.validateMail(); err != nil {
		return err
	}
	if err := c.validateMailboxes(); err != nil {
		return err
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return fmt.Errorf("setting database: %q: use a postgres://user:password@host:5432/dbname URL, or leave it empty for SQLite in the data directory", redactURL(c.Database))
	}
	return nil
}

// publicURL is the configured public URL or one derived from the listen
// address.
func (c *Config) publicURL(listen net.Addr) string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "https"
	if c.NoTLS {
		scheme = "http"
	}
	host, port, err := net.SplitHostPort(listen.String())
	if err != nil {
		return scheme + "://localhost"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: ticketd [flags] [command]

Commands:
  serve                     run the daemon (the default)
  user add NAME [--name N]  add an agent; the password is read from the terminal or stdin
  user edit NAME [--email ADDRESS] [--notify new,assigned,reply]
                            set an agent's e-mail address ("" removes it) and notifications
                            (also with user add; default notify: assigned,reply)
  user list                 list the agents
  user passwd NAME          set an agent's password (ends their sessions)
  user remove NAME          remove an agent (releases their tickets)
  migrate-store --to URL    copy the SQLite data directory into an empty PostgreSQL database (stop the daemon first)
  backup FILE               copy the SQLite database to FILE, consistent and checked, while the daemon runs
                            (PostgreSQL: use pg_dump; the command says how)
  restore FILE              restore a backup into an empty data directory (--data); an older schema is upgraded
  customer export ADDRESS   print everything stored about a customer address as one JSON document
  customer erase ADDRESS    delete everything stored about a customer address, and say what was deleted
  version                   print the version

Settings (flag, TICKETD_ variable, config file key; later sources win:
defaults < config file < environment < flags):
`)
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "  --%s  %s  %s\n      %s%s\n", s.name, s.env(), s.key(), s.help, def)
	}
}

// redactURL hides the password of a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
