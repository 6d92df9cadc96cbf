package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/webui/mailapi/client"
	"trivialtickets/webui/mailapi/wire"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ticketd.toml")
	os.WriteFile(file, []byte(`
data = "/from-file"
http = "127.0.0.1:1111"
support_address = ["help@file.example", "support@file.example"]
auto_reply_limit = 3
no_tls = true
`), 0o600)
	tests := []struct {
		name  string
		args  []string
		env   []string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c Config) {
			if c.Data != "./data" || c.HTTP != ":8443" || c.NoTLS || len(c.SupportAddresses) != 1 || c.AutoReplyLimit != 10 {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{"file", []string{"--config", file}, nil, func(t *testing.T, c Config) {
			if c.Data != "/from-file" || c.HTTP != "127.0.0.1:1111" || !c.NoTLS || c.AutoReplyLimit != 3 ||
				strings.Join(c.SupportAddresses, ",") != "help@file.example,support@file.example" {
				t.Errorf("file: %+v", c)
			}
		}},
		{"flags over file", []string{"--config", file, "--data", "/from-flag", "--support-address", "a@flag.example"}, nil, func(t *testing.T, c Config) {
			if c.Data != "/from-flag" || c.HTTP != "127.0.0.1:1111" || strings.Join(c.SupportAddresses, ",") != "a@flag.example" {
				t.Errorf("flags: %+v", c)
			}
		}},
		{"env over file", []string{"--config", file}, []string{"TICKETD_DATA=/from-env", "TICKETD_SUPPORT_ADDRESS=x@env.example, y@env.example", "TICKETD_NO_TLS=false"}, func(t *testing.T, c Config) {
			if c.Data != "/from-env" || c.NoTLS || c.HTTP != "127.0.0.1:1111" || strings.Join(c.SupportAddresses, ",") != "x@env.example,y@env.example" {
				t.Errorf("env: %+v", c)
			}
		}},
		// Flag > environment > file > default, as operators expect: a
		// flag given for one run overrides what the environment sets.
		{"flags over env", []string{"--config", file, "--data", "/from-flag", "--support-address", "a@flag.example", "--no-tls"},
			[]string{"TICKETD_DATA=/from-env", "TICKETD_SUPPORT_ADDRESS=x@env.example", "TICKETD_NO_TLS=false", "TICKETD_AUTO_REPLY_LIMIT=7"}, func(t *testing.T, c Config) {
				if c.Data != "/from-flag" || !c.NoTLS || c.AutoReplyLimit != 7 || strings.Join(c.SupportAddresses, ",") != "a@flag.example" {
					t.Errorf("flags over env: %+v", c)
				}
			}},
		{"config file flag over env", []string{"--config", file}, []string{"TICKETD_CONFIG=" + filepath.Join(dir, "missing.toml")}, func(t *testing.T, c Config) {
			if c.Data != "/from-file" {
				t.Errorf("--config over TICKETD_CONFIG: %+v", c)
			}
		}},
		{"config file from env", nil, []string{"TICKETD_CONFIG=" + file}, func(t *testing.T, c Config) {
			if c.Data != "/from-file" {
				t.Errorf("TICKETD_CONFIG: %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadConfig(tt.args, tt.env, io.Discard, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("htp = \":1\"\n"), 0o600)
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--http", "nonsense"}, nil, "setting http"},
		{[]string{"--support-address", "x@"}, nil, "support-address"},
		{[]string{"--support-address", "a+b@example.com"}, nil, "must not contain '+'"},
		{[]string{"--tls-cert", "c.pem"}, nil, "tls-cert and tls-key"},
		{[]string{"--public-url", "ftp://x"}, nil, "public-url"},
		{nil, []string{"TICKETD_AUTO_REPLY_LIMIT=many"}, "TICKETD_AUTO_REPLY_LIMIT"},
		{[]string{"--config", bad}, nil, `unknown setting "htp"`},
		{[]string{"--config", filepath.Join(dir, "missing.toml")}, nil, "config file"},
		{[]string{"--log-level", "loud"}, nil, "log-level"},
	}
	for _, tt := range tests {
		_, _, err := loadConfig(tt.args, tt.env, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("loadConfig(%q, %q) error = %v, want it to mention %q", tt.args, tt.env, err, tt.want)
		}
	}
}

func TestUserCommands(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	var out, errb bytes.Buffer
	runCmd := func(stdin string, args ...string) int {
		out.Reset()
		errb.Reset()
		return run(ctx, append(args, "--data", data), nil, strings.NewReader(stdin), &out, &errb)
	}
	if code := runCmd("secret-pass-1\n", "user", "add", "bob", "--name", "Bob Builder"); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, errb.String())
	}
	if code := runCmd("short\n", "user", "add", "carol"); code != 1 || !strings.Contains(errb.String(), "at least 8") {
		t.Fatalf("short password: exit %d: %s", code, errb.String())
	}
	if code := runCmd("", "user", "list"); code != 0 || !strings.Contains(out.String(), "Bob Builder") {
		t.Fatalf("user list: exit %d: %s%s", code, out.String(), errb.String())
	}
	if code := runCmd("secret-pass-2\n", "user", "passwd", "bob"); code != 0 {
		t.Fatalf("user passwd: exit %d: %s", code, errb.String())
	}
	if code := runCmd("", "user", "remove", "bob"); code != 0 {
		t.Fatalf("user remove: exit %d: %s", code, errb.String())
	}
	if code := runCmd("", "user", "list"); code != 0 || strings.Contains(out.String(), "bob") {
		t.Fatalf("bob still listed: %s", out.String())
	}
	if code := runCmd("", "frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}

// lineWriter lets the test read what the daemon printed while it runs.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		select {
		case w.lines <- sc.Text():
		default:
		}
	}
	return len(p), nil
}

