package smtpin_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/parse"
	"trivialtickets/mailgw/smtpin"
	"trivialtickets/store/sqlite"
)

// gatewayWith starts the gateway with cfg (Service filled in) on a
// loopback port.
func gatewayWith(t testing.TB, cfg smtpin.Config) (addr string, svc *core.Service) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc = core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}})
	cfg.Service = svc
	if cfg.Queue == nil {
		cfg.Queue = smtpin.NewQueue(smtpin.QueueConfig{Service: svc, Owner: "test", Poll: 50 * time.Millisecond})
	}
	ctx, cancel := context.WithCancel(context.Background())
	worker := make(chan struct{})
	go func() { cfg.Queue.Run(ctx); close(worker) }()
	t.Cleanup(func() { cancel(); <-worker })
	if cfg.Domain == "" {
		cfg.Domain = "help.example"
	}
	srv := smtpin.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), svc
}

// processed waits until the gateway's queue worker has turned every
// queued message into a ticket or an entry: the queue is empty.
func processed(t testing.TB, svc *core.Service) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := svc.InboundQueueStats(context.Background())
		if err == nil && st.Depth == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the inbound queue did not drain in 10 s: %+v, %v", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawSession is a line-level SMTP client.
type rawSession struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawSession {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &rawSession{t: t, conn: c, r: bufio.NewReader(c)}
	if got := s.reply(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("greeting: %q", got)
	}
	return s
}

