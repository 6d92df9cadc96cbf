package dovecottest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"trivialtickets/mailgw/dovecottest"
)

// greeting returns the first line the server at addr sends.
func greeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read greeting: %v", err)
	}
	return line
}

func TestStartRestartStop(t *testing.T) {
	s := dovecottest.Start(t)
	if s.Host != "127.0.0.1" || s.Port == 0 || s.User == "" || s.Password == "" || s.TLSPort != 0 {
		t.Fatalf("server = %+v", s)
	}
	if g := greeting(t, s.Addr()); !strings.Contains(g, "Dovecot") {
		t.Errorf("greeting %q", g)
	}
	port := s.Port
	s.Restart()
	if s.Port != port {
		t.Errorf("port %d after restart, want %d", s.Port, port)
	}
	if g := greeting(t, s.Addr()); !strings.HasPrefix(g, "* OK") {
		t.Errorf("greeting after restart %q", g)
	}
	s.Stop()
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("%s still answers after Stop", s.Addr())
	}
	if !strings.Contains(s.Log(), "starting up") {
		t.Errorf("log:\n%s", s.Log())
	}
}
