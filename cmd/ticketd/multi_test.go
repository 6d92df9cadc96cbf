package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trivialtickets/mailgw/relaytest"
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/webui/mailapi/client"
	"trivialtickets/webui/mailapi/wire"
)

// TestMain stops the private PostgreSQL server after the tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

// TestTwoDaemonsOnePostgres runs two daemons on one PostgreSQL database, as
// behind a load balancer: a login on one is valid on the other, a ticket
// made through one's Mail API is visible through the other, and with both
// dispatching to one relay every notification arrives exactly once.
func TestTwoDaemonsOnePostgres(t *testing.T) {
	db := pgtest.Start(t).NewDatabase(t)
	relay := relaytest.Start(t, relaytest.Options{})
	dir := t.TempDir()
	data := filepath.Join(dir, "data") // shared: certificate and Mail API token
	conf := filepath.Join(dir, "ticketd.toml")
	os.WriteFile(conf, fmt.Appendf(nil, "outbound = \"smtp\"\n[relay]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\n", relay.Port()), 0o600)
	args := []string{"--config", conf, "--database", db, "--data", data, "--http", "127.0.0.1:0", "--no-tls", "--smtp", "",
		"--support-address", "help@help.example"}

	if code := run(context.Background(), append([]string{"user", "add", "bob"}, args...), nil,
		strings.NewReader("bob-password-1\n"), os.Stdout, os.Stderr); code != 0 {
		t.Fatalf("user add: exit %d", code)
	}
	urlA, stopA := startDaemon(t, args...)
	urlB, stopB := startDaemon(t, args...)

	// A login on A is a session on B.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(urlA+"/login", url.Values{"username": {"bob"}, "password": {"bob-password-1"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login on A: %v %v", resp, err)
	}
	resp.Body.Close()
	uB, _ := url.Parse(urlB)
	uA, _ := url.Parse(urlA)
	jar.SetCookies(uB, jar.Cookies(uA))
	resp, err = hc.Get(urlB + "/dashboard")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard on B with A's session: %v %v", resp, err)
	}
	resp.Body.Close()

	// Failed logins count on every daemon: five on A lock the account on B.
	for range 5 {
		resp, err := hc.PostForm(urlA+"/login", url.Values{"username": {"mallory"}, "password": {"guess"}})
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password on A: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	resp, err = hc.PostForm(urlB+"/login", url.Values{"username": {"mallory"}, "password": {"guess"}})
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sixth try on B: %v %v, want 429", resp, err)
	}
	resp.Body.Close()

	// 200 tickets through A's and B's Mail API: each confirmation reaches
	// the relay once, whichever daemon's dispatcher sent it.
	token, _ := os.ReadFile(filepath.Join(data, tokenFile))
	api := func(u string) *client.Client {
		return client.New(u, strings.TrimSpace(string(token)), &http.Client{Timeout: 10 * time.Second})
	}
	const n = 200
	ids := map[string]bool{}
	for i := range n {
		u := urlA
		if i%2 == 1 {
			u = urlB
		}
		res, err := api(u).Receive(t.Context(), wire.ReceiveRequest{From: fmt.Sprintf("c%d@example.org", i),
			Subject: fmt.Sprintf("Question %d", i), Message: "Hello"})
		if err != nil || !res.Created {
			t.Fatalf("receive %d: %+v, %v", i, res, err)
		}
		ids[res.TicketID] = true
	}
	// A ticket made through A is served by B.
	for id := range ids {
		resp, err := http.Get(urlB + "/ticket?id=" + id)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("ticket %s on B: %v %v", id, resp, err)
		}
		resp.Body.Close()
		break
	}
	relay.WaitMessages(t, n, 60*time.Second)
	// A stopped daemon has finished its dispatcher: a wrong second
	// delivery under way has been made by now.
	stopA()
	stopB()
	seen := map[string]int{}
	for _, m := range relay.Messages() {
		seen[strings.Join(m.To, ",")]++
	}
	for to, k := range seen {
		if k != 1 {
			t.Errorf("%s got %d mails", to, k)
		}
	}
	if len(seen) != n {
		t.Errorf("%d recipients got mail, want %d", len(seen), n)
	}
}
