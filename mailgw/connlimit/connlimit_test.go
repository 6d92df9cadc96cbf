package connlimit

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAddressKey(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 25}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::ffff"), Port: 25}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1"), Port: 25}, "2001:db8:1:3::/64"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 25}, "::/64"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0", Port: 25}, "fe80::/64"},
		{&net.UnixAddr{Name: "/run/ticketd/lmtp.sock", Net: "unix"}, ""},
		{&net.UnixAddr{Name: "", Net: "unix"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := AddressKey(tt.addr); got != tt.want {
			t.Errorf("AddressKey(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestAccounting runs a sequence of connects (+key) and closes (-key)
// against the limits and checks each answer.
func TestAccounting(t *testing.T) {
	type step struct {
		op   string // "+" connect, "-" close one
		key  string
		want string // the refusal reason for "+", "" when admitted
	}
	tests := []struct {
		name          string
		total, perKey int
		steps         []step
	}{
		{"per address, IPv4", 10, 2, []step{
			{"+", "192.0.2.1", ""}, {"+", "192.0.2.1", ""}, {"+", "192.0.2.1", ReasonAddress},
			{"+", "192.0.2.2", ""}, {"-", "192.0.2.1", ""}, {"+", "192.0.2.1", ""}, {"+", "192.0.2.1", ReasonAddress},
		}},
		{"per address, IPv6 /64", 10, 1, []step{
			{"+", "2001:db8::/64", ""}, {"+", "2001:db8::/64", ReasonAddress}, {"+", "2001:db8:0:1::/64", ""},
		}},
		{"total before address", 3, 2, []step{
			{"+", "a", ""}, {"+", "b", ""}, {"+", "c", ""}, {"+", "d", ReasonTotal}, {"-", "a", ""}, {"+", "d", ""},
		}},
		{"no key has no address limit", 3, 1, []step{
			{"+", "", ""}, {"+", "", ""}, {"+", "", ""}, {"+", "", ReasonTotal},
		}},
		{"zero means no limit", 0, 0, []step{
			{"+", "a", ""}, {"+", "a", ""}, {"+", "a", ""}, {"+", "a", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(nil, Config{MaxTotal: tt.total, MaxPerAddress: tt.perKey})
			for i, s := range tt.steps {
				if s.op == "-" {
					l.release(s.key)
					continue
				}
				if got := l.admit(s.key); got != s.want {
					t.Errorf("step %d (+%s): got %q, want %q", i, s.key, got, s.want)
				}
			}
		})
	}
	l := New(nil, Config{MaxPerAddress: 1})
	l.admit("a")
	l.release("a")
	if len(l.perAddr) != 0 || l.open != 0 {
		t.Errorf("after the last close: open %d, per address %v; want nothing left", l.open, l.perAddr)
	}
}

// dialFrom connects to addr from the loopback address local.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serveEcho accepts from l and greets each connection with "hello\n",
// keeping it open until the client closes it.
func serveEcho(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.Write([]byte("hello\n"))
			c.Read(make([]byte, 1))
		}()
	}
}

func firstLine(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

// TestListenerTCP: a third connection from 127.0.0.1 gets the refusal line
// and is closed, one from 127.0.0.2 is served, and closing one frees its
// place.
func TestListenerTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int64
	l := New(ln, Config{Name: "test", MaxTotal: 10, MaxPerAddress: 2,
		RefuseAddress: []byte("421 4.7.0 too many connections from your address\r\n"),
		OnRefuse:      func(string) { refused.Add(1) }})
	defer l.Close()
	go serveEcho(l)
	addr := ln.Addr().String()

	a := dialFrom(t, "127.0.0.1", addr)
	b := dialFrom(t, "127.0.0.1", addr)
	for _, c := range []net.Conn{a, b} {
		if got := firstLine(t, c); got != "hello\n" {
			t.Fatalf("within the limit: %q", got)
		}
	}
	third := dialFrom(t, "127.0.0.1", addr)
	if got := firstLine(t, third); !strings.HasPrefix(got, "421 4.7.0 too many connections from your address") {
		t.Errorf("third connection from one address: %q, want the 421", got)
	}
	if n, err := third.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("the refused connection stays open")
	}
	if got := firstLine(t, dialFrom(t, "127.0.0.2", addr)); got != "hello\n" {
		t.Errorf("another address is refused: %q", got)
	}
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for l.Open() > 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := firstLine(t, dialFrom(t, "127.0.0.1", addr)); got != "hello\n" {
		t.Errorf("after a close, a new connection is refused: %q", got)
	}
	if refused.Load() != 1 {
		t.Errorf("%d refusals counted, want 1", refused.Load())
	}
}

// TestListenerUnix: a unix socket has no address, so only the total
// limit applies.
func TestListenerUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Config{MaxTotal: 3, MaxPerAddress: 1, RefuseTotal: []byte("busy\n")})
	defer l.Close()
	go serveEcho(l)
	var got []string
	for range 4 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got = append(got, strings.TrimSpace(firstLine(t, c)))
	}
	if want := "hello hello hello busy"; strings.Join(got, " ") != want {
		t.Errorf("four connections to a unix socket with 3 allowed: %q, want %q", got, want)
	}
}

// TestRefusalsLoggedAsSummary: 200 refusals give one log line with the
// count, not 200.
func TestRefusalsLoggedAsSummary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, nil))
	l := New(ln, Config{Name: "smtp", MaxPerAddress: 1, Logger: log, LogEvery: time.Hour})
	go serveEcho(l)
	keep := dialFrom(t, "127.0.0.1", ln.Addr().String())
	firstLine(t, keep)
	for range 200 {
		c := dialFrom(t, "127.0.0.1", ln.Addr().String())
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 1)) // until the listener closes it
		c.Close()
	}
	l.Close() // flushes the summary
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("%d log lines for 200 refusals, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "refused=200") || !strings.Contains(out, "over_address=200") || !strings.Contains(out, "listener=smtp") {
		t.Errorf("summary without the counts: %s", out)
	}
}

// syncWriter serialises writes to a buffer.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
