package imappoll_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"trivialtickets/core"
	"trivialtickets/mailgw/imappoll"
)

// capsFull is a server with every extension the poller uses.
var capsFull = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}, imap.CapESearch: {}}

func TestIngestInUIDOrderThenSeen(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps imap.CapSet
	}{{"IMAP4rev1", nil}, {"ESEARCH", capsFull}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startMem(t, tc.caps)
			mc := dialMail(t, srv.addr, testUser, testPassword)
			mc.append("INBOX", mail("read@example.com", "already read", "a person read this one"), imap.FlagSeen)
			for _, id := range []string{"m1@example.com", "m2@example.com", "m3@example.com"} {
				mc.append("INBOX", mail(id, "Subject of "+id, "Body of "+id))
			}
			recv := &fakeReceiver{}
			p, stop := runStoppable(t, imappoll.Config{Account: account(srv.addr), Receiver: recv})

			want := []string{"m1@example.com", "m2@example.com", "m3@example.com"}
			eventually(t, "three messages", func() bool { return len(recv.ids()) >= 3 })
			if got := recv.ids(); !slices.Equal(got, want) {
				t.Fatalf("received %q, want %q (UID order, the \\Seen one left out)", got, want)
			}
			m := recv.messages()[0]
			if m.Door != core.DoorIMAP || m.From != "alice@example.com" || m.Subject != "Subject of m1@example.com" ||
				!strings.Contains(m.Text, "Body of m1@example.com") || !slices.Contains(m.Recipients, testUser) {
				t.Errorf("first message = %+v", m)
			}
			eventually(t, "every message \\Seen", func() bool { return all(mc.list("INBOX"), imap.FlagSeen) })

			st := p.Status()
			if st.Account != testUser || !st.Connected || st.Ingested != 3 || st.Rejected != 0 || st.LastSuccess.IsZero() {
				t.Errorf("Status = %+v", st)
			}
			// Nothing is received twice.
			mc.append("INBOX", mail("m4@example.com", "fourth", "x"))
			eventually(t, "the fourth message", func() bool { return len(recv.ids()) == 4 })
			stop() // a second copy under way has been received by now
			if got := recv.ids(); !slices.Equal(got, append(want, "m4@example.com")) {
				t.Errorf("received %q", got)
			}
		})
	}
}

func TestMoveToProcessed(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps imap.CapSet
	}{{"MOVE", capsFull}, {"COPY+EXPUNGE", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startMem(t, tc.caps)
			mc := dialMail(t, srv.addr, testUser, testPassword)
			// A message a person has read is ingested too: with a Processed
			// folder everything in the mailbox is new.
			mc.append("INBOX", mail("m1@example.com", "one", "x"), imap.FlagSeen)
			mc.append("INBOX", mail("m2@example.com", "two", "x"))
			recv := &fakeReceiver{}
			acct := account(srv.addr)
			acct.Processed = "Processed"
			runPoller(t, imappoll.Config{Account: acct, Receiver: recv})

			eventually(t, "two messages", func() bool { return len(recv.ids()) == 2 })
			eventually(t, "INBOX empty", func() bool { return len(mc.list("INBOX")) == 0 })
			done := mc.list("Processed")
			if len(done) != 2 || !all(done, imap.FlagSeen) || done[0].messageID != "m1@example.com" || done[1].messageID != "m2@example.com" {
				t.Errorf("Processed = %+v, want both messages \\Seen", done)
			}
			// New mail while the poller waits is moved as well.
			mc.append("INBOX", mail("m3@example.com", "three", "x"))
			eventually(t, "the third message moved", func() bool { return len(mc.list("Processed")) == 3 })
			if got := recv.ids(); !slices.Equal(got, []string{"m1@example.com", "m2@example.com", "m3@example.com"}) {
				t.Errorf("received %q", got)
			}
			// Without MOVE the copy lands before the original is expunged.
			eventually(t, "INBOX empty again", func() bool { return len(mc.list("INBOX")) == 0 })
		})
	}
}