// TestServeEndToEnd starts the daemon as a user would (fresh data directory,
// TLS with the generated certificate, token), talks to it with the Mail API
// client, and stops it like SIGTERM does.
func TestServeEndToEnd(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out := lineWriter{lines: make(chan string, 100)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--data", data, "--http", "127.0.0.1:0", "--support-address", "help@example.com", "--smtp", "127.0.0.1:0"}, nil, nil, out, io.Discard)
	}()
	var url, password, smtpAddr string
	timeout := time.After(20 * time.Second)
	for url == "" || password == "" {
		select {
		case l := <-out.lines:
			if _, u, ok := strings.Cut(l, "Web interface and Mail API: "); ok {
				url = strings.TrimSuffix(strings.TrimSpace(u), "/")
			}
			if _, a, ok := strings.Cut(l, "SMTP gateway: "); ok {
				smtpAddr = strings.Fields(a)[0]
			}
			if _, p, ok := strings.Cut(l, "password "); ok {
				password = strings.Trim(strings.TrimSpace(p), `"`)
			}
		case code := <-done:
			t.Fatalf("daemon exited early with %d", code)
		case <-timeout:
			t.Fatal("daemon did not print its URL and first password")
		}
	}
	tlsCfg, err := client.TLSConfig(filepath.Join(data, certFile), false)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 10 * time.Second}
	token, _ := os.ReadFile(filepath.Join(data, tokenFile))

	// Without the token: 401.
	if _, err := client.New(url, "", hc).FetchMails(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("fetch without token: %v", err)
	}
	c := client.New(url, strings.TrimSpace(string(token)), hc)
	res, err := c.Receive(ctx, wire.ReceiveRequest{From: "cust@example.org", Subject: "Broken", Message: "It broke."})
	if err != nil || !res.Created {
		t.Fatalf("receive: %+v, %v", res, err)
	}
	mails, err := c.FetchMails(ctx)
	if err != nil || len(mails) != 1 || mails[0].To != "cust@example.org" || !strings.Contains(mails[0].Message, url+"/ticket?id="+res.TicketID) {
		t.Fatalf("fetch: %+v, %v", mails, err)
	}
	if mails[0].From != "help@example.com" {
		t.Errorf("mail from %q, want the support address", mails[0].From)
	}
	// A customer's mail through the SMTP gateway becomes a ticket too.
	sc, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatalf("dial SMTP gateway %q: %v", smtpAddr, err)
	}
	err = sc.SendMail("bob@example.org", []string{"help@example.com"}, strings.NewReader(
		"From: bob@example.org\r\nTo: help@example.com\r\nSubject: By mail\r\nMessage-ID: <e2e-1@example.org>\r\n\r\nHello by mail.\r\n"))
	if err != nil {
		t.Fatalf("SMTP delivery: %v", err)
	}
	sc.Quit()
	// The 250 came after the inbound queue's commit; the worker makes
	// the ticket and its confirmation a moment later.
	waitUntil(t, "the confirmation of the SMTP message", 10*time.Second, func() bool {
		mails, err = c.FetchMails(ctx)
		return err == nil && len(mails) == 2
	})
	if err != nil || len(mails) != 2 || mails[1].To != "bob@example.org" || !strings.Contains(mails[1].Subject, "By mail") {
		t.Fatalf("after the SMTP delivery: %+v, %v", mails, err)
	}

	// The ticket page and health check answer; the customer's second view
	// of the page comes from the page cache.
	for range 2 {
		resp, err := hc.Get(url + "/ticket?id=" + res.TicketID)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("ticket page: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	if resp, err := hc.Get(url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "inbound queue: 0 waiting") {
			t.Errorf("healthz lacks the inbound queue's line:\n%s", body)
		}
	}
	// Metrics are not public: they need the metrics token of the data
	// directory.
	resp, err := hc.Get(url + "/metrics")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("metrics without the token: %v %v, want 401", resp, err)
	}
	resp.Body.Close()
	metricsToken, _ := os.ReadFile(filepath.Join(data, metricsTokenFile))
	req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(metricsToken)))
	// Metrics count the two messages by door.
	resp, err = hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics: %v %v", resp, err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ticketd_messages_received_total{door="api",outcome="created"} 1`,
		`ticketd_messages_received_total{door="smtp",outcome="created"} 1`, `ticketd_outbox_mails{state="pending"} 2`,
		`ticketd_http_request_duration_seconds_count{code="200",method="GET",route="/ticket"} 2`,
		`ticketd_page_cache_lookups_total{result="miss"} 1`, `ticketd_page_cache_lookups_total{result="hit"} 1`,
		"ticketd_inbound_queue_depth 0", "ticketd_inbound_queue_oldest_age_seconds 0", "ticketd_inbound_queue_failing 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("daemon exit code %d after shutdown", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop")
	}
	// A restart keeps the token and the ticket, and creates no second agent.
	ctx2, cancel2 := context.WithCancel(context.Background())
	out2 := lineWriter{lines: make(chan string, 100)}
	go func() {
		done <- run(ctx2, []string{"--data", data, "--http", "127.0.0.1:0", "--smtp", ""}, nil, nil, out2, io.Discard)
	}()
	deadline := time.After(20 * time.Second)
	for started := false; !started; {
		select {
		case l := <-out2.lines:
			if strings.Contains(l, "First agent") {
				t.Error("a second first agent was made on restart")
			}
			started = strings.Contains(l, "Mail API token")
		case <-deadline:
			t.Fatal("restart did not come up")
		}
	}
	cancel2()
	<-done
	token2, _ := os.ReadFile(filepath.Join(data, tokenFile))
	if string(token2) != string(token) {
		t.Error("the token changed on restart")
	}
}
