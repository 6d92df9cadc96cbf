package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/mailgw/relaytest"
	"trivialtickets/store/postgres"
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui/mailapi/client"
	"trivialtickets/webui/mailapi/wire"
)

// runCommand runs ticketd in-process with args and returns its exit code
// and output.
func runCommand(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, nil, strings.NewReader(""), &out, &errb)
	t.Logf("ticketd %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

// getPage fetches url and returns the status and body.
func getPage(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricsPage reads /metrics of the daemon at base with the metrics token
// of its data directory.
func metricsPage(t *testing.T, base, data string) string {
	t.Helper()
	b, err := scrapeMetrics(base, data)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBackupUnderLoad backs up a daemon (the binary, in a process of its
// own) while 4 Mail API and 4 SMTP clients write to it, restores the copy
// into a fresh data directory, starts a daemon on it and finds every
// ticket acknowledged before the backup began.
func TestBackupUnderLoad(t *testing.T) {
	d := startCrashDaemon(t, "--no-api-token")
	api := client.New(d.url(), "", crashHTTPClient())
	type ack struct {
		at               time.Time
		ticketID, msgID  string // ticketID from the Mail API, msgID from SMTP
		subject, address string
	}
	var mu sync.Mutex
	var acks []ack
	var stop atomic.Bool
	var failures atomic.Int64
	var wg sync.WaitGroup
	const writers = 4
	for w := range writers {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				from, subject := fmt.Sprintf("api%d.%d@example.org", w, i), fmt.Sprintf("Backup load API %d/%d", w, i)
				res, err := api.Receive(t.Context(), wire.ReceiveRequest{From: from, Subject: subject, Message: "Under load."})
				if err != nil {
					failures.Add(1)
					continue
				}
				mu.Lock()
				acks = append(acks, ack{at: time.Now(), ticketID: res.TicketID, subject: subject, address: from})
				mu.Unlock()
			}
		})
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				n := 1_000_000*(w+1) + i
				if err := crashSendSMTP(d.smtpAddr, crashSMTPFrom(n), crashSMTPMessage(n)); err != nil {
					failures.Add(1)
					continue
				}
				mu.Lock()
				acks = append(acks, ack{at: time.Now(), msgID: crashSMTPMessageID(n), subject: crashSMTPSubject(n)})
				mu.Unlock()
			}
		})
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	time.Sleep(1500 * time.Millisecond)

	backup := filepath.Join(t.TempDir(), "ticketd-backup.db")
	began := time.Now()
	out, err := exec.Command(d.bin, "backup", backup, "--data", d.data).CombinedOutput()
	took := time.Since(began)
	t.Logf("ticketd backup (%v):\n%s", took.Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("ticketd backup: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the load goes on after the backup
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	before := slices.DeleteFunc(slices.Clone(acks), func(a ack) bool { return !a.at.Before(began) })
	total := len(acks)
	mu.Unlock()
	t.Logf("%d messages acknowledged, %d before the backup began, %d failed attempts; backup took %v",
		total, len(before), failures.Load(), took.Round(time.Millisecond))
	if len(before) < 8 || total == len(before) {
		t.Fatalf("the load did not run around the backup: %d acknowledged before, %d in all", len(before), total)
	}
	if !strings.Contains(string(out), "integrity ok") || !strings.Contains(string(out), " tickets, ") {
		t.Errorf("backup output lacks what it copied: %s", out)
	}
	checkCrashIntegrity(t, backup)

	restored := filepath.Join(t.TempDir(), "restored")
	out, err = exec.Command(d.bin, "restore", backup, "--data", restored).CombinedOutput()
	if err != nil {
		t.Fatalf("ticketd restore: %v\n%s", err, out)
	}
	d2 := &crashDaemon{t: t, bin: d.bin, data: restored, logPath: filepath.Join(t.TempDir(), "restored.log")}
	t.Cleanup(d2.cleanup)
	ports := crashFreePorts(t, 2)
	d2.httpAddr, d2.smtpAddr = ports[0], ports[1]
	if err := d2.start(); err != nil {
		t.Fatal(err)
	}
	// SMTP messages acknowledged before the backup are in it, as tickets
	// or still in the inbound queue, which the restored daemon drains.
	waitUntil(t, "the restored inbound queue drains", 30*time.Second, func() bool { return crashQueued(t, d2) == 0 })
	hc := crashHTTPClient()
	db := openCrashDB(t, d2.dbPath(), false)
	defer db.Close()
	for _, a := range before {
		if a.ticketID != "" {
			code, body := getPage(t, hc, d2.url()+"/ticket?id="+a.ticketID)
			if code != http.StatusOK || !strings.Contains(body, a.subject) {
				t.Errorf("restored daemon: ticket %s (%s) answers %d", a.ticketID, a.subject, code)
			}
			continue
		}
		n := crashQueryInt(t, db, `SELECT count(*) FROM message_ids m JOIN tickets t ON t.id = m.ticket_id
			WHERE m.message_id = ? AND t.subject = ?`, a.msgID, a.subject)
		if n != 1 {
			t.Errorf("restored daemon: no ticket for the SMTP message %s", a.msgID)
		}
	}
	d2.stop()
}

func TestBackupRestoreRefusals(t *testing.T) {
	data := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	backup := filepath.Join(t.TempDir(), "b.db")
	if code, _, _ := runCommand(t, "backup", backup, "--data", data); code != 0 {
		t.Fatal("backup failed")
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"backup over a file", []string{"backup", backup, "--data", data}, 1, "exists already"},
		{"backup without a file", []string{"backup", "--data", data}, 2, "usage: ticketd backup FILE"},
		{"backup of a missing database", []string{"backup", filepath.Join(t.TempDir(), "x.db"), "--data", t.TempDir()}, 1, "no database"},
		{"backup of PostgreSQL", []string{"backup", "x.db", "--database", "postgres://u@127.0.0.1/db"}, 1, "pg_dump"},
		{"restore into the live data directory", []string{"restore", backup, "--data", data}, 1, "not empty"},
		{"restore of PostgreSQL", []string{"restore", backup, "--database", "postgres://u@127.0.0.1/db"}, 1, "pg_restore"},
		{"restore of no database", []string{"restore", filepath.Join(data, "nothing"), "--data", t.TempDir()}, 1, "no such file"},
		{"export of a bad address", []string{"customer", "export", "not-an-address", "--data", data}, 2, "not a valid e-mail address"},
		{"erase without an address", []string{"customer", "erase", "--data", data}, 2, "usage: ticketd customer"},
		{"export without a database", []string{"customer", "export", "a@example.com", "--data", t.TempDir()}, 1, "no database in"},
		{"bad retention", []string{"version", "--retention", "2 years"}, 2, "not a retention time"},
	}
	for _, tc := range cases {
		code, _, stderr := runCommand(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, %q; want exit %d and %q", tc.name, code, stderr, tc.code, tc.want)
		}
	}

	_, _, help := runCommand(t, "--help")
	for _, want := range []string{"backup FILE", "restore FILE", "customer export ADDRESS", "customer erase ADDRESS", "--retention"} {
		if !strings.Contains(help, want) {
			t.Errorf("ticketd --help does not mention %q", want)
		}
	}

	// A data directory with only the kept files is fine; a newer schema
	// is refused with the versions named.
	fresh := t.TempDir()
	os.WriteFile(filepath.Join(fresh, tokenFile), []byte("kept-token-0123456789\n"), 0o600)
	if code, out, _ := runCommand(t, "restore", backup, "--data", fresh); code != 0 || strings.Contains(out, "no mailapi-token") {
		t.Errorf("restore beside a kept token: exit %d, %s", code, out)
	}
	db, err := sql.Open("sqlite", backup)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`)
	db.Close()
	code, _, stderr := runCommand(t, "restore", backup, "--data", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "schema version 999") || !strings.Contains(stderr, "newer") {
		t.Errorf("restore of a newer schema: exit %d, %s", code, stderr)
	}
}

// pgProgram finds a PostgreSQL client program in PATH or in Debian's
// /usr/lib/postgresql/<version>/bin, the newest version first.
func pgProgram(t *testing.T, name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if p := filepath.Join(d, name); exists(p) {
			return p
		}
	}
	relaytest.Missing(t, name+" is not installed: apt-get install postgresql-client")
	return ""
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestPostgresDumpRestore: a pg_dump of a daemon's database, restored with
// pg_restore into a new database, serves every ticket with its attachment.
func TestPostgresDumpRestore(t *testing.T) {
	pgDump, pgRestore := pgProgram(t, "pg_dump"), pgProgram(t, "pg_restore")
	cluster := pgtest.Start(t)
	src := cluster.NewDatabase(t)
	st, err := postgres.Open(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(st, core.Config{})
	var ids []string
	for i := range 20 {
		m := core.InboundMessage{Door: core.DoorSMTP, From: fmt.Sprintf("pg%d@example.org", i),
			Subject: fmt.Sprintf("Dumped ticket %d", i), Text: "Text of the dump test.",
			Attachments: []core.Attachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("attached")}}}
		res, err := svc.Receive(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.TicketID)
	}
	// The dump is taken while the store is open, as with a running daemon.
	dump := filepath.Join(t.TempDir(), "ticketd.dump")
	if out, err := exec.Command(pgDump, "--format=custom", "--file="+dump, src).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	st.Close()
	dst := cluster.NewDatabase(t)
	if out, err := exec.Command(pgRestore, "--no-owner", "--exit-on-error", "--dbname="+dst, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	url, _ := startDaemon(t, "--database", dst, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--no-tls", "--smtp", "", "--no-api-token")
	hc := &http.Client{Timeout: 10 * time.Second}
	for i, id := range ids {
		code, body := getPage(t, hc, url+"/ticket?id="+id)
		if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf("Dumped ticket %d", i)) || !strings.Contains(body, "a.txt") {
			t.Errorf("restored ticket %s: %d", id, code)
		}
	}
	// The restored database takes new tickets: its sequences came along.
	res, err := client.New(url, "", hc).Receive(t.Context(), wire.ReceiveRequest{From: "new@example.org", Subject: "After the restore", Message: "New."})
	if err != nil || !res.Created {
		t.Errorf("a new ticket on the restored database: %+v, %v", res, err)
	}
}

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true},
		{"0", 0, true},
		{"730d", 730 * 24 * time.Hour, true},
		{"17520h", 17520 * time.Hour, true},
		{" 30d ", 30 * 24 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"-5d", 0, false},
		{"0d", 0, false},
		{"-1h", 0, false},
		{"2 years", 0, false},
		{"1y", 0, false},
		{"99999999d", 0, false},
	} {
		got, err := parseRetention(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if got := retentionEvery(730 * 24 * time.Hour); got != time.Hour {
		t.Errorf("retentionEvery(730d) = %v", got)
	}
	if got := retentionEvery(2 * time.Second); got != time.Second {
		t.Errorf("retentionEvery(2s) = %v", got)
	}
}

// TestRetentionInDaemon: with retention set, the daemon deletes a ticket
// closed for longer than that, keeps an open one, and counts it in
// /metrics.
func TestRetentionInDaemon(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	base, _ := startDaemon(t, "--data", data, "--http", "127.0.0.1:0", "--no-tls", "--smtp", "", "--no-api-token", "--retention", "2s")
	hc := &http.Client{Timeout: 10 * time.Second}
	api := client.New(base, "", hc)
	_, svc := sideService(t, data)
	closed, err := api.Receive(ctx, wire.ReceiveRequest{From: "old@example.org", Subject: "Done", Message: "Done."})
	if err != nil {
		t.Fatal(err)
	}
	open, err := api.Receive(ctx, wire.ReceiveRequest{From: "new@example.org", Subject: "Open", Message: "Open."})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Save(ctx, "admin", closed.TicketID, core.Change{Status: core.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := getPage(t, hc, base+"/ticket?id="+closed.TicketID)
		if code == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed ticket still answers %d after 15s with retention 2s", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := getPage(t, hc, base+"/ticket?id="+open.TicketID); code != http.StatusOK {
		t.Errorf("the open ticket answers %d", code)
	}
	if metrics := metricsPage(t, base, data); !strings.Contains(metrics, `ticketd_retention_deleted_total{kind="tickets"} 1`) {
		t.Errorf("metrics lack the deleted ticket:\n%s", metrics)
	}
}
