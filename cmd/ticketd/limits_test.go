package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"trivialtickets/mailgw/connlimit"
	"trivialtickets/webui/mailapi/client"
	"trivialtickets/webui/mailapi/wire"
)

// daemonFileLimit is the RLIMIT_NOFILE the flood test gives the daemon: a
// common default of a service manager, and small enough that a flood the
// test process can open would exhaust it without the listener limits.
const daemonFileLimit = 4096

// setFileLimit sets RLIMIT_NOFILE (soft and hard) of process pid.
func setFileLimit(pid int, n uint64) error {
	lim := syscall.Rlimit{Cur: n, Max: n}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_NOFILE),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// raiseOwnFileLimit raises this process's soft RLIMIT_NOFILE to the hard
// one and returns it.
func raiseOwnFileLimit(t *testing.T) uint64 {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	return lim.Cur
}

// dialFrom connects to addr from the loopback address local (e.g.
// 127.0.0.2), so that the daemon sees another client.
func dialFrom(local, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return d.Dial("tcp", addr)
}

// sendFrom delivers msg to the SMTP gateway at addr from the loopback
// address local.
func sendFrom(local, addr, from string, msg []byte) error {
	conn, err := dialFrom(local, addr)
	if err != nil {
		return err
	}
	return deliverOn(conn, from, msg, 30*time.Second, 2*time.Minute)
}

// deliverOn sends msg to support@localhost over conn and closes it; the
// 250 counts, how the session ends does not.
func deliverOn(conn net.Conn, from string, msg []byte, command, submission time.Duration) error {
	c := smtp.NewClient(conn)
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = command, submission
	if err := c.SendMail(from, []string{"support@localhost"}, bytes.NewReader(msg)); err != nil {
		return err
	}
	c.Quit()
	return nil
}

// apiTicket opens a ticket through the Mail API and returns its id.
func apiTicket(t *testing.T, d *crashDaemon) string {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(d.data, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	api := client.New(d.url(), strings.TrimSpace(string(token)), &http.Client{Timeout: 10 * time.Second})
	res, err := api.Receive(context.Background(), wire.ReceiveRequest{From: "ann@example.org", Subject: "Printer", Message: "It jams."})
	if err != nil {
		t.Fatal(err)
	}
	return res.TicketID
}

// getWithin fetches url with a fresh connection from 127.0.0.2 and fails
// the test unless it answers 200 within limit.
func getWithin(t *testing.T, url string, limit time.Duration) {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	hc := &http.Client{Timeout: limit, Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialer.DialContext}}
	start := time.Now()
	resp, err := hc.Get(url)
	if err != nil {
		t.Errorf("GET %s during the flood: %v", url, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s during the flood: %s", url, resp.Status)
	}
	t.Logf("GET %s answered %d in %v", url, resp.StatusCode, time.Since(start).Round(time.Millisecond))
}

// flood opens n TCP connections to addr from 127.0.0.1 that never send
// anything, with 200 dialers and a short timeout (the kernel's accept queue
// is only so long), for at most 60 s; they stay open until the test ends.
func flood(t *testing.T, addr string, n int) {
	var (
		mu      sync.Mutex
		conns   []net.Conn
		failed  atomic.Int64
		next    atomic.Int64
		stopped = time.Now().Add(60 * time.Second)
	)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	start := time.Now()
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && time.Now().Before(stopped) {
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("flood: %d connections opened, %d dials failed, in %v", len(conns), failed.Load(), time.Since(start).Round(time.Millisecond))
}

// TestFloodOfRawConnections opens thousands of TCP connections that never
// send anything (as many as the test's file limit allows, at most 20,000,
// from 127.0.0.1) to the SMTP port, and in a second daemon to the web port,
// of a daemon that may have 4096 files open, and holds them: /healthz and
// the ticket page must still answer, and a client from 127.0.0.2 must still
// deliver a mail.
func TestFloodOfRawConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("the flood test takes up to a minute")
	}
	n := 20000
	if own := raiseOwnFileLimit(t); own < uint64(n)+1000 {
		n = int(own) - 1000
	}
	for _, port := range []string{"smtp", "http"} {
		t.Run(port, func(t *testing.T) {
			d := startCrashDaemon(t)
			if err := setFileLimit(d.cmd.Process.Pid, daemonFileLimit); err != nil {
				t.Fatalf("limit the daemon's open files: %v", err)
			}
			id := apiTicket(t, d)
			target := d.smtpAddr
			if port == "http" {
				target = d.httpAddr
			}
			flood(t, target, n)
			if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid)); err == nil {
				t.Logf("the daemon has %d files open", len(fds))
				if len(fds) > 1000 {
					t.Errorf("the daemon has %d files open during the flood; the listener limits should keep it near the per-address limit", len(fds))
				}
			}
			getWithin(t, d.url()+"/healthz", 5*time.Second)
			getWithin(t, d.url()+"/ticket?id="+id, 5*time.Second)
			msg := []byte("From: bob@example.org\r\nTo: support@localhost\r\nSubject: During the flood\r\nMessage-ID: <flood@example.org>\r\n\r\nStill here?\r\n")
			sent := time.Now()
			if err := sendFrom("127.0.0.2", d.smtpAddr, "bob@example.org", msg); err != nil {
				t.Errorf("a client from 127.0.0.2 could not deliver during the flood: %v", err)
			} else {
				t.Logf("a client from 127.0.0.2 delivered in %v", time.Since(sent).Round(time.Millisecond))
			}
			if b, err := os.ReadFile(d.logPath); err == nil {
				t.Logf("daemon output: %d lines", bytes.Count(b, []byte("\n")))
			}
		})
	}
}

