package imappoll_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"trivialtickets/core"
	"trivialtickets/mailgw/imappoll"
	"trivialtickets/store/sqlite"
)

const (
	testUser     = "support@help.example"
	testPassword = "secret"
	waitFor      = 10 * time.Second
)

// memServer is go-imap's in-memory IMAP server on a loopback port. Its
// mail survives Stop and Start, as a real server's would.
type memServer struct {
	t          *testing.T
	addr       string
	caps       imap.CapSet
	noKeywords bool // see testSession
	mem        *imapmemserver.Server
	user       *imapmemserver.User
	mu         sync.Mutex
	srv        *imapserver.Server
}

// startMem starts a server advertising caps (nil: plain IMAP4rev1, which
// has IDLE but neither MOVE, UIDPLUS nor ESEARCH) with the test user and an
// empty INBOX.
func startMem(t *testing.T, caps imap.CapSet, opts ...func(*memServer)) *memServer {
	t.Helper()
	u := imapmemserver.NewUser(testUser, testPassword)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	m := &memServer{t: t, caps: caps, mem: imapmemserver.New(), user: u}
	for _, o := range opts {
		o(m)
	}
	m.mem.AddUser(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = ln.Addr().String()
	m.serve(ln)
	t.Cleanup(m.Stop)
	return m
}

func (m *memServer) serve(ln net.Listener) {
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return testSession{m.mem.NewSession().(imapserver.SessionIMAP4rev2), m.noKeywords}, nil, nil
		},
		Caps:         m.caps,
		InsecureAuth: true, // plain text on loopback
		Logger:       log.New(io.Discard, "", 0),
		DebugWriter:  debugW(),
	})
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
	go srv.Serve(ln)
}

// testSession is an imapmemserver session with two changes. Its IDLE
// checks for updates every 20ms: imapmemserver's own loses an update queued
// between the command before IDLE and the start of IDLE (go-imap
// v2.0.0-beta.8 sends it only with the next update), and the poller's tests
// must not depend on that race. With noKeywords, SELECT announces
// PERMANENTFLAGS without \* (no keywords), like some servers do.
type testSession struct {
	imapserver.SessionIMAP4rev2
	noKeywords bool
}

func (s testSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	data, err := s.SessionIMAP4rev2.Select(mailbox, options)
	if err == nil && s.noKeywords {
		data.PermanentFlags = []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagDeleted, imap.FlagAnswered, imap.FlagDraft}
	}
	return data, err
}

func (s testSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}

// Stop closes the listener and every connection.
func (m *memServer) Stop() {
	m.mu.Lock()
	srv := m.srv
	m.srv = nil
	m.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Start serves again on the same address.
func (m *memServer) Start() {
	m.t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", m.addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		m.t.Fatalf("listen again on %s: %v", m.addr, err)
	}
	m.serve(ln)
}

func (m *memServer) port() int {
	_, p, _ := net.SplitHostPort(m.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// account is the test user's account on addr without TLS.
func account(addr string) imappoll.Account {
	host, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	return imappoll.Account{Host: host, Port: port, TLS: imappoll.TLSNone, Username: testUser, Password: testPassword}
}

// fakeReceiver records messages; told to fail, it fails like a store that
// is down.
type fakeReceiver struct {
	mu    sync.Mutex
	got   []core.InboundMessage
	tries int
	fail  bool
}

var errStoreDown = errors.New("store is down")

func (f *fakeReceiver) Receive(_ context.Context, m core.InboundMessage) (core.ReceiveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if f.fail {
		return core.ReceiveResult{}, errStoreDown
	}
	f.got = append(f.got, m)
	return core.ReceiveResult{TicketID: fmt.Sprintf("ticket%d", len(f.got)), Created: true}, nil
}

func (f *fakeReceiver) setFail(b bool) {
	f.mu.Lock()
	f.fail = b
	f.mu.Unlock()
}

func (f *fakeReceiver) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries
}

// ids returns the Message-IDs received, in order.
func (f *fakeReceiver) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var l []string
	for _, m := range f.got {
		l = append(l, m.MessageID)
	}
	return l
}

func (f *fakeReceiver) messages() []core.InboundMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]core.InboundMessage(nil), f.got...)
}

// runPoller makes a Poller of cfg (with a quick back-off) and runs it until
// the test ends; then Run must return nil.
func runPoller(t testing.TB, cfg imappoll.Config, setup ...func(*imappoll.Poller)) *imappoll.Poller {
	t.Helper()
	p, _ := runStoppable(t, cfg, setup...)
	return p
}