func TestReceiveFailureIsRetried(t *testing.T) {
	srv := startMem(t, nil)
	mc := dialMail(t, srv.addr, testUser, testPassword)
	recv := &fakeReceiver{fail: true}
	mc.append("INBOX", mail("m1@example.com", "one", "x"))
	p := runPoller(t, imappoll.Config{Account: account(srv.addr), Receiver: recv})

	eventually(t, "Receive tried twice", func() bool { return recv.attempts() >= 2 })
	if l := mc.list("INBOX"); len(l) != 1 || l[0].has(imap.FlagSeen) || l[0].has(imappoll.FailedKeyword) {
		t.Fatalf("after failed Receive: %+v, want the message untouched", l)
	}
	if st := p.Status(); !strings.Contains(st.LastError, errStoreDown.Error()) || !strings.Contains(st.LastError, "UID 1") || st.Ingested != 0 {
		t.Errorf("Status = %+v, want the store error", st)
	}

	recv.setFail(false)
	eventually(t, "the message received", func() bool { return len(recv.ids()) == 1 })
	eventually(t, "the message \\Seen", func() bool { return all(mc.list("INBOX"), imap.FlagSeen) })
	// LastSuccess is set when the check of the mailbox ends, just after
	// the flag is stored.
	eventually(t, "a success after the error in the status", func() bool {
		st := p.Status()
		return st.Ingested == 1 && st.LastSuccess.After(st.LastErrorAt)
	})
}

func TestUnusableMessagesAreFlaggedOnce(t *testing.T) {
	for _, tc := range []struct {
		processed string
		keywords  bool
	}{{"", true}, {"Processed", true}, {"", false}, {"Processed", false}} {
		processed := tc.processed
		t.Run(fmt.Sprintf("processed=%q,keywords=%v", tc.processed, tc.keywords), func(t *testing.T) {
			srv := startMem(t, capsFull, func(m *memServer) { m.noKeywords = !tc.keywords })
			failFlag := imap.Flag(imappoll.FailedKeyword)
			if !tc.keywords {
				failFlag = imap.FlagFlagged
			}
			mc := dialMail(t, srv.addr, testUser, testPassword)
			mc.append("INBOX", []byte("this is not a mail at all, just a line of text\r\n"))
			big := mail("big@example.com", "big", strings.Repeat("0123456789abcdef\r\n", 500))
			mc.append("INBOX", big)
			mc.append("INBOX", mail("good@example.com", "good", "x"))
			var logs logBuffer
			recv := &fakeReceiver{}
			acct := account(srv.addr)
			acct.Processed = processed
			p, stop := runStoppable(t, imappoll.Config{Account: acct, Receiver: recv, MaxMessageBytes: 4096, Logger: logs.logger()})

			eventually(t, "two messages rejected", func() bool { return p.Status().Rejected == 2 })
			eventually(t, "the good message received", func() bool { return len(recv.ids()) == 1 })
			var failed []msg
			for _, x := range mc.list("INBOX") {
				if x.has(failFlag) {
					failed = append(failed, x)
				}
			}
			if len(failed) != 2 || !all(failed, imap.FlagSeen) || failed[0].uid != 1 || failed[1].uid != 2 {
				t.Errorf("flagged messages = %+v, want UIDs 1 and 2 with %s and \\Seen", failed, failFlag)
			}
			out := logs.String()
			for _, want := range []string{"uid=1", "not a mail", "uid=2", "more than the limit of 4096"} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}

			// Later rounds leave them alone.
			mc.append("INBOX", mail("next@example.com", "next", "x"))
			eventually(t, "the next message", func() bool { return len(recv.ids()) == 2 })
			if processed != "" {
				eventually(t, "good mail moved", func() bool { return len(mc.list(processed)) == 2 })
			}
			stop() // a round under way has ended
			if got, st := recv.ids(), p.Status(); !slices.Equal(got, []string{"good@example.com", "next@example.com"}) || st.Rejected != 2 {
				t.Errorf("received %q, %d rejected; want the two good ones and still 2", got, st.Rejected)
			}
			if l := mc.list("INBOX"); processed != "" && len(l) != 2 {
				t.Errorf("INBOX = %+v, want the two flagged messages", l)
			}
		})
	}
}