// bigMessage is a mail of about size bytes: a short text and a base64
// attachment of random bytes.
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Carol <carol@example.org>\r\nTo: support@localhost\r\nSubject: Big logs\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BOUNDARY\r\n\r\n" +
		"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nThe logs are attached.\r\n" +
		"--BOUNDARY\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=logs.bin\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	raw := make([]byte, size*3/4)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 0 && b.Len() < size-100 {
		k := min(76, len(enc))
		b.WriteString(enc[:k])
		b.WriteString("\r\n")
		enc = enc[k:]
	}
	b.WriteString("--BOUNDARY--\r\n")
	return b.Bytes()
}

// vmHWM is the peak resident memory of process pid in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the daemon's memory: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM: %q", v)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestParallelLargeMessagesMemory sends 10 messages of 24 MiB each by SMTP
// at once; every one must be stored with its attachment, and the daemon's
// peak resident memory must stay under 300 MiB.
func TestParallelLargeMessagesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 240 MiB of mail")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the daemon's peak memory")
	}
	d := startCrashDaemon(t)
	body := bigMessage(24 << 20)
	before := vmHWM(t, d.cmd.Process.Pid)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			msg := append(fmt.Appendf(nil, "Message-ID: <big-%d@example.org>\r\n", i), body...)
			if err := sendFrom("127.0.0.1", d.smtpAddr, "carol@example.org", msg); err != nil {
				errs <- fmt.Errorf("message %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	peak := vmHWM(t, d.cmd.Process.Pid)
	t.Logf("10 × %d bytes in %v; daemon peak resident memory %d MiB (%d MiB before)",
		len(body), time.Since(start).Round(time.Millisecond), peak>>20, before>>20)
	if peak > 300<<20 {
		t.Errorf("peak resident memory %d MiB, want under 300 MiB", peak>>20)
	}
	// The worker turns them into tickets, as memory-bounded.
	waitUntil(t, "the inbound queue drains", 60*time.Second, func() bool { return crashQueued(t, d) == 0 })
	if peak := vmHWM(t, d.cmd.Process.Pid); peak > 300<<20 {
		t.Errorf("peak resident memory %d MiB after the worker, want under 300 MiB", peak>>20)
	}
	d.stop()
	db := openCrashDB(t, d.dbPath(), false)
	defer db.Close()
	if n := crashQueryInt(t, db, `SELECT COUNT(*) FROM attachments`); n != 10 {
		t.Errorf("%d attachments stored, want 10", n)
	}
}

// readReply reads one (possibly multi-line) SMTP reply and returns its
// last line, or "" when the connection closed first.
func readReply(c net.Conn, r *bufio.Reader) string {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return ""
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

// TestIdleSessionsFromOneAddress: 100 sessions from 127.0.0.1 that only
// say EHLO and NOOP hold at most 10 places (the others get 421 4.7.0 at
// once), and a client from 127.0.0.2 still delivers.
func TestIdleSessionsFromOneAddress(t *testing.T) {
	d := startCrashDaemon(t)
	var admitted, refused int
	var other []string
	for range 100 {
		c, err := dialFrom("127.0.0.1", d.smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		greeting := readReply(c, r)
		switch {
		case strings.HasPrefix(greeting, "421 4.7.0 too many connections from your address"):
			refused++
			continue
		case !strings.HasPrefix(greeting, "220 "):
			other = append(other, greeting)
			continue
		}
		for _, cmd := range []string{"EHLO idle.example", "NOOP"} {
			fmt.Fprintf(c, "%s\r\n", cmd)
			if got := readReply(c, r); !strings.HasPrefix(got, "250") {
				other = append(other, cmd+": "+got)
			}
		}
		admitted++
	}
	if admitted != 10 || refused != 90 || len(other) > 0 {
		t.Errorf("100 sessions from one address: %d admitted, %d refused with 421 4.7.0, others %q; want 10 and 90", admitted, refused, other)
	}
	msg := []byte("From: dora@example.org\r\nTo: support@localhost\r\nSubject: Next in line\r\nMessage-ID: <idle@example.org>\r\n\r\nHello\r\n")
	if err := sendFrom("127.0.0.2", d.smtpAddr, "dora@example.org", msg); err != nil {
		t.Errorf("a client from 127.0.0.2 while 127.0.0.1 idles: %v", err)
	}
}

// TestLMTPFinishesOnSIGTERM: a message whose body is still arriving when
// the daemon gets SIGTERM is received, stored and answered 250, and the
// daemon then exits 0.
func TestLMTPFinishesOnSIGTERM(t *testing.T) {
	lmtpAddr := crashFreePorts(t, 1)[0]
	d := startCrashDaemon(t, "--lmtp", lmtpAddr)
	c, err := net.Dial("tcp", lmtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if got := readReply(c, r); !strings.HasPrefix(got, "220") {
		t.Fatalf("greeting: %q", got)
	}
	for _, cmd := range []string{"LHLO mta.example", "MAIL FROM:<erin@example.org>", "RCPT TO:<support@localhost>", "DATA"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if got := readReply(c, r); !strings.HasPrefix(got, "250") && !strings.HasPrefix(got, "354") {
			t.Fatalf("%s: %q", cmd, got)
		}
	}
	fmt.Fprintf(c, "From: erin@example.org\r\nTo: support@localhost\r\nSubject: Shutdown\r\nMessage-ID: <lmtp-term@example.org>\r\n\r\nFirst half,\r\n")
	d.cmd.Process.Signal(syscall.SIGTERM)
	// The session is in DATA since the 354; the rest of the message goes
	// out once the daemon drains: its web port no longer accepts.
	waitUntil(t, "the daemon to start draining", 10*time.Second, func() bool {
		hc, err := net.Dial("tcp", d.httpAddr)
		if err == nil {
			hc.Close()
		}
		return err != nil
	})
	fmt.Fprintf(c, "second half.\r\n.\r\n")
	if got := readReply(c, r); !strings.HasPrefix(got, "250") {
		t.Errorf("the message in flight at SIGTERM: %q, want 250", got)
	}
	fmt.Fprintf(c, "QUIT\r\n")
	readReply(c, r)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatal("ticketd did not stop within 30s of SIGTERM")
	}
	if state := d.cmd.ProcessState; !state.Success() {
		t.Errorf("ticketd after SIGTERM: %v, want exit status 0", state)
	}
	d.cmd = nil
	// The 250 came after the inbound queue's commit; the next start's
	// worker makes the ticket.
	d.restart()
	waitUntil(t, "the inbound queue drains", 20*time.Second, func() bool { return crashQueued(t, d) == 0 })
	d.stop()
	db := openCrashDB(t, d.dbPath(), false)
	defer db.Close()
	if n := crashQueryInt(t, db, `SELECT COUNT(*) FROM tickets`); n != 1 {
		t.Errorf("%d tickets after the LMTP delivery, want 1", n)
	}
}

// TestListenerMetrics: refusals are counted by listener and reason, and
// the open connections are exported.
func TestListenerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	lm := newListenerMetrics(reg)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lm.limit(reg, raw, connlimit.Config{Name: "smtp", MaxPerAddress: 1, RefuseAddress: smtpRefuseAddress}, nil)
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	first, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	defer (<-accepted).Close()
	second, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := readReply(second, bufio.NewReader(second)); got != strings.TrimSpace(string(smtpRefuseAddress)) {
		t.Errorf("second connection from one address: %q", got)
	}
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"ticketd_connections_open listener=smtp":                         1,
		"ticketd_connections_refused_total listener=smtp reason=address": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// TestSpoolCleanedAtStart: a spool file left by a daemon that was killed
// is removed when the daemon starts again.
func TestSpoolCleanedAtStart(t *testing.T) {
	d := startCrashDaemon(t)
	d.kill()
	left := filepath.Join(d.data, spoolDir, "message-1234.eml")
	if err := os.WriteFile(left, []byte("From: a@example.org\r\n\r\nhalf a mess"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.restart()
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the left-over spool file is still there after a start (%v)", err)
	}
}
