// Package connlimit bounds the connections a listener hands to a server,
// before any protocol work: a total number open at once and a number per
// client address, as Postfix's anvil does for smtpd. A connection over a
// limit is refused in the accept loop itself (an optional one-line answer,
// then close), so a flood of connections costs neither a goroutine nor a
// file descriptor for longer than a moment. Refusals are counted through a
// callback and logged as a summary at most once per interval, never once
// each. It knows no protocol; cmd/ticketd wraps every listener with it.
package connlimit

import (
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// Reasons a connection is refused, as passed to Config.OnRefuse and logged.
const (
	ReasonTotal   = "total"   // the listener has MaxTotal connections open
	ReasonAddress = "address" // the client address has MaxPerAddress open
)

// IPv6Prefix is the prefix length by which IPv6 clients are counted
// together: one customer network usually gets a /64, so counting single
// addresses would let one client open 2^64 times the limit.
const IPv6Prefix = 64

// Config sets the limits of one listener. A zero limit means no limit.
type Config struct {
	Name          string // the listener in logs: "http", "smtp", "lmtp"
	MaxTotal      int    // connections open at once
	MaxPerAddress int    // connections open at once from one client address (IPv6: one /64); not for unix sockets
	// RefuseTotal and RefuseAddress are written to a refused connection
	// before it is closed, if not nil (e.g. an SMTP 421 line). The write
	// never waits: a client that does not read gets only the close.
	RefuseTotal, RefuseAddress []byte
	OnRefuse                   func(reason string) // called for every refused connection (e.g. a Prometheus counter)
	Logger                     *slog.Logger        // gets the summaries of refusals; none when nil
	LogEvery                   time.Duration       // least time between two summaries; 10 s when 0
}

// Listener is a net.Listener that enforces Config. Close the connections
// it returns: that frees their places.
type Listener struct {
	net.Listener
	cfg Config

	mu      sync.Mutex
	open    int
	perAddr map[string]int
	pending map[string]int // refusals not yet logged, by reason
	timer   *time.Timer    // flushes pending; nil when nothing is pending
}

// New wraps ln with the limits of cfg.
func New(ln net.Listener, cfg Config) *Listener {
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 10 * time.Second
	}
	return &Listener{Listener: ln, cfg: cfg, perAddr: map[string]int{}, pending: map[string]int{}}
}

// Accept returns the next connection within the limits; connections over
// a limit are refused here and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := AddressKey(c.RemoteAddr())
		if reason := l.admit(key); reason != "" {
			l.refuse(c, reason)
			continue
		}
		return &conn{Conn: c, l: l, key: key}, nil
	}
}

// Open is the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Close closes the listener and logs what refusals are still pending.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.flush()
	return err
}

// admit takes a place for a connection from key, or says why there is
// none.
func (l *Listener) admit(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxTotal > 0 && l.open >= l.cfg.MaxTotal {
		return ReasonTotal
	}
	if key != "" && l.cfg.MaxPerAddress > 0 && l.perAddr[key] >= l.cfg.MaxPerAddress {
		return ReasonAddress
	}
	l.open++
	if key != "" {
		l.perAddr[key]++
	}
	return ""
}

// release gives back the place of a connection from key.
func (l *Listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if key == "" {
		return
	}
	if l.perAddr[key]--; l.perAddr[key] <= 0 {
		delete(l.perAddr, key)
	}
}

// refuse counts the refusal, then answers c with the line for reason, if
// any, and closes it: a client that sees its connection closed finds the
// refusal counted.
func (l *Listener) refuse(c net.Conn, reason string) {
	l.count(reason)
	msg := l.cfg.RefuseTotal
	if reason == ReasonAddress {
		msg = l.cfg.RefuseAddress
	}
	if len(msg) > 0 {
		// A new connection's send buffer is empty, so the write does
		// not block; the deadline only guards against the unexpected.
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		c.Write(msg)
	}
	c.Close()
}

// count records a refusal for OnRefuse and the next summary.
func (l *Listener) count(reason string) {
	if l.cfg.OnRefuse != nil {
		l.cfg.OnRefuse(reason)
	}
	if l.cfg.Logger == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending[reason]++
	if l.timer == nil {
		l.timer = time.AfterFunc(l.cfg.LogEvery, l.flush)
	}
}

// flush logs the refusals counted since the last summary.
func (l *Listener) flush() {
	l.mu.Lock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if len(l.pending) == 0 || l.cfg.Logger == nil {
		l.mu.Unlock()
		return
	}
	var parts []string
	total := 0
	for reason, n := range l.pending {
		parts = append(parts, reason)
		total += n
	}
	sort.Strings(parts)
	attrs := []any{"listener", l.cfg.Name, "refused", total, "open", l.open}
	for _, reason := range parts {
		attrs = append(attrs, "over_"+reason, l.pending[reason])
	}
	clear(l.pending)
	l.mu.Unlock()
	l.cfg.Logger.Warn("refused connections over the listener's limits ("+strings.Join(parts, ", ")+")", attrs...)
}

// AddressKey is the key by which connections from addr are counted: the
// IP address (an IPv4-mapped IPv6 address as IPv4, an IPv6 address as its
// /64 prefix), or "" for an address without an IP (a unix socket), which
// has no per-address limit.
func AddressKey(addr net.Addr) string {
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if addr == nil {
			return ""
		}
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return ""
		}
		ip = ap.Addr()
	}
	if !ip.IsValid() {
		return ""
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(IPv6Prefix)
		return p.String()
	}
	return ip.String()
}

// conn frees its place in the listener when closed (once).
type conn struct {
	net.Conn
	l    *Listener
	key  string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// NetConn returns the connection underneath, as tls.Conn does.
func (c *conn) NetConn() net.Conn { return c.Conn }
