package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/mailgw/outbound"
	"trivialtickets/mailgw/smtpin"
	"trivialtickets/store"
	"trivialtickets/store/postgres"
	"trivialtickets/store/postgres/pgtest"
)

// slowRelay is an in-process SMTP relay that takes delay for each mail and
// counts the mails it accepted by Message-ID.
type slowRelay struct {
	delay time.Duration
	mu    sync.Mutex
	got   map[string]int
	total int
}

func (r *slowRelay) NewSession(*smtp.Conn) (smtp.Session, error) { return &slowSession{r: r}, nil }

type slowSession struct{ r *slowRelay }

func (s *slowSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *slowSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *slowSession) Reset()                               {}
func (s *slowSession) Logout() error                        { return nil }
func (s *slowSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(s.r.delay)
	id := ""
	for _, l := range strings.Split(string(raw), "\r\n") {
		if v, ok := strings.CutPrefix(l, "Message-Id: "); ok {
			id = v
		} else if v, ok := strings.CutPrefix(l, "Message-ID: "); ok {
			id = v
		}
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.got[id]++
	s.r.total++
	return nil
}

// counts returns how many mails arrived and how many distinct ones.
func (r *slowRelay) counts() (total, distinct int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total, len(r.got)
}

// startSlowRelay serves a slowRelay on a free loopback port.
func startSlowRelay(t *testing.T, delay time.Duration) (*slowRelay, int) {
	t.Helper()
	r := &slowRelay{delay: delay, got: map[string]int{}}
	srv := smtp.NewServer(r)
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r, ln.Addr().(*net.TCPAddr).Port
}

// TestPostgresOutageSendsEachMailOnce stops the database for 30 s while
// two dispatchers (two daemons) hand 300 confirmations to a slow relay:
// every mail arrives exactly once, none is lost.
func TestPostgresOutageSendsEachMailOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30 s database outage")
	}
	const n = 300
	cl := pgtest.StartPrivate(t)
	url := cl.NewDatabase(t)
	relay, port := startSlowRelay(t, 40*time.Millisecond)
	ctx := context.Background()

	var svcs []*core.Service
	for range 2 {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svcs = append(svcs, core.NewService(store.NewGuard(st, 2*time.Second), core.Config{
			PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}, RelayOutbound: true}))
	}
	for i := range n {
		if _, err := svcs[i%2].Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: fmt.Sprintf("c%d@example.org", i),
			Subject: fmt.Sprintf("Outage %d", i), Text: "Hello"}); err != nil {
			t.Fatal(err)
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, svc := range svcs {
		d, err := outbound.New(outbound.Config{Outbox: svc, Relay: outbound.Relay{Host: "127.0.0.1", Port: port, TLS: outbound.TLSNone},
			LoopID: "help.example", Owner: fmt.Sprintf("daemon-%d", i), Interval: 50 * time.Millisecond, Batch: 20,
			Timeout: 5 * time.Second, MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { d.Run(runCtx) })
	}
	defer func() { cancel(); wg.Wait() }()

	waitUntil(t, "the first 40 mails", 30*time.Second, func() bool { total, _ := relay.counts(); return total >= 40 })
	cl.Down(t)
	total, _ := relay.counts()
	t.Logf("database down after %d mails", total)
	time.Sleep(30 * time.Second)
	cl.Up(t)
	waitUntil(t, "every mail", 90*time.Second, func() bool { _, distinct := relay.counts(); return distinct >= n })
	time.Sleep(2 * time.Second) // time for a second copy to show
	total, distinct := relay.counts()
	if total != n || distinct != n {
		t.Fatalf("relay got %d mails, %d distinct, want %d each (%d duplicates)", total, distinct, n, total-distinct)
	}
	waitUntil(t, "every delivery recorded", 30*time.Second, func() bool {
		c, err := svcs[0].OutboxCounts(ctx)
		return err == nil && c.Pending == 0
	})
}

// receiveJSON posts one message to the Mail API and returns the status,
// the ticket id of a 200 and the Retry-After header.
func receiveJSON(hc *http.Client, base, from, subject, text string) (status int, ticketID, retryAfter string, err error) {
	body, _ := json.Marshal(map[string]string{"from": from, "subject": subject, "message": text})
	resp, err := hc.Post(base+"/api/receive", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	var r struct {
		TicketID string `json:"ticketId"`
		Message  string `json:"message"`
	}
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &r)
	if resp.StatusCode == http.StatusServiceUnavailable && !strings.Contains(r.Message, "not stored") {
		return resp.StatusCode, "", "", fmt.Errorf("503 without saying that nothing was stored: %s", b)
	}
	return resp.StatusCode, r.TicketID, resp.Header.Get("Retry-After"), nil
}

// TestPostgresTooManyConnections runs two daemons whose pools (16 each)
// exceed the server's max_connections (20) under 64 concurrent Mail API
// clients: each request gets 200 or 503, never 500, and every 200 is
// stored, nothing else.
func TestPostgresTooManyConnections(t *testing.T) {
	cl := pgtest.StartPrivate(t, "max_connections=20", "superuser_reserved_connections=0")
	url := cl.NewDatabase(t) + "&pool_max_conns=16"
	var bases []string
	var stops []func() int
	for range 2 {
		u, stop := startDaemon(t, "--database", url, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--no-tls", "--smtp", "",
			"--no-api-token", "--store-timeout", "3s", "--api-max-requests", "64", "--log-level", "error")
		bases = append(bases, u)
		stops = append(stops, stop)
	}
	const clients, requests = 64, 1500
	var next atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	var ok []string
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > requests {
					return
				}
				status, id, retry, err := receiveJSON(hc, bases[i%2], fmt.Sprintf("m%d@example.org", i), fmt.Sprintf("Many %d", i), "Hello")
				mu.Lock()
				switch {
				case err != nil:
					t.Errorf("request %d: %v", i, err)
				case status == http.StatusOK:
					ok = append(ok, id)
				case status == http.StatusServiceUnavailable && retry == "":
					t.Errorf("request %d: 503 without Retry-After", i)
				}
				statuses[status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("statuses: %v", statuses)
	for s := range statuses {
		if s != http.StatusOK && s != http.StatusServiceUnavailable {
			t.Errorf("status %d seen %d times; want only 200 and 503", s, statuses[s])
		}
	}
	for _, stop := range stops {
		stop()
	}
	conn, err := pgx.Connect(context.Background(), strings.TrimSuffix(url, "&pool_max_conns=16"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var stored, storedOK int
	conn.QueryRow(context.Background(), `SELECT count(*) FROM tickets`).Scan(&stored)
	conn.QueryRow(context.Background(), `SELECT count(*) FROM tickets WHERE id = ANY($1)`, ok).Scan(&storedOK)
	if storedOK != len(ok) || stored != len(ok) {
		t.Errorf("%d tickets stored, %d of the %d answered 200; want exactly the 200s", stored, storedOK, len(ok))
	}
}

// TestPostgresHungMailAPI stops PostgreSQL's processes (SIGSTOP): the Mail
// API answers 503 with Retry-After and SMTP 451, each within the time
// budget instead of waiting for the database, /healthz fails, and all
// recover once it runs again.
func TestPostgresHungMailAPI(t *testing.T) {
	cl := pgtest.StartPrivate(t)
	url := cl.NewDatabase(t)
	smtpAddr := freeAddr(t)
	base, _ := startDaemon(t, "--database", url, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--no-tls", "--smtp", smtpAddr,
		"--no-api-token", "--store-timeout", "2s")
	hc := &http.Client{Timeout: 30 * time.Second}
	if status, _, _, err := receiveJSON(hc, base, "a@example.org", "Before", "Hello"); err != nil || status != 200 {
		t.Fatalf("before: %d %v", status, err)
	}
	cl.Pause(t)
	paused := true
	defer func() {
		if paused {
			cl.Resume(t)
		}
	}()
	start := time.Now()
	status, _, retry, err := receiveJSON(hc, base, "b@example.org", "While hung", "Hello")
	took := time.Since(start)
	if err != nil || status != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("while hung: %d Retry-After %q %v, want 503 with Retry-After", status, retry, err)
	}
	if took > 4*time.Second {
		t.Errorf("503 after %v, want within the 2 s budget (and a little)", took)
	}
	start = time.Now()
	err = crashSendSMTP(smtpAddr, "smtp@example.org",
		[]byte("From: smtp@example.org\r\nTo: support@localhost\r\nSubject: Hung\r\nMessage-ID: <hung@example.org>\r\n\r\nHello\r\n"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || *se != *smtpin.ErrNotStored {
		t.Errorf("SMTP while hung: %v, want %v", err, smtpin.ErrNotStored)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("SMTP answered after %v, want within the 2 s budget (and a little)", took)
	}
	resp, err := hc.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz while hung: %v %v, want 503", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	cl.Resume(t)
	paused = false
	waitUntil(t, "a 200 after the database runs again", 20*time.Second, func() bool {
		status, _, _, _ := receiveJSON(hc, base, "c@example.org", "After", "Hello")
		return status == 200
	})
	if h := healthz(t, base); !strings.HasPrefix(h, "ok") {
		t.Errorf("healthz after = %q", h)
	}
}

// TestPostgresDownHealthzRootCause: with the database down, /healthz
// answers 503 within a load balancer's patience (not the 15 s budget of
// requests), and its first line names the real cause (connection
// refused), not the refused TLS attempt of sslmode=prefer.
func TestPostgresDownHealthzRootCause(t *testing.T) {
	cl := pgtest.StartPrivate(t)
	url := strings.Replace(cl.NewDatabase(t), "sslmode=disable", "sslmode=prefer", 1)
	base, _ := startDaemon(t, "--database", url, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--no-tls", "--smtp", "",
		"--no-api-token")
	cl.Down(t)
	defer cl.Up(t)
	start := time.Now()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("healthz answered after %v, want within about 2 s", took)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	first, _, _ := strings.Cut(string(b), "\n")
	t.Logf("healthz: %s", first)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(first, "connection refused") || strings.Contains(first, "tls error") {
		t.Errorf("healthz with the database down: %d %q; want 503 naming the refused connection first", resp.StatusCode, b)
	}
}

// TestSQLiteDiskFull fills the small filesystem that holds the data
// directory: the Mail API answers 503 (the large messages that need new
// space), SMTP 451, /healthz fails, nothing refused is stored; once space
// returns, all works again and the file is intact.
func TestSQLiteDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m"); err != nil {
		msg := fmt.Sprintf("mounting a small tmpfs needs root (CAP_SYS_ADMIN): %v", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	data := filepath.Join(dir, "data")
	smtpAddr := freeAddr(t)
	base, stop := startDaemon(t, "--data", data, "--http", "127.0.0.1:0", "--no-tls", "--smtp", smtpAddr,
		"--no-api-token", "--store-timeout", "5s")
	hc := &http.Client{Timeout: 30 * time.Second}
	if status, _, _, err := receiveJSON(hc, base, "a@example.org", "Before", "Hello"); err != nil || status != 200 {
		t.Fatalf("before: %d %v", status, err)
	}

	// Fill the filesystem.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	big := strings.Repeat("A long line of a long message that needs new pages. ", 4000) // about 200 kB
	// Small writes may still fit into pages the files already have; a
	// large one needs new space.
	accepted, refused := 0, ""
	for i := 0; i < 10 && refused == ""; i++ {
		subject := fmt.Sprintf("Full %d", i)
		status, _, retry, err := receiveJSON(hc, base, fmt.Sprintf("full%d@example.org", i), subject, big)
		if err != nil {
			t.Fatal(err)
		}
		switch status {
		case http.StatusServiceUnavailable:
			if retry == "" {
				t.Error("503 without Retry-After")
			}
			refused = subject
		case http.StatusOK:
			accepted++
			t.Logf("request %d stored while the disk is full (it fitted into free pages)", i)
		default:
			t.Fatalf("request %d with the disk full: %d, want 503", i, status)
		}
	}
	if refused == "" {
		t.Fatal("no request was refused with the disk full")
	}
	if resp, err := hc.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz with the disk full: %v %v, want 503", resp, err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("healthz: %s", b)
	}
	msg := "From: smtp@example.org\r\nTo: support@localhost\r\nSubject: SMTP while full\r\nMessage-ID: <full-smtp@example.org>\r\n\r\n" +
		strings.ReplaceAll(big, ". ", ".\r\n")
	err = crashSendSMTP(smtpAddr, "smtp@example.org", []byte(msg))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || *se != *smtpin.ErrNotStored {
		t.Errorf("SMTP with the disk full: %v, want %v", err, smtpin.ErrNotStored)
	}

	// Space returns.
	os.Remove(filler)
	waitUntil(t, "a 200 once space returned", 20*time.Second, func() bool {
		status, _, _, _ := receiveJSON(hc, base, "after@example.org", "After", big)
		return status == 200
	})
	if err := crashSendSMTP(smtpAddr, "smtp@example.org", []byte(msg)); err != nil {
		t.Errorf("SMTP once space returned: %v", err)
	}
	// The 250 came after the inbound queue's commit; the worker makes
	// the ticket.
	waitUntil(t, "the inbound queue drains", 20*time.Second, func() bool {
		db := openCrashDB(t, filepath.Join(data, dbFile), false)
		defer db.Close()
		return crashQueryInt(t, db, `SELECT COUNT(*) FROM inbound_queue`) == 0
	})
	if h := healthz(t, base); !strings.HasPrefix(h, "ok") {
		t.Errorf("healthz once space returned = %q", h)
	}
	stop()
	db := openCrashDB(t, filepath.Join(data, dbFile), false)
	defer db.Close()
	if n := crashQueryInt(t, db, `SELECT count(*) FROM tickets WHERE subject LIKE 'Full %'`); n != accepted {
		t.Errorf("%d tickets of the disk-full requests stored, %d were answered 200", n, accepted)
	}
	if n := crashQueryInt(t, db, `SELECT count(*) FROM tickets WHERE subject = ?`, refused); n != 0 {
		t.Errorf("the refused request %q was stored", refused)
	}
	if n := crashQueryInt(t, db, `SELECT count(*) FROM tickets WHERE subject = 'SMTP while full'`); n != 1 {
		t.Errorf("%d tickets of the SMTP message refused with 451 and then accepted, want 1", n)
	}
	checkCrashIntegrity(t, filepath.Join(data, dbFile))
}
