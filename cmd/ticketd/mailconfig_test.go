package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMailTables(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "imap-password")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	file := filepath.Join(dir, "ticketd.toml")
	os.WriteFile(file, []byte(`
outbound = "smtp"

[relay]
host = "smtp.example.com"
username = "ticketd"
password = "relay-pw"
from = "bounces@help.example"
retry_for = "48h"

[[imap]]
host = "imap.example.com"
username = "support@example.com"
password_file = "`+pw+`"

[[imap]]
host = "127.0.0.1"
port = 1143
tls = "none"
username = "sales"
password = "pw"
mailbox = "Sales"
processed = ""
poll_interval = "30s"
`), 0o600)
	c, _, err := loadConfig([]string{"--config", file}, nil, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := RelayConfig{Host: "smtp.example.com", Username: "ticketd", Password: "relay-pw", From: "bounces@help.example", RetryFor: 48 * time.Hour,
		RetryMin: time.Minute, RetryMax: time.Hour}
	if c.Outbound != "smtp" || c.Relay != want {
		t.Errorf("relay = %+v, outbound %q", c.Relay, c.Outbound)
	}
	if len(c.IMAP) != 2 {
		t.Fatalf("imap accounts: %+v", c.IMAP)
	}
	first := IMAPConfig{Host: "imap.example.com", TLS: "implicit", Username: "support@example.com", Password: "s3cret",
		Mailbox: "INBOX", Processed: "Processed", PollInterval: time.Minute}
	second := IMAPConfig{Host: "127.0.0.1", Port: 1143, TLS: "none", Username: "sales", Password: "pw",
		Mailbox: "Sales", Processed: "", PollInterval: 30 * time.Second}
	if c.IMAP[0] != first || c.IMAP[1] != second {
		t.Errorf("imap =\n %+v\n %+v", c.IMAP[0], c.IMAP[1])
	}
	// The environment still wins over the file for plain settings.
	c, _, err = loadConfig([]string{"--config", file}, []string{"TICKETD_OUTBOUND=api"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), `outbound is "api"`) {
		t.Errorf("relay with outbound api: %v", err)
	}
}

func TestMailTableErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		file string
		want string
	}{
		{"outbound = \"smtp\"\n", "needs a [relay]"},
		{"outbound = \"mail\"\n", "not api or smtp"},
		{"outbound = \"smtp\"\n[relay]\nhost = \"h\"\ntls = \"ssl\"\n", `[relay]: tls: "ssl" is not one of starttls, implicit, none`},
		{"outbound = \"smtp\"\n[relay]\nhost = \"h\"\nprot = 25\n", `[relay]: unknown key "prot"`},
		{"outbound = \"smtp\"\n[relay]\nhost = \"h\"\nport = 0\n", "port number"},
		{"outbound = \"smtp\"\n[relay]\nhost = \"h\"\nusername = \"u\"\n", "username and password go together"},
		{"outbound = \"smtp\"\n[relay]\nhost = \"h\"\nretry_for = \"soon\"\n", "retry_for"},
		{"outbound = \"smtp\"\n[relay]\nhost = \"h\"\nretry_min = \"10m\"\nretry_max = \"1m\"\n", "retry_max must not be shorter"},
		{"[[imap]]\nhost = \"h\"\n", "[[imap]] #1: host, username and password"},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\npassword_file = \"/nonexistent/pw\"\n", "password_file: read password file"},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\npassword = \"p\"\npoll_interval = \"1ms\"\n", "poll_interval"},
		{"[imap]\nhost = \"h\"\n", "imap must be an array of tables"},
		{"[[imap]]\nhost = \"imap.example.com:993\"\nusername = \"u\"\npassword = \"p\"\n", "set the port with port"},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\npassword = \"p\"\nprocessed = \"inbox\"\n", `processed = "inbox" is the watched mailbox itself`},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\npassword = \"p\"\nport = 70000\n", "[[imap]] #1: port: must be a port number"},
		{"[[imap]]\nhost = \"h\"\n[[imap]]\nhost = \"i\"\nfolder = \"x\"\n", `[[imap]] #2: unknown key "folder" (known: host, port`},
		{"[[mailbox]]\naddress = \"a@b.example\"\nnmae = \"Sales\"\n", `[[mailbox]] #1: unknown key "nmae" (known: address, name)`},
		{"outbound = \"smtp\"\n[relay]\nhost = \"h\"\nport = \"25\"\n", `line 4 (last key "relay.port")`},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\npassword = \"p\"\nauth = \"kerberos\"\n", `[[imap]] #1: auth: "kerberos" is not one of`},
		{"[relay]\nhost = \"h\"\n[relay.tls]\nmode = \"x\"\n", "relay.tls"},
		{"lmtp = \"nonsense\"\n", "setting lmtp"},
	}
	for i, tt := range tests {
		file := filepath.Join(dir, "c.toml")
		os.WriteFile(file, []byte(tt.file), 0o600)
		_, _, err := loadConfig([]string{"--config", file}, nil, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("#%d %q: error %v, want it to mention %q", i, tt.file, err, tt.want)
		}
	}
}

// TestSettingsDocumented keeps README.md and the example config in step
// with the settings: every setting and table key is documented, and the
// example loads (also with its tables uncommented).
func TestSettingsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../configs/ticketd.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(readme), "`--"+s.name+"`") {
			t.Errorf("README.md does not document --%s", s.name)
		}
		if s.name != "config" && !strings.Contains(string(example), "\n"+s.key()+" = ") {
			t.Errorf("the example config lacks %s", s.key())
		}
	}
	for _, k := range relayKeys {
		if !strings.Contains(string(readme), "`"+k+"`") || !strings.Contains(string(example), k+" = ") {
			t.Errorf("[relay] key %s is not documented in README.md and the example", k)
		}
	}
	for _, k := range imapKeys {
		if !strings.Contains(string(readme), "`"+k+"`") || !strings.Contains(string(example), k+" = ") {
			t.Errorf("[[imap]] key %s is not documented in README.md and the example", k)
		}
	}
	for _, k := range mailboxKeys {
		if !strings.Contains(string(readme), "`"+k+"`") || !strings.Contains(string(example), k+" = ") {
			t.Errorf("[[mailbox]] key %s is not documented in README.md and the example", k)
		}
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	uncommented := strings.NewReplacer("# [relay]", "[relay]", "# [[imap]]", "[[imap]]", "# [[mailbox]]", "[[mailbox]]", `outbound = "api"`, `outbound = "smtp"`,
		"/etc/ticketd/relay-password", pw, "/etc/ticketd/imap-password", pw,
		"/etc/ticketd/oauth-client-secret", pw, "/etc/ticketd/oauth-refresh-token", pw).Replace(string(example))
	var lines []string
	for _, l := range strings.Split(uncommented, "\n") {
		if rest, ok := strings.CutPrefix(l, "# "); ok && strings.Contains(rest, " = ") {
			l = rest
		}
		lines = append(lines, l)
	}
	for name, text := range map[string]string{"as shipped": string(example), "uncommented": strings.Join(lines, "\n")} {
		file := filepath.Join(dir, "example.toml")
		os.WriteFile(file, []byte(text), 0o600)
		if _, _, err := loadConfig([]string{"--config", file}, nil, io.Discard, nil); err != nil {
			t.Errorf("example config %s: %v", name, err)
		}
	}
}
