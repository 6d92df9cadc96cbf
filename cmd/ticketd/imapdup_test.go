package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trivialtickets/mailgw/dovecottest"
)

// TestIMAPSameLoginTwoMailboxes runs the daemon with two [[imap]] tables of
// one Dovecot login, INBOX and a second folder: it starts (no duplicate
// metrics registration), both accounts are polled under leases of their
// own, the metrics tell them apart, and mail in the second folder becomes a
// ticket.
func TestIMAPSameLoginTwoMailboxes(t *testing.T) {
	dove := dovecottest.Start(t)
	c := dialDovecot(t, dove)
	if err := c.Create("Sales", nil).Wait(); err != nil {
		t.Fatalf("create Sales: %v", err)
	}
	c.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "ticketd.toml")
	table := `
[[imap]]
host = "127.0.0.1"
port = %d
tls = "none"
username = %q
password = %q
mailbox = %q
processed = %q
poll_interval = "1h"
`
	os.WriteFile(conf, fmt.Appendf(nil, table+table, dove.Port, dove.User, dove.Password, "INBOX", "Processed",
		dove.Port, dove.User, dove.Password, "Sales", "Sales-done"), 0o600)
	url, stop := startDaemon(t, "--config", conf, "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0",
		"--no-tls", "--smtp", "", "--support-address", "help@help.example")
	defer stop()

	wait := func(what string, cond func(string) bool, get func() string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := get()
			if cond(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 15s:\n%s", what, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	inbox := fmt.Sprintf("imap %s on 127.0.0.1:%d, INBOX: ok", dove.User, dove.Port)
	sales := fmt.Sprintf("imap %s on 127.0.0.1:%d, Sales: ok", dove.User, dove.Port)
	wait("both mailboxes are polled", func(h string) bool { return strings.Contains(h, inbox) && strings.Contains(h, sales) },
		func() string { return healthz(t, url) })

	c = dialDovecot(t, dove)
	raw := "From: buyer@example.org\r\nTo: sales@help.example\r\nSubject: Quote\r\nMessage-ID: <sales-1@example.org>\r\n\r\nA quote, please.\r\n"
	cmd := c.Append("Sales", int64(len(raw)), nil)
	cmd.Write([]byte(raw))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to Sales: %v", err)
	}
	c.Close()
	wait("the mail in Sales is ingested", func(h string) bool {
		for l := range strings.Lines(h) {
			if strings.Contains(l, sales) && strings.Contains(l, " 1 ingested") {
				return true
			}
		}
		return false
	}, func() string { return healthz(t, url) })

	metrics := func() string {
		req, _ := http.NewRequest("GET", url+"/metrics", nil)
		token, _ := os.ReadFile(filepath.Join(dir, "data", metricsTokenFile))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := metrics()
	for _, mb := range []string{"INBOX", "Sales"} {
		if !strings.Contains(m, fmt.Sprintf(`ticketd_imap_connected{account=%q,host="127.0.0.1",mailbox=%q,port="%d",user=%q} 1`,
			fmt.Sprintf("%s on 127.0.0.1:%d, %s", dove.User, dove.Port, mb), mb, dove.Port, dove.User)) {
			t.Errorf("metrics lack the connected gauge of %s:\n%s", mb, m)
		}
	}
}

// TestIMAPDuplicateTables refuses two tables of one host, port, login and
// mailbox at start, naming both; another port or mailbox is no duplicate.
func TestIMAPDuplicateTables(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		second string
		want   string // "" = accepted
	}{
		{`host = "IMAP.example.com"` + "\nport = 993\nusername = \"support\"\npassword = \"p\"\nmailbox = \"inbox\"", "[[imap]] #2 repeats #1 (host imap.example.com, port 993, username support, mailbox INBOX)"},
		{`host = "imap.example.com"` + "\nusername = \"support\"\npassword = \"p\"", "[[imap]] #2 repeats #1"},
		{`host = "imap.example.com"` + "\nusername = \"support\"\npassword = \"p\"\nmailbox = \"Sales\"", ""},
		{`host = "imap.example.com"` + "\nport = 1993\nusername = \"support\"\npassword = \"p\"", ""},
		{`host = "imap.example.com"` + "\nusername = \"sales\"\npassword = \"p\"", ""},
	}
	for i, tt := range tests {
		file := filepath.Join(dir, "c.toml")
		os.WriteFile(file, []byte("[[imap]]\nhost = \"imap.example.com\"\nusername = \"support\"\npassword = \"p\"\n\n[[imap]]\n"+tt.second+"\n"), 0o600)
		c, _, err := loadConfig([]string{"--config", file}, nil, io.Discard, nil)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("#%d: %v", i, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("#%d: error %v, want it to contain %q", i, err, tt.want)
		case err == nil && c.IMAP[0].lease() == c.IMAP[1].lease():
			t.Errorf("#%d: both tables have the lease %q", i, c.IMAP[0].lease())
		}
	}
}
