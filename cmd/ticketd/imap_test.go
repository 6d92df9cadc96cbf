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

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"trivialtickets/mailgw/dovecottest"
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/webui/mailapi/client"
)

// dialDovecot logs in to the Dovecot user's mailbox; the test closes the
// connection at its end.
func dialDovecot(t *testing.T, d *dovecottest.Server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(d.Addr(), nil)
	if err != nil {
		t.Fatalf("dial Dovecot: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(d.User, d.Password).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

// appendRaw puts one raw mail into INBOX over c.
func appendRaw(t *testing.T, c *imapclient.Client, raw string) {
	t.Helper()
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append: %v", err)
	}
}

// appendMail puts one customer mail into the Dovecot user's INBOX.
func appendMail(t *testing.T, d *dovecottest.Server, from, subject, msgID string) {
	t.Helper()
	c := dialDovecot(t, d)
	appendRaw(t, c, fmt.Sprintf("From: %s\r\nTo: help@help.example\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nHello from IMAP.\r\n", from, subject, msgID))
	c.Close()
}

// mailboxCounts returns how many messages INBOX and Processed hold.
func mailboxCounts(t *testing.T, d *dovecottest.Server) (inbox, processed int) {
	t.Helper()
	c := dialDovecot(t, d)
	defer c.Close()
	for name, n := range map[string]*int{"INBOX": &inbox, "Processed": &processed} {
		data, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err == nil && data.NumMessages != nil {
			*n = int(*data.NumMessages)
		}
	}
	return inbox, processed
}

// whoPolls reads the two daemons' /healthz: 0 when the first polls the
// IMAP account and the second waits, 1 the other way round, -1 while
// neither or both say so.
func whoPolls(t *testing.T, urlA, urlB string) int {
	a, b := healthz(t, urlA), healthz(t, urlB)
	switch {
	case strings.Contains(a, ": ok") && strings.Contains(b, "polled by another daemon"):
		return 0
	case strings.Contains(b, ": ok") && strings.Contains(a, "polled by another daemon"):
		return 1
	}
	return -1
}

// waitForPoller waits up to d until one of the daemons at urlA and urlB
// polls the IMAP account and the other waits, and returns which (0 or 1,
// as whoPolls).
func waitForPoller(t *testing.T, urlA, urlB string, d time.Duration) int {
	t.Helper()
	who := -1
	waitUntil(t, "one daemon polls the account", d, func() bool {
		who = whoPolls(t, urlA, urlB)
		return who >= 0
	}, func() string { return "A: " + healthz(t, urlA) + "\nB: " + healthz(t, urlB) })
	return who
}

// dovecotConfig writes a config file with one [[imap]] table for the
// Dovecot user of d (plain IMAP on loopback) followed by the lines extra,
// and returns its path.
func dovecotConfig(t *testing.T, d *dovecottest.Server, extra string) string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "ticketd.toml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "[[imap]]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\nusername = %q\npassword = %q\n%s",
		d.Port, d.User, d.Password, extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

func healthz(t *testing.T, url string) string {
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestIMAPTakeover runs two daemons on one PostgreSQL database that both
// have the same Dovecot account: one polls it, and when that one stops the
// other takes over within seconds. A mail APPENDed to the mailbox becomes a
// ticket and is moved to Processed.
func TestIMAPTakeover(t *testing.T) {
	dove := dovecottest.Start(t)
	db := pgtest.Start(t).NewDatabase(t)
	dir := t.TempDir()
	conf := dovecotConfig(t, dove, `poll_interval = "1h"`)
	args := []string{"--config", conf, "--database", db, "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0",
		"--no-tls", "--smtp", "", "--support-address", "help@help.example"}
	urlA, stopA := startDaemon(t, args...)
	urlB, stopB := startDaemon(t, args...)
	token, _ := os.ReadFile(filepath.Join(dir, "data", tokenFile))

	api := func(url string) *client.Client {
		return client.New(url, strings.TrimSpace(string(token)), &http.Client{Timeout: 5 * time.Second})
	}
	pending := func(url, addr string) bool { return hasMailTo(t, api(url), addr) }
	info := func() string { return "A: " + healthz(t, urlA) + "\nB: " + healthz(t, urlB) }

	otherURL, stopHolder := urlB, stopA
	if waitForPoller(t, urlA, urlB, 20*time.Second) == 1 {
		otherURL, stopHolder = urlA, stopB
	}

	appendMail(t, dove, "first@example.org", "Printer", "imap-1@example.org")
	took := waitUntil(t, "the first mail is a ticket", 10*time.Second, func() bool { return pending(otherURL, "first@example.org") }, info)
	t.Logf("APPEND to ticket: %s (IDLE)", took)
	waitUntil(t, "the first mail is moved to Processed", 10*time.Second, func() bool { _, p := mailboxCounts(t, dove); return p == 1 }, info)

	if code := stopHolder(); code != 0 {
		t.Fatalf("holder exited with %d", code)
	}
	appendMail(t, dove, "second@example.org", "Scanner", "imap-2@example.org")
	took = waitUntil(t, "the other daemon takes over", 30*time.Second, func() bool { return pending(otherURL, "second@example.org") }, info)
	t.Logf("takeover and ingest after the holder stopped: %s", took)
	if h := healthz(t, otherURL); !strings.Contains(h, "1 ingested") {
		t.Errorf("healthz of the new holder = %q", h)
	}
}

// hasMailTo reports whether a pending mail to addr is listed by the Mail
// API of c.
func hasMailTo(t *testing.T, c *client.Client, addr string) bool {
	ms, err := c.FetchMails(t.Context())
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.To == addr {
			return true
		}
	}
	return false
}