func TestIdleDeliversNewMailQuickly(t *testing.T) {
	srv := startMem(t, nil)
	mc := dialMail(t, srv.addr, testUser, testPassword)
	recv := &fakeReceiver{}
	acct := account(srv.addr)
	acct.PollInterval = time.Hour // only IDLE can bring the mail in time
	p := runPoller(t, imappoll.Config{Account: acct, Receiver: recv})
	eventually(t, "the first round", func() bool { return !p.Status().LastSuccess.IsZero() })

	mc.append("INBOX", mail("new@example.com", "new", "x"))
	eventually(t, "the new message", func() bool { return len(recv.ids()) == 1 })
}

func TestPollWithoutIdle(t *testing.T) {
	srv := startMem(t, nil)
	mc := dialMail(t, srv.addr, testUser, testPassword)
	recv := &fakeReceiver{}
	acct := account(srv.addr)
	acct.PollInterval = time.Second
	p := runPoller(t, imappoll.Config{Account: acct, Receiver: recv}, imappoll.SetNoIdle)
	eventually(t, "the first round", func() bool { return !p.Status().LastSuccess.IsZero() })

	mc.append("INBOX", mail("new@example.com", "new", "x"))
	eventually(t, "the new message", func() bool { return len(recv.ids()) == 1 })
	eventually(t, "the message \\Seen", func() bool { return all(mc.list("INBOX"), imap.FlagSeen) })
}

