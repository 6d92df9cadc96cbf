package imappoll_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"trivialtickets/core"
	"trivialtickets/mailgw/dovecottest"
	"trivialtickets/mailgw/imappoll"
)

// dovecotAccount is the account of the Dovecot test user on port.
func dovecotAccount(d *dovecottest.Server, port int, mode string) imappoll.Account {
	return imappoll.Account{Host: d.Host, Port: port, TLS: mode, Username: d.User, Password: d.Password}
}

func TestDovecotIngest(t *testing.T) {
	t.Parallel()
	d := dovecottest.Start(t)
	mc := dialMail(t, d.Addr(), d.User, d.Password)
	svc := newService(t)
	mc.append("INBOX", []byte("no header, not a mail\r\n"))
	mc.append("INBOX", mail("one@example.com", "Printer on fire", "Please help."))
	mc.append("INBOX", mail("two@example.com", "Password reset", "I forgot it."))
	p := runPoller(t, imappoll.Config{Account: dovecotAccount(d, d.Port, imappoll.TLSNone), Receiver: svc})

	eventually(t, "two tickets", func() bool { return ticketCount(t, svc) == 2 })
	eventually(t, "every message \\Seen", func() bool { return all(mc.list("INBOX"), imap.FlagSeen) })
	if l := mc.list("INBOX"); len(l) != 3 || !l[0].has(imappoll.FailedKeyword) || l[1].has(imappoll.FailedKeyword) {
		t.Errorf("INBOX = %+v, want the first message flagged %s", l, imappoll.FailedKeyword)
	}
	var id string
	for _, tk := range tickets(t, svc) {
		if tk.Subject == "Printer on fire" {
			id = tk.ID
		}
	}
	if id == "" {
		t.Fatalf("no ticket for the first mail: %+v", tickets(t, svc))
	}
	// A reply while the poller IDLEs becomes an entry of the ticket.
	mc.append("INBOX", mail("three@example.com", "Re: "+core.Tag(id)+" Printer on fire", "Still burning."))
	eventually(t, "the reply on the ticket", func() bool {
		v, err := svc.ViewTicket(context.Background(), nil, id)
		return err == nil && len(v.Entries) == 2
	})
	if n := ticketCount(t, svc); n != 2 {
		t.Errorf("%d tickets, want 2", n)
	}
	eventually(t, "the reply \\Seen", func() bool { l := mc.list("INBOX"); return len(l) == 4 && all(l, imap.FlagSeen) })
	if st := p.Status(); !st.Connected || st.Ingested != 3 || st.Rejected != 1 {
		t.Errorf("Status = %+v", st)
	}
}

func TestDovecotTLS(t *testing.T) {
	t.Parallel()
	d := dovecottest.StartWith(t, dovecottest.Options{TLS: true})
	mc := dialMail(t, d.Addr(), d.User, d.Password)
	trust := &tls.Config{RootCAs: d.CertPool}

	t.Run("STARTTLS to Processed", func(t *testing.T) {
		svc := newService(t)
		acct := dovecotAccount(d, d.Port, imappoll.TLSStartTLS)
		acct.TLSConfig = trust
		acct.Processed = "Processed"
		mc.append("INBOX", mail("s1@example.com", "over STARTTLS", "x"))
		mc.append("INBOX", mail("s2@example.com", "over STARTTLS too", "x"))
		runPoller(t, imappoll.Config{Account: acct, Receiver: svc})
		eventually(t, "two tickets", func() bool { return ticketCount(t, svc) == 2 })
		eventually(t, "INBOX empty", func() bool { return len(mc.list("INBOX")) == 0 })
		if l := mc.list("Processed"); len(l) != 2 || !all(l, imap.FlagSeen) {
			t.Errorf("Processed = %+v, want two messages \\Seen", l)
		}
	})
	t.Run("implicit TLS", func(t *testing.T) {
		svc := newService(t)
		acct := dovecotAccount(d, d.TLSPort, imappoll.TLSImplicit)
		acct.TLSConfig = trust
		mc.append("INBOX", mail("i1@example.com", "over TLS", "x"))
		runPoller(t, imappoll.Config{Account: acct, Receiver: svc})
		eventually(t, "a ticket", func() bool { return ticketCount(t, svc) == 1 })
		eventually(t, "the message \\Seen", func() bool { return all(mc.list("INBOX"), imap.FlagSeen) })
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		acct := dovecotAccount(d, d.TLSPort, imappoll.TLSImplicit)
		p := runPoller(t, imappoll.Config{Account: acct, Receiver: &fakeReceiver{}})
		eventually(t, "a certificate error", func() bool { return strings.Contains(p.Status().LastError, "certificate") })
		if p.Status().Connected {
			t.Error("connected with an untrusted certificate")
		}
	})
}

