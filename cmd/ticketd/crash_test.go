//go:build linux

package main

// The crash tests run the real ticketd binary as a child process, kill it
// with SIGKILL at random moments while clients keep it busy, start it again
// on the same data directory and ports, and check that nothing the daemon
// acknowledged (an SMTP 250, an HTTP 200, a relay's 250) was lost or
// recorded twice, and that the SQLite file is intact after every kill.
//
// They are Linux-only: each daemon runs in a process group of its own, with
// Pdeathsig, so that it never outlives the test binary, even one that dies
// without running its cleanups.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", for checking the daemon's file

	"trivialtickets/core"
	"trivialtickets/mailgw/relaytest"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui/mailapi/client"
	"trivialtickets/webui/mailapi/wire"
)

const (
	// crashStartTimeout bounds how long a (re)started daemon may take to
	// answer on its ports.
	crashStartTimeout = 20 * time.Second
	// crashLoadTimeout bounds the load of one test, kills included.
	crashLoadTimeout = 45 * time.Second
	// crashWorkers is the number of concurrent clients.
	crashWorkers = 10
	// crashBinDirPrefix names the directory the daemon binary is built
	// into, followed by the test process's id.
	crashBinDirPrefix = "ticketd-crashtest-"
)

// crashBinary is the daemon binary, built once per test binary.
var crashBinary struct {
	once sync.Once
	path string
	noGo bool // the go command is not on PATH
	err  error
}

// daemonBinary builds ticketd with "go build" in this package's directory
// (the test's working directory) once per test binary and returns its path.
// It goes into os.TempDir()/ticketd-crashtest-<pid>; such directories of
// test processes that no longer run are removed first, since a test binary
// has no hook to remove its own at exit.
func daemonBinary(t *testing.T) string {
	t.Helper()
	crashBinary.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			crashBinary.noGo = true
			return
		}
		removeStaleBinaryDirs()
		dir := filepath.Join(os.TempDir(), crashBinDirPrefix+strconv.Itoa(os.Getpid()))
		if err := os.RemoveAll(dir); err != nil {
			crashBinary.err = err
			return
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			crashBinary.err = err
			return
		}
		path := filepath.Join(dir, "ticketd")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		out, err := exec.CommandContext(ctx, goTool, "build", "-o", path, ".").CombinedOutput()
		if err != nil {
			crashBinary.err = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		t.Logf("built %s in %v", path, time.Since(start).Round(time.Millisecond))
		crashBinary.path = path
	})
	if crashBinary.noGo {
		relaytest.Missing(t, "the go command is not on PATH; the crash tests build the daemon with it")
	}
	if crashBinary.err != nil {
		t.Fatalf("building ticketd: %v", crashBinary.err)
	}
	return crashBinary.path
}

// removeStaleBinaryDirs removes the binary directories of test processes
// that have exited.
func removeStaleBinaryDirs() {
	entries, _ := os.ReadDir(os.TempDir())
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Name(), crashBinDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(digits)
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
		}
	}
}

// errCrashAddrInUse is returned by crashDaemon.start when the daemon could not
// listen because another process took one of its ports.
var errCrashAddrInUse = errors.New("address already in use")

// crashDaemon is the ticketd binary running as a child process on a data
// directory and two loopback ports that stay the same across restarts.
// Its methods must be called from the test's goroutine.
type crashDaemon struct {
	t        *testing.T
	bin      string
	data     string   // the data directory
	extra    []string // arguments besides the standard ones
	httpAddr string
	smtpAddr string
	logPath  string // stdout and stderr of every start, one after the other

	starts, kills int

	cmd  *exec.Cmd     // nil while stopped
	done chan struct{} // closed when cmd has been waited for
}

// startCrashDaemon starts the daemon on a fresh data directory with free
// loopback ports and the standard arguments (plain HTTP, the SMTP gateway,
// warnings only) followed by extra. t.Cleanup kills what is left running
// and, when the test failed, logs the daemon's output.
func startCrashDaemon(t *testing.T, extra ...string) *crashDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &crashDaemon{t: t, bin: daemonBinary(t), data: filepath.Join(dir, "data"), extra: extra,
		logPath: filepath.Join(dir, "ticketd.log")}
	t.Cleanup(d.cleanup)
	for try := 1; ; try++ {
		ports := crashFreePorts(t, 2)
		d.httpAddr, d.smtpAddr = ports[0], ports[1]
		err := d.start()
		if err == nil {
			return d
		}
		if !errors.Is(err, errCrashAddrInUse) || try == 5 {
			t.Fatalf("start ticketd: %v", err)
		}
	}
}

