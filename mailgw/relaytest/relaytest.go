// Package relaytest starts a real SMTP server for tests: Debian's aiosmtpd
// (package python3-aiosmtpd, run with /usr/bin/python3) on 127.0.0.1, in
// the role of the relay that the daemon's outgoing mail is handed to. The
// relay stores every message it accepts as a file, and a test can make it
// answer with temporary (451) and permanent (550) failures, offer STARTTLS
// and require AUTH, to check how a sender behaves against a server it did
// not write.
//
// It is test infrastructure only: it listens on loopback, runs one Python
// process per relay, and must never be imported by non-test code. When
// /usr/bin/python3 or aiosmtpd is missing, Start skips the test, except
// under CI=true, where it fails it.
package relaytest

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Python is the interpreter the relay runs on: Debian's, which is the one
// python3-aiosmtpd is installed for (a python3 earlier on PATH, such as a
// pyenv one, usually lacks it).
const Python = "/usr/bin/python3"

// MissingMessage is the skip (or, under CI=true, failure) message when the
// relay cannot run.
const MissingMessage = "aiosmtpd not installed (Debian package python3-aiosmtpd)"

// FailFile is the name of the control file in Relay.Dir: while it exists the
// relay answers DATA with "451 4.3.0 try again later" and stores nothing.
const FailFile = "fail451"

// startTimeout bounds how long Start waits for the relay to listen.
const startTimeout = 15 * time.Second

//go:embed relay.py
var script []byte

// Options configure a relay. The zero value is a plain SMTP relay without
// TLS or authentication that accepts every recipient not starting with
// "reject".
type Options struct {
	// TLSCertFile and TLSKeyFile (PEM; both or neither) make the relay offer
	// STARTTLS (RFC 3207). SelfSigned writes a suitable pair.
	TLSCertFile string
	TLSKeyFile  string
	// RequireTLS refuses everything but EHLO, NOOP, QUIT and STARTTLS with
	// 530 before STARTTLS (RFC 3207 §4), and offers AUTH only after it.
	// It needs the TLS files.
	RequireTLS bool
	// AuthUser and AuthPassword make the relay offer AUTH PLAIN and LOGIN
	// (RFC 4954) and refuse MAIL with "530 5.7.0 Authentication required"
	// until the client logged in with them. Wrong credentials get 535.
	// AUTH is offered on the plain connection too unless RequireTLS.
	AuthUser     string
	AuthPassword string
}

// Message is one message the relay accepted.
type Message struct {
	From        string   // envelope sender (MAIL FROM), "" for the null sender
	To          []string // accepted envelope recipients, in RCPT order
	MailOptions []string // MAIL FROM parameters, e.g. "SMTPUTF8", "BODY=8BITMIME"
	TLS         bool     // the message came over a STARTTLS connection
	AuthUser    string   // the user the client authenticated as, if any
	Raw         []byte   // the message as sent, CRLF line ends, dots unstuffed
}

// Relay is a running relay. Its methods that take no testing.TB report
// failures to the one given to Start, so they must be called from the test's
// goroutine.
type Relay struct {
	tb      testing.TB
	dir     string
	logFile string
	port    int

	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when the process has been waited for
	err   error         // the result of Wait, set before done is closed
	stop  sync.Once
}

// Start runs a relay for the life of the test and returns once it answers
// its 220 greeting. t.Cleanup stops it.
func Start(tb testing.TB, opts Options) *Relay {
	tb.Helper()
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		tb.Fatal("relaytest: TLSCertFile and TLSKeyFile go together")
	}
	if opts.RequireTLS && opts.TLSCertFile == "" {
		tb.Fatal("relaytest: RequireTLS needs TLSCertFile and TLSKeyFile")
	}
	if _, err := os.Stat(Python); err != nil {
		Missing(tb, MissingMessage)
	}
	work := tb.TempDir()
	r := &Relay{tb: tb, dir: filepath.Join(work, "mail"), logFile: filepath.Join(work, "relay.log"), done: make(chan struct{})}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		tb.Fatalf("relaytest: %v", err)
	}
	scriptFile := filepath.Join(work, "relay.py")
	if err := os.WriteFile(scriptFile, script, 0o644); err != nil {
		tb.Fatalf("relaytest: write script: %v", err)
	}
	portFile := filepath.Join(work, "port")
	// -I: isolated mode, so PYTHON* variables and user site-packages of the
	// developer's environment cannot change what runs.
	args := []string{"-I", scriptFile, "--dir", r.dir, "--port-file", portFile}
	if opts.TLSCertFile != "" {
		args = append(args, "--tls-cert", opts.TLSCertFile, "--tls-key", opts.TLSKeyFile)
	}
	if opts.RequireTLS {
		args = append(args, "--require-tls")
	}
	if opts.AuthUser != "" {
		args = append(args, "--auth-user", opts.AuthUser)
	}
	logf, err := os.Create(r.logFile)
	if err != nil {
		tb.Fatalf("relaytest: %v", err)
	}
	defer logf.Close()
	r.cmd = exec.Command(Python, args...)
	r.cmd.Env = append(os.Environ(), "RELAYTEST_AUTH_PASSWORD="+opts.AuthPassword)
	r.cmd.Stdout = logf
	r.cmd.Stderr = logf
	r.cmd.SysProcAttr = newProcessGroup()
	// The relay exits when its standard input closes, so it does not
	// outlive a test binary that dies without running its cleanups.
	stdin, err := r.cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("relaytest: %v", err)
	}
	r.stdin = stdin
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("relaytest: start %s: %v", Python, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	tb.Cleanup(func() {
		r.Stop()
		if tb.Failed() {
			tb.Logf("relaytest: relay output:\n%s", r.output())
		}
	})

	r.port = r.waitPort(portFile)
	if err := greet(r.Addr()); err != nil {
		tb.Fatalf("relaytest: relay at %s: %v\n%s", r.Addr(), err, r.output())
	}
	return r
}