// runStoppable is runPoller that also returns a stop function: it ends
// the poller and waits for Run to return, so that whatever the poller was
// doing is done when stop returns.
func runStoppable(t testing.TB, cfg imappoll.Config, setup ...func(*imappoll.Poller)) (*imappoll.Poller, func()) {
	t.Helper()
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = 10*time.Millisecond, 100*time.Millisecond
	}
	// The poller's log is shown when the test fails.
	var logs logBuffer
	if cfg.Logger == nil {
		cfg.Logger = logs.logger()
	} else {
		cfg.Logger = slog.New(multiHandler{cfg.Logger.Handler(), logs.logger().Handler()})
	}
	p, err := imappoll.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, f := range setup {
		f(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Run did not return within %v after cancel", waitFor)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("poller log:\n%s", logs.String())
		}
		stop()
	})
	return p, stop
}

// eventually waits (generously) until cond holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", waitFor, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mail is a small customer mail from Alice.
func mail(msgID, subject, body string) []byte {
	return []byte("From: Alice <alice@example.com>\r\nTo: support@help.example\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + msgID + ">\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
}

// mailClient is a second IMAP client that delivers mail (APPEND) and looks
// at the mailbox as a person would.
type mailClient struct {
	t testing.TB
	c *imapclient.Client
}

func dialMail(t testing.TB, addr, user, password string) *mailClient {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &mailClient{t: t, c: c}
}

// append delivers raw into mailbox.
func (m *mailClient) append(mailbox string, raw []byte, flags ...imap.Flag) {
	m.t.Helper()
	cmd := m.c.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write(raw); err != nil {
		m.t.Fatalf("append: %v", err)
	}
	if err := cmd.Close(); err != nil {
		m.t.Fatalf("append: %v", err)
	}
	if _, err := cmd.Wait(); err != nil {
		m.t.Fatalf("append: %v", err)
	}
}

// msg is one message as seen in a mailbox.
type msg struct {
	uid       imap.UID
	messageID string
	flags     []imap.Flag
}

func (x msg) has(f imap.Flag) bool {
	for _, g := range x.flags {
		if strings.EqualFold(string(g), string(f)) {
			return true
		}
	}
	return false
}

// list returns the messages of mailbox in UID order (read-only).
func (m *mailClient) list(mailbox string) []msg {
	m.t.Helper()
	data, err := m.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		m.t.Fatalf("examine %s: %v", mailbox, err)
	}
	if data.NumMessages == 0 {
		return nil
	}
	bufs, err := m.c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
	if err != nil {
		m.t.Fatalf("fetch %s: %v", mailbox, err)
	}
	var l []msg
	for _, b := range bufs {
		x := msg{uid: b.UID, flags: b.Flags}
		if b.Envelope != nil {
			x.messageID = b.Envelope.MessageID
		}
		l = append(l, x)
	}
	return l
}

// all reports whether every message of l has flag f (and l is not empty).
func all(l []msg, f imap.Flag) bool {
	for _, x := range l {
		if !x.has(f) {
			return false
		}
	}
	return len(l) > 0
}

// logBuffer collects a logger's text output, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newService is a real core.Service over a fresh SQLite store.
func newService(t testing.TB) *core.Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{testUser}})
}

// tickets lists every ticket of svc (up to 500).
func tickets(t testing.TB, svc *core.Service) []core.Ticket {
	t.Helper()
	l, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return l.Tickets
}

// ticketCount is the number of tickets of svc.
func ticketCount(t testing.TB, svc *core.Service) int {
	t.Helper()
	l, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return l.Total
}

// debugW shows the test server's side of every IMAP conversation on
// standard error when IMAPDEBUG is set (IMAPDEBUG=1 go test -run X -v).
func debugW() io.Writer {
	if os.Getenv("IMAPDEBUG") != "" {
		return os.Stderr
	}
	return nil
}

// multiHandler logs to two handlers.
type multiHandler [2]slog.Handler

func (m multiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return m[0].Enabled(ctx, l) || m[1].Enabled(ctx, l)
}

func (m multiHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range m {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m multiHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return multiHandler{m[0].WithAttrs(as), m[1].WithAttrs(as)}
}

func (m multiHandler) WithGroup(name string) slog.Handler {
	return multiHandler{m[0].WithGroup(name), m[1].WithGroup(name)}
}