// crashFreePorts returns n distinct loopback addresses that were free a moment
// ago: listened on and closed again. Another process may take one in
// between; the caller retries with new ones.
func crashFreePorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// url is the base URL of the web interface and the Mail API.
func (d *crashDaemon) url() string { return "http://" + d.httpAddr }

// dbPath is the daemon's SQLite file.
func (d *crashDaemon) dbPath() string { return filepath.Join(d.data, dbFile) }

// start runs the daemon and waits until both ports accept connections and
// /healthz answers 200 (the HTTP server is the last thing the daemon
// starts).
func (d *crashDaemon) start() error {
	logf, err := os.OpenFile(d.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	d.starts++
	fmt.Fprintf(logf, "=== test: start %d at %s\n", d.starts, time.Now().Format(time.StampMilli))
	args := append([]string{"--data", d.data, "--http", d.httpAddr, "--no-tls", "--smtp", d.smtpAddr,
		"--log-level", "warn"}, d.extra...)
	cmd := exec.Command(d.bin, args...)
	cmd.Env = crashEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	// A process group of its own, so that a kill reaches all of it; and
	// SIGKILL when the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("run %s: %w", d.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	d.cmd, d.done = cmd, done
	return d.waitReady()
}

// crashEnv is the test's environment without TICKETD_* variables, so that
// a developer's settings cannot change the daemon under test.
func crashEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TICKETD_") {
			env = append(env, kv)
		}
	}
	return env
}