// reply reads one reply (the last line of a multi-line one), or "" when
// the connection is closed.
func (s *rawSession) reply() string {
	s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ""
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

func (s *rawSession) cmd(line string) string {
	fmt.Fprintf(s.conn, "%s\r\n", line)
	return s.reply()
}

// TestEveryCommandCounts: 200 commands of any kind without a message are
// allowed; the 201st gets 421 and the connection closes. (go-smtp itself
// closes a connection after a few unknown or malformed commands.)
func TestEveryCommandCounts(t *testing.T) {
	addr, _ := gateway(t, 1<<20)
	for _, command := range []string{"NOOP", "RSET", "EHLO client.example", "HELO client.example", "VRFY alice", "HELP"} {
		t.Run(strings.Fields(command)[0], func(t *testing.T) {
			s := dialRaw(t, addr)
			for i := 1; i <= 200; i++ {
				if got := s.cmd(command); strings.HasPrefix(got, "421") || got == "" {
					t.Fatalf("command %d of 200: %q", i, got)
				}
			}
			if got := s.cmd(command); !strings.HasPrefix(got, "421 4.7.0 Too many commands") {
				t.Fatalf("command 201: %q, want 421 4.7.0", got)
			}
			if got := s.reply(); got != "" {
				t.Errorf("the connection stays open after 421: %q", got)
			}
		})
	}
}

// TestMessageStartsTheCountAgain: a client that delivers a message now and
// then may send many commands in all.
func TestMessageStartsTheCountAgain(t *testing.T) {
	addr, _ := gatewayWith(t, smtpin.Config{MaxCommands: 10})
	s := dialRaw(t, addr)
	s.cmd("EHLO client.example")
	for i := range 5 {
		for range 3 {
			s.cmd("NOOP")
		}
		s.cmd("MAIL FROM:<alice@example.com>")
		s.cmd("RCPT TO:<support@help.example>")
		if got := s.cmd("DATA"); !strings.HasPrefix(got, "354") {
			t.Fatalf("DATA: %q", got)
		}
		if got := s.cmd(mail(fmt.Sprintf("count%d@example.com", i), "Hi", "Text") + "\r\n."); !strings.HasPrefix(got, "250") {
			t.Fatalf("message %d: %q", i, got)
		}
	}
}

// TestCommandLimitOverTLS: the 421 goes through TLS after STARTTLS.
func TestCommandLimitOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	addr, _ := gatewayWith(t, smtpin.Config{Domain: "localhost", MaxCommands: 20,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	c, err := smtp.DialStartTLS(addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var last error
	for range 30 {
		if last = c.Noop(); last != nil {
			break
		}
	}
	if !isReply(last, smtpin.ErrTooManyCommands) {
		t.Errorf("NOOPs over TLS past the limit: %v, want 421 Too many commands", last)
	}
}

// TestFirstCommandTimeout: a connection that says nothing is closed after
// the first-command timeout, well before the idle timeout.
func TestFirstCommandTimeout(t *testing.T) {
	addr, _ := gatewayWith(t, smtpin.Config{FirstCommandTimeout: 200 * time.Millisecond, IdleTimeout: time.Hour})
	s := dialRaw(t, addr)
	start := time.Now()
	got := s.reply()
	if !strings.HasPrefix(got, "421") {
		t.Errorf("silent client: %q, want 421", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("silent client dropped after %v", d)
	}
	// A client that speaks at once is not cut off by the first timeout.
	s = dialRaw(t, addr)
	s.cmd("EHLO client.example")
	time.Sleep(400 * time.Millisecond)
	if got := s.cmd("NOOP"); !strings.HasPrefix(got, "250") {
		t.Errorf("NOOP after a pause past the first-command timeout: %q", got)
	}
}

// TestLargeMessagesSpooled: a message over the spool threshold is parsed
// from a file that is gone afterwards, and stored with its attachment; with
// one turn taken, another large message gets 451 after the wait.
func TestLargeMessagesSpooled(t *testing.T) {
	dir := t.TempDir()
	sp := parse.NewSpool(parse.SpoolConfig{Dir: dir, Threshold: 64 << 10, MaxLarge: 1})
	addr, svc := gatewayWith(t, smtpin.Config{Spool: sp})
	att := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n", 10000) // 380 kB of base64
	msg := "From: Alice <alice@example.com>\r\nTo: support@help.example\r\nSubject: Logs\r\nMessage-ID: <spool@example.com>\r\n" +
		"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSee the logs.\r\n" +
		"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=logs.txt\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + att + "--B--\r\n"
	if err := send(addr, "alice@example.com", []string{"support@help.example"}, msg); err != nil {
		t.Fatal(err)
	}
	processed(t, svc)
	l, err := svc.ListTickets(context.Background(), core.TicketQuery{Limit: 10})
	if err != nil || l.Total != 1 {
		t.Fatalf("tickets: %+v, %v", l, err)
	}
	tk, err := svc.ViewTicket(context.Background(), nil, l.Tickets[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tk.Entries); n != 1 || len(tk.Entries[0].Attachments) != 1 || tk.Entries[0].Attachments[0].Size != 10000*26 {
		t.Errorf("the spooled message's entry: %+v", tk.Entries)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("spool files left: %v", files)
	}
}

// TestLMTPDoor: messages through LMTP are counted under their own door.
func TestLMTPDoor(t *testing.T) {
	var doors []string
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := core.NewService(st, core.Config{SupportAddresses: []string{"support@help.example"},
		OnReceive: func(door string, _ core.ReceiveResult, _ error) { doors = append(doors, door) }})
	srv := smtpin.New(smtpin.Config{Service: svc, Domain: "localhost", LMTP: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.SendMail("alice@example.com", []string{"support@help.example"}, strings.NewReader(mail("lmtp@example.com", "Via LMTP", "Hi"))); err != nil {
		t.Fatal(err)
	}
	if strings.Join(doors, ",") != core.DoorLMTP {
		t.Errorf("doors %v, want [lmtp]", doors)
	}
}

// TestLargeMessageWaitsThenGets451: while every turn for large messages is
// taken, a large message gets 451 after the wait, and a small one is
// received.
func TestLargeMessageWaitsThenGets451(t *testing.T) {
	sp := parse.NewSpool(parse.SpoolConfig{Dir: t.TempDir(), Threshold: 4 << 10, MaxLarge: 1, MaxWait: 100 * time.Millisecond})
	addr, _ := gatewayWith(t, smtpin.Config{Spool: sp})
	big := mail("big@example.com", "Big", strings.Repeat("many words\r\n", 1000))
	_, release, err := sp.Parse(context.Background(), strings.NewReader(big), parse.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	err = send(addr, "alice@example.com", []string{"support@help.example"}, big)
	if !isReply(err, smtpin.ErrBusy) {
		t.Errorf("a large message while the turns are taken: %v, want 451", err)
	}
	if err := send(addr, "alice@example.com", []string{"support@help.example"}, mail("small@example.com", "Small", "Hi")); err != nil {
		t.Errorf("a small message while the turns are taken: %v", err)
	}
}