func TestWrongPassword(t *testing.T) {
	srv := startMem(t, nil)
	var logs logBuffer
	acct := account(srv.addr)
	acct.Password = "wrong"
	p := runPoller(t, imappoll.Config{Account: acct, Receiver: &fakeReceiver{}, Logger: logs.logger()})

	want := "IMAP login failed for " + testUser + " at " + srv.addr
	eventually(t, "three failed logins", func() bool { return strings.Count(logs.String(), want) >= 3 })
	st := p.Status()
	if st.Connected || !strings.Contains(st.LastError, want) || !strings.Contains(st.LastError, "check username/password") ||
		!strings.Contains(st.LastError, "AUTHENTICATIONFAILED") || st.LastErrorAt.IsZero() || !st.LastSuccess.IsZero() {
		t.Errorf("Status = %+v", st)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("login failure not logged as an error:\n%s", logs.String())
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	srv := startMem(t, nil)
	mc := dialMail(t, srv.addr, testUser, testPassword)
	recv := &fakeReceiver{}
	p := runPoller(t, imappoll.Config{Account: account(srv.addr), Receiver: recv})
	mc.append("INBOX", mail("before@example.com", "before", "x"))
	eventually(t, "the first message", func() bool { return len(recv.ids()) == 1 })

	srv.Stop()
	eventually(t, "the poller to notice", func() bool { return !p.Status().Connected })
	noticed := p.Status().LastErrorAt
	eventually(t, "a failed reconnect", func() bool { return p.Status().LastErrorAt.After(noticed) })
	srv.Start()
	mc = dialMail(t, srv.addr, testUser, testPassword)
	mc.append("INBOX", mail("after@example.com", "after", "x"))
	eventually(t, "the message after the restart", func() bool { return len(recv.ids()) == 2 })
	eventually(t, "connected again", func() bool { return p.Status().Connected })
	if st := p.Status(); st.LastError == "" || st.Ingested != 2 {
		t.Errorf("Status = %+v", st)
	}
}

func TestUIDValidityChange(t *testing.T) {
	srv := startMem(t, nil)
	mc := dialMail(t, srv.addr, testUser, testPassword)
	recv := &fakeReceiver{}
	var logs logBuffer
	p := runPoller(t, imappoll.Config{Account: account(srv.addr), Receiver: recv, Logger: logs.logger()})
	mc.append("INBOX", mail("m1@example.com", "one", "x"))
	eventually(t, "the first message", func() bool { return len(recv.ids()) == 1 })

	// The mailbox is re-created while the server is down: new UIDs.
	srv.Stop()
	eventually(t, "the poller to notice", func() bool { return !p.Status().Connected })
	if err := srv.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := srv.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	mc = dialMail(t, srv.addr, testUser, testPassword)
	mc.append("INBOX", mail("m2@example.com", "two", "x"))
	eventually(t, "the message in the new mailbox", func() bool { return len(recv.ids()) == 2 })
	if out := logs.String(); !strings.Contains(out, "UIDVALIDITY of the mailbox changed") || !strings.Contains(out, "old=1 new=2") {
		t.Errorf("the change of UIDVALIDITY was not logged:\n%s", out)
	}
}

func TestRealCore(t *testing.T) {
	srv := startMem(t, nil)
	mc := dialMail(t, srv.addr, testUser, testPassword)
	svc := newService(t)
	runPoller(t, imappoll.Config{Account: account(srv.addr), Receiver: svc})

	mc.append("INBOX", mail("first@example.com", "Printer on fire", "Please help."))
	eventually(t, "a ticket", func() bool { return ticketCount(t, svc) == 1 })
	id := tickets(t, svc)[0].ID
	mc.append("INBOX", mail("reply@example.com", "Re: "+core.Tag(id)+" Printer on fire", "It is still burning."))
	eventually(t, "the reply on the ticket", func() bool {
		v, err := svc.ViewTicket(context.Background(), nil, id)
		return err == nil && len(v.Entries) == 2
	})
	v, _ := svc.ViewTicket(context.Background(), nil, id)
	if v.Ticket.Customer != "alice@example.com" || v.Ticket.Subject != "Printer on fire" ||
		!strings.Contains(v.Entries[1].Text, "still burning") || v.Entries[1].MessageID != "reply@example.com" {
		t.Errorf("ticket = %+v, entries %+v", v.Ticket, v.Entries)
	}
	if n := ticketCount(t, svc); n != 1 {
		t.Errorf("%d tickets, want 1", n)
	}
	eventually(t, "both messages \\Seen", func() bool { return all(mc.list("INBOX"), imap.FlagSeen) })
}

func TestNewChecksSettings(t *testing.T) {
	ok := imappoll.Account{Host: "imap.example.com", Username: "support@example.com", Password: "pw"}
	for _, tc := range []struct {
		name string
		mod  func(*imappoll.Config)
		want string // in the error; "" = valid
	}{
		{"valid", func(*imappoll.Config) {}, ""},
		{"no host", func(c *imappoll.Config) { c.Account.Host = " " }, "no host"},
		{"IPv6 host", func(c *imappoll.Config) { c.Account.Host = "::1" }, ""},
		{"bad tls", func(c *imappoll.Config) { c.Account.TLS = "ssl" }, `tls = "ssl"`},
		{"no receiver", func(c *imappoll.Config) { c.Receiver = nil }, "no Receiver"},
		{"backoff upside down", func(c *imappoll.Config) { c.BackoffMin, c.BackoffMax = time.Minute, time.Second }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := imappoll.Config{Account: ok, Receiver: &fakeReceiver{}}
			tc.mod(&cfg)
			p, err := imappoll.New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New error = %v, want one with %q", err, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), `imap account "support@example.com"`):
				t.Errorf("error %q does not name the account", err)
			case tc.want == "" && p.Status().Account != "support@example.com":
				t.Errorf("Account = %q", p.Status().Account)
			}
		})
	}
	// Without an address as user name, the name is user@host.
	p, err := imappoll.New(imappoll.Config{Account: imappoll.Account{Host: "mx", Username: "help", Password: "x"}, Receiver: &fakeReceiver{}})
	if err != nil || p.Status().Account != "help@mx" {
		t.Errorf("New = %v; name %q", err, p.Status().Account)
	}
}
