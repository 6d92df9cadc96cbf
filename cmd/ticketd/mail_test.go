package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/mailgw/relaytest"
	"trivialtickets/webui/mailapi/client"
)

// startDaemon runs the daemon in-process with args and returns its URL and
// a function that stops it and returns its exit code.
func startDaemon(t *testing.T, args ...string) (url string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := lineWriter{lines: make(chan string, 100)}
	done := make(chan int, 1)
	errOut := &syncBuffer{}
	go func() { done <- run(ctx, args, nil, nil, out, errOut) }()
	timeout := time.After(20 * time.Second)
	for url == "" {
		select {
		case l := <-out.lines:
			if _, u, ok := strings.Cut(l, "Web interface and Mail API: "); ok {
				url = strings.TrimSuffix(strings.TrimSpace(u), "/")
			}
		case code := <-done:
			t.Fatalf("daemon exited early with %d:\n%s", code, errOut.String())
		case <-timeout:
			t.Fatalf("daemon did not print its URL:\n%s", errOut.String())
		}
	}
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			t.Fatal("daemon did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

// TestServeRelayAndLMTP runs the daemon with outbound = "smtp" against a
// real relay (aiosmtpd) and hands it a mail over LMTP on a Unix socket, as
// a local Postfix would: the customer's confirmation reaches the relay,
// threaded to the customer's mail, and the Mail API lists nothing.
func TestServeRelayAndLMTP(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	dir := t.TempDir()
	sock := filepath.Join(dir, "lmtp.sock")
	conf := filepath.Join(dir, "ticketd.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`
outbound = "smtp"
lmtp = "unix:%s"

[relay]
host = "127.0.0.1"
port = %d
tls = "none"
from = "bounces@help.example"
`, sock, r.Port())), 0o600)
	url, _ := startDaemon(t, "--config", conf, "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0", "--no-tls",
		"--smtp", "", "--support-address", "help@help.example")

	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dial LMTP socket: %v", err)
	}
	lc := smtp.NewClientLMTP(conn)
	defer lc.Close()
	err = lc.SendMail("carol@example.org", []string{"help@help.example"}, strings.NewReader(
		"From: Carol <carol@example.org>\r\nTo: help@help.example\r\nSubject: Via LMTP\r\nMessage-ID: <lmtp-1@example.org>\r\n\r\nHello over LMTP.\r\n"))
	if err != nil {
		t.Fatalf("LMTP delivery: %v", err)
	}
	lc.Quit()

	ms := r.WaitMessages(t, 1, 15*time.Second)
	m := ms[0]
	if m.From != "bounces@help.example" || len(m.To) != 1 || m.To[0] != "carol@example.org" {
		t.Errorf("envelope %q → %v", m.From, m.To)
	}
	if m.Header("In-Reply-To") != "<lmtp-1@example.org>" || !strings.Contains(m.Header("Subject"), "Via LMTP") ||
		!strings.HasPrefix(m.Header("Reply-To"), "<help+") {
		t.Errorf("confirmation not threaded:\n%s", m.Raw)
	}

	// The dispatcher owns the outbox: the Mail API lists nothing.
	token, _ := os.ReadFile(filepath.Join(dir, "data", tokenFile))
	c := client.New(url, strings.TrimSpace(string(token)), &http.Client{Timeout: 10 * time.Second})
	if mails, err := c.FetchMails(t.Context()); err != nil || len(mails) != 0 {
		t.Errorf("fetchMails in smtp mode = %+v, %v; want none", mails, err)
	}
	// The relay has the mail a moment before the dispatcher has recorded
	// it as sent.
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := healthz(t, url)
		if strings.Contains(h, "1 sent") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz = %q, want the relay's line with 1 sent", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the daemon's log writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