func TestDovecotRestart(t *testing.T) {
	t.Parallel()
	d := dovecottest.Start(t)
	mc := dialMail(t, d.Addr(), d.User, d.Password)
	svc := newService(t)
	p := runPoller(t, imappoll.Config{Account: dovecotAccount(d, d.Port, imappoll.TLSNone), Receiver: svc})
	mc.append("INBOX", mail("before@example.com", "before the restart", "x"))
	eventually(t, "the first ticket", func() bool { return ticketCount(t, svc) == 1 })

	d.Restart()
	eventually(t, "the poller to notice", func() bool { return p.Status().LastError != "" })
	mc = dialMail(t, d.Addr(), d.User, d.Password)
	mc.append("INBOX", mail("after@example.com", "after the restart", "x"))
	eventually(t, "the second ticket", func() bool { return ticketCount(t, svc) == 2 })
	eventually(t, "connected again", func() bool { return p.Status().Connected })
	eventually(t, "both messages \\Seen", func() bool { l := mc.list("INBOX"); return len(l) == 2 && all(l, imap.FlagSeen) })
}

// BenchmarkDovecotIngest1000 measures the time from the poller's start
// until 1,000 mails waiting in a Dovecot INBOX are tickets in core over
// SQLite (delivering them with APPEND is not timed):
//
//	go test -run '^$' -bench DovecotIngest1000 -benchtime 1x ./mailgw/imappoll/
func BenchmarkDovecotIngest1000(b *testing.B) {
	const n = 1000
	for range b.N {
		b.StopTimer()
		d := dovecottest.Start(b)
		mc := dialMail(b, d.Addr(), d.User, d.Password)
		for i := range n {
			mc.append("INBOX", mail(fmt.Sprintf("bench-%d@example.com", i), fmt.Sprintf("Question %d", i), "Body of the question."))
		}
		svc := newService(b)
		p, err := imappoll.New(imappoll.Config{Account: dovecotAccount(d, d.Port, imappoll.TLSNone), Receiver: svc})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)

		b.StartTimer()
		start := time.Now()
		go func() { done <- p.Run(ctx) }()
		for ticketCount(b, svc) < n {
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("only %d of %d tickets after 5 minutes", ticketCount(b, svc), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()

		b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run = %v", err)
		}
		if l := mc.list("INBOX"); len(l) != n || !all(l, imap.FlagSeen) {
			b.Errorf("INBOX has %d messages, not all \\Seen", len(l))
		}
		d.Stop()
	}
}

// idlePoller runs a poller on d's INBOX into a new service until b ends,
// and returns once it waits in IDLE.
func idlePoller(b *testing.B, d *dovecottest.Server) *core.Service {
	svc := newService(b)
	p, err := imappoll.New(imappoll.Config{Account: dovecotAccount(d, d.Port, imappoll.TLSNone), Receiver: svc})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go p.Run(ctx)
	for !p.Status().Connected || p.Status().LastSuccess.IsZero() {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // settle into IDLE
	return svc
}

// BenchmarkDovecotAppendToTicket measures, with the poller in IDLE at
// default settings, the time from a client's APPEND of one mail until it is
// a ticket (budget: under 1 s). Dovecot itself waits about half a second
// before it tells IDLE clients of new mail:
// go test ./mailgw/imappoll -run '^$' -bench AppendToTicket -benchtime 5x
func BenchmarkDovecotAppendToTicket(b *testing.B) {
	d := dovecottest.Start(b)
	mc := dialMail(b, d.Addr(), d.User, d.Password)
	svc := idlePoller(b, d)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		mc.append("INBOX", mail(fmt.Sprintf("latency-%d@example.com", i), fmt.Sprintf("Latency %d", i), "x"))
		for ticketCount(b, svc) < i+1 {
			if time.Since(start) > time.Minute {
				b.Fatalf("mail %d is no ticket after a minute", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/ticket")
}

// BenchmarkDovecotIdleCPU measures the CPU the poller uses while the
// mailbox is quiet (IDLE, nothing arriving), in milliseconds of this
// process's CPU time per second; the budget is none to speak of:
// go test ./mailgw/imappoll -run '^$' -bench IdleCPU -benchtime 1x
func BenchmarkDovecotIdleCPU(b *testing.B) {
	idlePoller(b, dovecottest.Start(b))
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for range b.N {
		before, start := cpu(), time.Now()
		time.Sleep(5 * time.Second)
		used, el := cpu()-before, time.Since(start)
		b.ReportMetric(float64(used.Milliseconds())/el.Seconds(), "cpu-ms/s")
	}
}