// Missing skips the test with msg, or fails it when the environment
// variable CI is "true": in CI a missing program is a broken runner, not a
// reason to test less.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// waitPort waits for the relay to write the port it listens on, or to die.
func (r *Relay) waitPort(portFile string) int {
	r.tb.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		b, err := os.ReadFile(portFile)
		if err == nil {
			port, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || port <= 0 || port > 65535 {
				r.tb.Fatalf("relaytest: bad port file %q", b)
			}
			return port
		}
		if !errors.Is(err, os.ErrNotExist) {
			r.tb.Fatalf("relaytest: %v", err)
		}
		select {
		case <-r.done:
			var ee *exec.ExitError
			if errors.As(r.err, &ee) && ee.ExitCode() == 3 { // relay.py: no aiosmtpd
				Missing(r.tb, MissingMessage)
			}
			r.tb.Fatalf("relaytest: relay exited before listening: %v\n%s", r.err, r.output())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.tb.Fatalf("relaytest: relay not listening after %v\n%s", startTimeout, r.output())
		}
	}
}

// greet connects once and reads the 220 greeting (RFC 5321 §4.3.1).
func greet(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	tc := textproto.NewConn(conn)
	if _, _, err := tc.ReadResponse(220); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if err := tc.PrintfLine("QUIT"); err != nil {
		return fmt.Errorf("quit: %w", err)
	}
	if _, _, err := tc.ReadResponse(221); err != nil {
		return fmt.Errorf("quit: %w", err)
	}
	return nil
}

// output is what the relay process wrote to stdout and stderr, at most the
// last 8 KiB.
func (r *Relay) output() string {
	b, err := os.ReadFile(r.logFile)
	if err != nil {
		return fmt.Sprintf("(no relay output: %v)", err)
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// Addr is the relay's address, "127.0.0.1:port".
func (r *Relay) Addr() string { return net.JoinHostPort(r.Host(), strconv.Itoa(r.port)) }

// Host is the relay's IP address, "127.0.0.1".
func (r *Relay) Host() string { return "127.0.0.1" }

// Port is the relay's TCP port.
func (r *Relay) Port() int { return r.port }

// Dir is the directory the relay stores messages in and looks for FailFile.
func (r *Relay) Dir() string { return r.dir }

// SetFail451 switches temporary failure on or off: while on, DATA is
// answered "451 4.3.0 try again later" and nothing is stored. It takes
// effect for the next DATA.
func (r *Relay) SetFail451(on bool) {
	r.tb.Helper()
	name := filepath.Join(r.dir, FailFile)
	var err error
	if on {
		err = os.WriteFile(name, nil, 0o644)
	} else if err = os.Remove(name); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		r.tb.Fatalf("relaytest: set fail451 %v: %v", on, err)
	}
}

// record is a stored message as relay.py writes it.
type record struct {
	From        string   `json:"from"`
	To          []string `json:"to"`
	MailOptions []string `json:"mail_options"`
	TLS         bool     `json:"tls"`
	AuthUser    string   `json:"auth_user"`
	Raw         []byte   `json:"raw"` // base64
}

// Messages returns the messages stored so far, in the order they arrived.
func (r *Relay) Messages() []Message {
	r.tb.Helper()
	ms, err := r.read()
	if err != nil {
		r.tb.Fatalf("relaytest: %v", err)
	}
	return ms
}

// WaitMessages waits until at least n messages are stored and returns them
// all; it fails t when that takes longer than timeout.
func (r *Relay) WaitMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms, err := r.read()
		if err != nil {
			t.Fatalf("relaytest: %v", err)
		}
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("relaytest: %d messages after %v, want %d", len(ms), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// read loads the message files msg-<n>.json in the order of n.
func (r *Relay) read() ([]Message, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("read relay directory: %w", err)
	}
	type numbered struct {
		n    int
		name string
	}
	var files []numbered
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Name(), "msg-")
		if !ok {
			continue
		}
		if digits, ok = strings.CutSuffix(digits, ".json"); !ok {
			continue
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			continue
		}
		files = append(files, numbered{n, e.Name()})
	}
	slices.SortFunc(files, func(a, b numbered) int { return a.n - b.n })
	ms := make([]Message, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(r.dir, f.name))
		if err != nil {
			return nil, fmt.Errorf("read stored message: %w", err)
		}
		var rec record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("decode stored message %s: %w", f.name, err)
		}
		ms = append(ms, Message(rec))
	}
	return ms, nil
}

// Stop ends the relay process and its process group and waits for it. It
// is safe to call more than once; t.Cleanup calls it too. Stored messages
// stay readable.
func (r *Relay) Stop() {
	r.stop.Do(func() {
		r.stdin.Close()
		terminate(r.cmd.Process)
		select {
		case <-r.done:
			return
		case <-time.After(5 * time.Second):
		}
		kill(r.cmd.Process)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			r.tb.Errorf("relaytest: relay process %d did not exit", r.cmd.Process.Pid)
		}
	})
}

// Header returns the first value of header field name in m.Raw, unfolded,
// or "" when there is none.
func (m Message) Header(name string) string {
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(m.Raw)))
	h, err := tr.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	return h.Get(name)
}