func (d *crashDaemon) waitReady() error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(crashStartTimeout)
	for {
		select {
		case <-d.done:
			state := d.cmd.ProcessState
			d.cmd = nil
			out := d.lastStartOutput()
			if strings.Contains(out, "address already in use") {
				return fmt.Errorf("%w: %s", errCrashAddrInUse, strings.TrimSpace(out))
			}
			return fmt.Errorf("ticketd exited while starting (%v):\n%s", state, out)
		default:
		}
		if d.answers(hc) {
			return nil
		}
		if time.Now().After(deadline) {
			d.killGroup()
			return fmt.Errorf("ticketd not ready after %v:\n%s", crashStartTimeout, d.lastStartOutput())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answers reports whether /healthz answers 200 and the SMTP port accepts a
// connection.
func (d *crashDaemon) answers(hc *http.Client) bool {
	resp, err := hc.Get(d.url() + "/healthz")
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	conn, err := net.DialTimeout("tcp", d.smtpAddr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// lastStartOutput is what the daemon wrote since its latest start.
func (d *crashDaemon) lastStartOutput() string {
	b, _ := os.ReadFile(d.logPath)
	s := string(b)
	if i := strings.LastIndex(s, "=== test: start "); i >= 0 {
		s = s[i:]
	}
	return s
}

// killGroup sends SIGKILL to the daemon's process group and waits for the
// daemon.
func (d *crashDaemon) killGroup() {
	if d.cmd == nil {
		return
	}
	// The group id is the daemon's pid (Setpgid). ESRCH: already gone.
	if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		d.cmd.Process.Kill()
	}
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.t.Errorf("ticketd (pid %d) did not die of SIGKILL", d.cmd.Process.Pid)
	}
	d.cmd = nil
}

// kill ends the daemon with SIGKILL, as a power cut or the OOM killer
// would, and checks that the SQLite file is intact.
func (d *crashDaemon) kill() {
	d.t.Helper()
	if d.cmd == nil {
		d.t.Fatal("kill: ticketd is not running")
	}
	d.note("SIGKILL at %s", time.Now().Format(time.StampMilli))
	d.killGroup()
	d.kills++
	checkCrashIntegrity(d.t, d.dbPath())
}

// note appends a line of the test's own to the daemon's log.
func (d *crashDaemon) note(format string, args ...any) {
	f, err := os.OpenFile(d.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "=== test: "+format+"\n", args...)
}

// restart starts the daemon again on the same data directory and ports,
// retrying for a while if a port is still (or by chance) taken.
func (d *crashDaemon) restart() {
	d.t.Helper()
	deadline := time.Now().Add(crashStartTimeout)
	for {
		err := d.start()
		if err == nil {
			return
		}
		if !errors.Is(err, errCrashAddrInUse) || time.Now().After(deadline) {
			d.t.Fatalf("restart ticketd: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the daemon gracefully with SIGTERM, expects exit status 0 and
// checks that the SQLite file is intact.
func (d *crashDaemon) stop() {
	d.t.Helper()
	if d.cmd == nil {
		d.t.Fatal("stop: ticketd is not running")
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.killGroup()
		d.t.Fatal("ticketd did not stop within 30s of SIGTERM")
	}
	state := d.cmd.ProcessState
	d.cmd = nil
	if !state.Success() {
		d.t.Errorf("ticketd after SIGTERM: %v, want exit status 0:\n%s", state, d.lastStartOutput())
	}
	checkCrashIntegrity(d.t, d.dbPath())
}

// cleanup kills a daemon still running and logs the daemon's output when
// the test failed.
func (d *crashDaemon) cleanup() {
	d.killGroup()
	if d.t.Failed() {
		b, _ := os.ReadFile(d.logPath)
		if len(b) > 64<<10 {
			b = append([]byte("…\n"), b[len(b)-64<<10:]...)
		}
		d.t.Logf("ticketd output (%d starts, %d kills):\n%s", d.starts, d.kills, b)
	}
}

// openCrashDB opens the daemon's SQLite file with database/sql, read-only
// (mode=ro) unless write is set. Only while the daemon is stopped.
func openCrashDB(t *testing.T, path string, write bool) *sql.DB {
	t.Helper()
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)"
	if !write {
		dsn += "&mode=ro"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// checkCrashIntegrity runs PRAGMA integrity_check on a read-only connection to
// the daemon's file; a read-only connection neither checkpoints nor removes
// the WAL, so the next start still recovers from what the killed daemon
// left.
func checkCrashIntegrity(t *testing.T, path string) {
	t.Helper()
	db := openCrashDB(t, path, false)
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity_check of %s: %v", path, err)
	}
	defer rows.Close()
	var res []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("integrity_check: %v", err)
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Fatalf("integrity_check of %s = %q, want ok", path, res)
	}
}

// crashQueryInt runs a query that returns one integer.
func crashQueryInt(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// crashRand returns the random source of a test's kill schedule and logs
// its seed.
func crashRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill schedule seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed>>1))
}

// crashKillMoment waits for the next moment to kill the daemon: a random 50–300
// ms, or sooner once progress() reaches threshold, so that every kill lands
// while work is in flight however fast the machine is. It returns false at
// once when done is closed first (a nil done never is).
func crashKillMoment(rng *rand.Rand, done <-chan struct{}, progress func() int, threshold int) bool {
	timer := time.NewTimer(50*time.Millisecond + time.Duration(rng.Int64N(int64(250*time.Millisecond))))
	defer timer.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false
		case <-timer.C:
			return true
		case <-tick.C:
			if progress() >= threshold {
				return true
			}
		}
	}
}

// crashRetryWait sleeps before a client's next try (growing from 10 ms to 200
// ms, with jitter); it returns ctx's error when ctx ends first.
func crashRetryWait(ctx context.Context, try int) error {
	d := 10 * time.Millisecond << min(try, 5)
	d = min(d, 200*time.Millisecond)
	d = d/2 + rand.N(d/2+1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// crashClients runs send(i) for every i in 0…n-1 from crashWorkers clients
// in the background. The channel it returns is closed when every send has
// returned; wait waits for that and fails the test (FailNow) with every
// error a send returned.
func crashClients(t *testing.T, n int, send func(i int) error) (allDone <-chan struct{}, wait func()) {
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for i := range next {
				if err := send(i); err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done, func() {
		t.Helper()
		<-done
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// crashKillDuring SIGKILLs and restarts d 3–5 times while the clients of
// n messages work, each kill at the next share of n done (see
// crashKillMoment), and stops early once allDone is closed.
func crashKillDuring(d *crashDaemon, rng *rand.Rand, allDone <-chan struct{}, progress func() int, n int) {
	kills := 3 + rng.IntN(3)
	for k := range kills {
		if !crashKillMoment(rng, allDone, progress, n*(k+1)/(kills+1)) {
			return
		}
		d.kill()
		d.restart()
	}
}

// checkKills fails the test when fewer than 3 kills happened before the
// n messages were acknowledged.
func (d *crashDaemon) checkKills(n int) {
	if d.kills < 3 {
		d.t.Errorf("only %d kills happened before all %d messages were acknowledged; want at least 3", d.kills, n)
	}
}

// TestCrashSMTP delivers N messages, each with a Message-ID of its own, to
// the SMTP gateway from 10 clients while the daemon is SIGKILLed and
// restarted 3–5 times. A client that gets no 250 (refused or reset
// connection, 4xx) sends the same message again until it does. At the end
// every Message-ID is in the store exactly once, with one ticket and one
// confirmation each, and nothing else.
func TestCrashSMTP(t *testing.T) {
	d := startCrashDaemon(t)
	rng := crashRand(t)
	const n = 300
	ctx, cancel := context.WithTimeout(t.Context(), crashLoadTimeout)
	defer cancel()

	var acked, retries, retried atomic.Int64
	allDone, wait := crashClients(t, n, func(i int) error {
		r, err := crashDeliverSMTP(ctx, d.smtpAddr, crashSMTPFrom(i), crashSMTPMessage(i))
		retries.Add(int64(r))
		if r > 0 {
			retried.Add(1)
		}
		if err == nil {
			acked.Add(1)
		}
		return err
	})
	start := time.Now()
	crashKillDuring(d, rng, allDone, func() int { return int(acked.Load()) }, n)
	wait()
	elapsed := time.Since(start)
	crashDrain(t, d) // the 250 came after the inbound queue's commit
	d.stop()
	d.checkKills(n)

	db := openCrashDB(t, d.dbPath(), false)
	defer db.Close()
	entries := map[string]int{}
	rows, err := db.Query(`SELECT message_id, COUNT(*) FROM entries GROUP BY message_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var k int
		if err := rows.Scan(&id, &k); err != nil {
			t.Fatal(err)
		}
		entries[id] = k
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for i := range n {
		id := crashSMTPMessageID(i)
		if entries[id] != 1 {
			t.Errorf("message %d (%s): %d entries, want 1", i, id, entries[id])
		}
		if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM message_ids WHERE message_id = ? AND inbound = 1`, id); k != 1 {
			t.Errorf("message %d (%s): %d rows in message_ids, want 1", i, id, k)
		}
		if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM tickets WHERE customer = ? AND subject = ?`,
			crashSMTPFrom(i), crashSMTPSubject(i)); k != 1 {
			t.Errorf("message %d: %d tickets of %s, want 1", i, k, crashSMTPFrom(i))
		}
	}
	if len(entries) != n {
		t.Errorf("%d distinct Message-IDs among the entries, want %d", len(entries), n)
	}
	if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM tickets`); k != n {
		t.Errorf("%d tickets, want %d", k, n)
	}
	// One confirmation per ticket, queued in the same transaction.
	if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM outbox`); k != n {
		t.Errorf("%d outbox mails, want %d confirmations", k, n)
	}
	if k := crashQueryInt(t, db, `SELECT COUNT(DISTINCT to_addr) FROM outbox`); k != n {
		t.Errorf("confirmations to %d addresses, want %d", k, n)
	}
	t.Logf("%d messages acknowledged in %v with %d kills (%d starts); %d messages needed more than one try, %d tries failed",
		n, elapsed.Round(time.Millisecond), d.kills, d.starts, retried.Load(), retries.Load())
}

func crashSMTPFrom(i int) string      { return fmt.Sprintf("c%d@example.org", i) }
func crashSMTPSubject(i int) string   { return fmt.Sprintf("Crash test %d", i) }
func crashSMTPMessageID(i int) string { return fmt.Sprintf("crash-smtp-%d@example.org", i) }

func crashSMTPMessage(i int) []byte {
	return fmt.Appendf(nil, "From: Customer %d <%s>\r\nTo: support@localhost\r\nSubject: %s\r\n"+
		"Message-ID: <%s>\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMessage number %d.\r\n",
		i, crashSMTPFrom(i), crashSMTPSubject(i), crashSMTPMessageID(i), time.Now().Format(time.RFC1123Z), i)
}

// crashDeliverSMTP hands msg to the gateway at addr until it answers 250,
// sending it again after a refused or broken connection or a 4xx answer.
// It returns the number of retries, and an error for a 5xx answer or when
// ctx ends first.
func crashDeliverSMTP(ctx context.Context, addr, from string, msg []byte) (retries int, err error) {
	for try := 0; ; try++ {
		err := crashSendSMTP(addr, from, msg)
		if err == nil {
			return retries, nil
		}
		if se, ok := errors.AsType[*smtp.SMTPError](err); ok && se.Code >= 500 {
			return retries, fmt.Errorf("permanent refusal: %w", err)
		}
		retries++
		if werr := crashRetryWait(ctx, try); werr != nil {
			return retries, fmt.Errorf("%w (last error: %w)", werr, err)
		}
	}
}

// crashSendSMTP makes one delivery attempt on a new connection.
func crashSendSMTP(addr, from string, msg []byte) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	return deliverOn(conn, from, msg, 10*time.Second, 10*time.Second)
}

// crashAck is a message the Mail API acknowledged with 200.
type crashAck struct {
	ticketID, from, subject, text string
}

// crashAcks collects the acknowledgements of several clients.
type crashAcks struct {
	mu   sync.Mutex
	acks []crashAck
}

func (a *crashAcks) add(ack crashAck) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.acks = append(a.acks, ack)
}

// len is how many were acknowledged so far.
func (a *crashAcks) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.acks)
}

// TestCrashMailAPI posts messages to POST /api/receive from 10 clients
// while the daemon is SIGKILLed and restarted 3–5 times, until 300 were
// answered 200. A JSON message has no Message-ID, so a failed request is
// sent again as a new message (a new sender address) and may or may not
// have made a ticket; every ticket answered with 200 must exist, with its
// customer, subject and text, and no request may have made two tickets.
func TestCrashMailAPI(t *testing.T) {
	d := startCrashDaemon(t, "--no-api-token")
	rng := crashRand(t)
	const n = 300
	ctx, cancel := context.WithTimeout(t.Context(), crashLoadTimeout)
	defer cancel()
	hc := crashHTTPClient()
	api := client.New(d.url(), "", hc)

	var acks crashAcks
	var attempts, retries, retried atomic.Int64
	allDone, wait := crashClients(t, n, func(i int) error {
		ack, r, err := crashReceiveAPI(ctx, api, i, &attempts)
		retries.Add(int64(r))
		if r > 0 {
			retried.Add(1)
		}
		if err == nil {
			acks.add(ack)
		}
		return err
	})
	start := time.Now()
	crashKillDuring(d, rng, allDone, acks.len, n)
	wait()
	elapsed := time.Since(start)
	hc.CloseIdleConnections()
	d.stop()
	d.checkKills(n)

	// Through the store and core, as the ticket page reads them.
	st, err := sqlite.Open(t.Context(), d.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(st, core.Config{})
	for _, a := range acks.acks {
		v, err := svc.ViewTicket(t.Context(), nil, a.ticketID)
		if err != nil {
			t.Errorf("acknowledged ticket %s of %s: %v", a.ticketID, a.from, err)
			continue
		}
		if v.Ticket.Customer != a.from || v.Ticket.Subject != a.subject || len(v.Entries) != 1 || v.Entries[0].Text != a.text {
			t.Errorf("ticket %s = %+v with %d entries, want customer %s, subject %q and the text %q",
				a.ticketID, v.Ticket, len(v.Entries), a.from, a.subject, a.text)
		}
	}
	list, err := svc.ListTickets(t.Context(), core.TicketQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	db := openCrashDB(t, d.dbPath(), false)
	defer db.Close()
	if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM (SELECT customer FROM tickets GROUP BY customer HAVING COUNT(*) > 1)`); k != 0 {
		t.Errorf("%d requests made more than one ticket", k)
	}
	if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM outbox`); k != list.Total {
		t.Errorf("%d outbox mails for %d tickets, want one confirmation each", k, list.Total)
	}
	if list.Total < n || list.Total > int(attempts.Load()) {
		t.Errorf("%d tickets, want from %d (acknowledged) to %d (requests)", list.Total, n, attempts.Load())
	}
	t.Logf("%d messages acknowledged in %v with %d kills (%d starts); %d messages needed more than one try, "+
		"%d requests failed; %d tickets in all, so %d failed requests had been committed", n, elapsed.Round(time.Millisecond),
		d.kills, d.starts, retried.Load(), retries.Load(), list.Total, list.Total-n)
}

// crashReceiveAPI posts message i until the Mail API answers 200, each attempt
// from a sender address of its own (c<i>.<attempt>@example.org) so that an
// attempt that was committed without its answer arriving can be told from
// the acknowledged one. It returns the acknowledged message and the number
// of retries; an error for a 4xx answer or when ctx ends first.
func crashReceiveAPI(ctx context.Context, api *client.Client, i int, attempts *atomic.Int64) (crashAck, int, error) {
	for try := 0; ; try++ {
		attempts.Add(1)
		req := wire.ReceiveRequest{
			From:    fmt.Sprintf("c%d.%d@example.org", i, try),
			Subject: fmt.Sprintf("API crash test %d", i),
			Message: fmt.Sprintf("Message %d, attempt %d: %x", i, try, rand.Uint64()),
		}
		res, err := api.Receive(ctx, req)
		if err == nil {
			if !res.Created || res.TicketID == "" {
				return crashAck{}, try, fmt.Errorf("answer %+v, want a new ticket", res)
			}
			return crashAck{ticketID: res.TicketID, from: req.From, subject: req.Subject, text: req.Message}, try, nil
		}
		if ae, ok := errors.AsType[*client.APIError](err); ok && ae.StatusCode < 500 {
			return crashAck{}, try, fmt.Errorf("refused: %w", err)
		}
		if werr := crashRetryWait(ctx, try); werr != nil {
			return crashAck{}, try, fmt.Errorf("%w (last error: %w)", werr, err)
		}
	}
}

// TestCrashOutbox runs the dispatcher (outbound = "smtp") against a real
// relay while tickets are made through the Mail API, switches the relay's
// 451 on for short spells, and SIGKILLs the daemon 3–5 times during
// delivery. Every confirmation must reach the relay, each to its own
// customer; one resent mail per kill is allowed (a kill between the relay's
// 250 and the commit of "sent"), no more. Once all is delivered, a restart
// sends nothing again.
//
// The dispatcher leases each claimed mail (2 minutes); on SQLite the
// restarted daemon claims under the same name and takes back at once what
// the killed one held, which the test counts. Retries after the relay's 451
// wait retry_min = 200ms (doubling to retry_max = 1s).
func TestCrashOutbox(t *testing.T) {
	relay := relaytest.Start(t, relaytest.Options{})
	conf := filepath.Join(t.TempDir(), "ticketd.toml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `outbound = "smtp"

[relay]
host = "127.0.0.1"
port = %d
tls = "none"
from = "bounces@localhost"
retry_min = "200ms"
retry_max = "1s"
`, relay.Port()), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startCrashDaemon(t, "--config", conf, "--no-api-token")
	rng := crashRand(t)
	const m = 60
	ctx, cancel := context.WithTimeout(t.Context(), crashLoadTimeout)
	defer cancel()
	hc := crashHTTPClient()
	api := client.New(d.url(), "", hc)

	var acks crashAcks
	var attempts atomic.Int64
	_, wait := crashClients(t, m, func(i int) error {
		ack, _, err := crashReceiveAPI(ctx, api, i, &attempts)
		if err == nil {
			acks.add(ack)
		}
		return err
	})

	start := time.Now()
	delivered := func() int { return crashRelayCount(t, relay.Dir()) }
	kills := 3 + rng.IntN(3)
	stranded, spells := 0, 0
	for k := range kills {
		if k%2 == 0 {
			// The relay refuses for a moment; whatever the dispatcher
			// sends meanwhile is deferred.
			relay.SetFail451(true)
			spells++
			time.Sleep(100*time.Millisecond + time.Duration(rng.Int64N(int64(200*time.Millisecond))))
			relay.SetFail451(false)
		}
		crashKillMoment(rng, nil, delivered, m*(k+1)/(kills+1))
		d.kill()
		stranded += crashLeased(t, d.dbPath())
		d.restart()
	}
	wait()

	// Wait until the outbox has nothing left to send.
	deadline := time.Now().Add(30 * time.Second)
	for {
		pending, err := crashOutboxPending(d.url(), d.data)
		if err == nil && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not empty 30s after the last restart: %d pending (%v)", pending, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	hc.CloseIdleConnections()
	d.stop()

	type outMail struct {
		to, state string
		attempts  int
	}
	db := openCrashDB(t, d.dbPath(), false)
	outbox := map[string]outMail{} // by Message-ID
	rows, err := db.Query(`SELECT message_id, to_addr, state, attempts FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	deferrals := 0
	for rows.Next() {
		var id string
		var om outMail
		if err := rows.Scan(&id, &om.to, &om.state, &om.attempts); err != nil {
			t.Fatal(err)
		}
		outbox[strings.Trim(id, "<>")] = om
		deferrals += om.attempts
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	tickets := crashQueryInt(t, db, `SELECT COUNT(*) FROM tickets`)
	db.Close()

	received := map[string]int{} // relay messages by Message-ID
	for _, msg := range relay.Messages() {
		id := strings.Trim(msg.Header("Message-ID"), "<>")
		received[id]++
		om, ok := outbox[id]
		if !ok {
			t.Errorf("the relay got a mail that is not in the outbox: Message-ID %q to %v", id, msg.To)
			continue
		}
		if len(msg.To) != 1 || msg.To[0] != om.to {
			t.Errorf("mail %s went to %v, want %s", id, msg.To, om.to)
		}
	}
	duplicates := 0
	for id, om := range outbox {
		if om.state != string(core.MailSent) {
			t.Errorf("mail %s to %s is %s, want sent", id, om.to, om.state)
		}
		switch k := received[id]; {
		case k == 0:
			t.Errorf("mail %s to %s never reached the relay", id, om.to)
		case k > 1:
			duplicates += k - 1
			t.Logf("mail %s to %s reached the relay %d times", id, om.to, k)
		}
	}
	if len(outbox) != tickets {
		t.Errorf("%d outbox mails for %d tickets, want one confirmation each", len(outbox), tickets)
	}
	byAddr := map[string]bool{}
	for _, om := range outbox {
		byAddr[om.to] = true
	}
	for _, a := range acks.acks {
		if !byAddr[a.from] {
			t.Errorf("no confirmation for the acknowledged ticket %s of %s", a.ticketID, a.from)
		}
	}
	if duplicates > d.kills {
		t.Errorf("%d mails reached the relay twice with %d kills; at most one per kill may", duplicates, d.kills)
	}
	total := delivered()

	// A restart sends nothing again.
	d.restart()
	quiet := time.Now().Add(3 * time.Second) // three dispatcher rounds (1s interval)
	for time.Now().Before(quiet) {
		if k := delivered(); k != total {
			t.Fatalf("after a restart with nothing pending the relay got %d more mails", k-total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop()
	t.Logf("%d tickets acknowledged (%d in all, %d requests); %d mails delivered in %v with %d kills (%d starts) "+
		"and %d spells of 451; %d deferrals recorded; %d mails held by a killed daemon and taken back by its successor; %d duplicates",
		m, tickets, attempts.Load(), total, elapsed.Round(time.Millisecond), d.kills, d.starts, spells, deferrals,
		stranded, duplicates)
}

// crashHTTPClient is an HTTP client with a transport of its own, so that
// its idle connections can be closed before a graceful stop: net/http's
// Shutdown waits up to 5 s for a connection on which no request has been
// sent yet (the transport may dial one and then not need it).
func crashHTTPClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

// crashRelayCount counts the messages the relay stored (msg-*.json in its
// directory) without reading them.
func crashRelayCount(t *testing.T, dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("read relay directory: %v", err)
		return 0
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "msg-") && strings.HasSuffix(e.Name(), ".json") {
			n++
		}
	}
	return n
}

// crashLeased counts the pending mails that the killed daemon's dispatcher
// held when it died. The daemon must be stopped.
func crashLeased(t *testing.T, path string) int {
	t.Helper()
	db := openCrashDB(t, path, false)
	defer db.Close()
	return crashQueryInt(t, db, `SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND lease_until > 0`)
}

var crashPendingMetric = regexp.MustCompile(`(?m)^ticketd_outbox_mails\{state="pending"\} (\d+)$`)

// crashOutboxPending reads the number of pending outbox mails from /metrics,
// with the metrics token of the data directory.
func crashOutboxPending(base, data string) (int, error) {
	b, err := scrapeMetrics(base, data)
	if err != nil {
		return -1, err
	}
	sm := crashPendingMetric.FindSubmatch(b)
	if sm == nil {
		return -1, errors.New("/metrics without the pending outbox gauge")
	}
	return strconv.Atoi(string(sm[1]))
}

// scrapeMetrics reads /metrics of the daemon at base with the metrics
// token of its data directory.
func scrapeMetrics(base, data string) ([]byte, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	token, err := os.ReadFile(filepath.Join(data, metricsTokenFile))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	return b, nil
}
