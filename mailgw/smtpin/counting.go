package smtpin

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// countingListener wraps every accepted connection in a countingConn.
type countingListener struct {
	net.Listener
	cfg *Config
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, cfg: l.cfg}, nil
}

// countingConn counts the commands of a connection outside a message.
//
// go-smtp sets the read deadline before it reads each command line (and
// not while it reads a message body), so each SetReadDeadline outside
// DATA/BDAT is one command: this sees every command, EHLO, NOOP, RSET,
// VRFY, HELP and unknown ones included, which the Session interface does
// not. It is also where the first command gets its shorter timeout.
type countingConn struct {
	net.Conn
	cfg *Config

	commands  atomic.Int64 // command reads since the last message
	inMessage atomic.Bool  // Data is running: reads belong to the message
	started   bool         // the first command was waited for

	mu  sync.Mutex
	out io.Writer // where answers go: the connection, or TLS over it after STARTTLS
}

// errTooManyCommands ends a connection that sent too many commands; it is
// net.ErrClosed, so go-smtp closes the connection without a word of its
// own.
var errTooManyCommands = fmt.Errorf("too many commands without a message: %w", net.ErrClosed)

func (c *countingConn) SetReadDeadline(t time.Time) error {
	if c.inMessage.Load() {
		return c.Conn.SetReadDeadline(t)
	}
	if !c.started {
		c.started = true
		if first := time.Now().Add(c.cfg.FirstCommandTimeout); t.IsZero() || t.After(first) {
			t = first
		}
	}
	if n := c.commands.Add(1); n > int64(c.cfg.MaxCommands) {
		c.cfg.Logger.Warn("closing a connection that sends commands but no message",
			"remote", c.RemoteAddr().String(), "commands", n-1)
		c.mu.Lock()
		out := c.out
		c.mu.Unlock()
		if out == nil {
			out = c.Conn
		}
		c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(out, line(ErrTooManyCommands))
		return errTooManyCommands
	}
	return c.Conn.SetReadDeadline(t)
}

// setOut makes w the writer of the connection's own answers.
func (c *countingConn) setOut(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out = w
}

// messageDone starts the count again after a message.
func (c *countingConn) messageDone() {
	c.commands.Store(0)
	c.inMessage.Store(false)
}

// NetConn returns the connection underneath.
func (c *countingConn) NetConn() net.Conn { return c.Conn }

// findCounting finds the countingConn under c (under TLS, for instance),
// or nil.
func findCounting(c net.Conn) *countingConn {
	for c != nil {
		if cc, ok := c.(*countingConn); ok {
			return cc
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}
