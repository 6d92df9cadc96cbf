//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// crashQueued counts the rows of the daemon's inbound queue, read-only
// while it runs.
func crashQueued(t *testing.T, d *crashDaemon) int {
	t.Helper()
	db := openCrashDB(t, d.dbPath(), false)
	defer db.Close()
	return crashQueryInt(t, db, `SELECT COUNT(*) FROM inbound_queue`)
}

// crashDrain kills the daemon once more while its inbound queue still
// holds accepted mail (when it does), starts it again, and waits until
// the worker has turned every queued message into a ticket or an entry.
func crashDrain(t *testing.T, d *crashDaemon) {
	t.Helper()
	if n := crashQueued(t, d); n > 0 {
		d.note("%d messages queued after the load", n)
		t.Logf("SIGKILL with %d accepted messages in the inbound queue", n)
		d.kill()
		d.restart()
	}
	waitUntil(t, "the inbound queue drains", 60*time.Second, func() bool { return crashQueued(t, d) == 0 })
}

// TestCrashSMTPNoMessageID delivers messages without a Message-ID while
// the daemon is SIGKILLed and restarted 3–5 times, and once more while its
// inbound queue holds accepted mail. Without a Message-ID the daemon
// cannot tell a retried delivery from a new message, so each try comes
// from a sender address of its own: every try answered 250 must be exactly
// one ticket, and a try that got no 250 at most one (it may have been
// committed just before the connection died).
func TestCrashSMTPNoMessageID(t *testing.T) {
	d := startCrashDaemon(t)
	rng := crashRand(t)
	const n = 200
	ctx, cancel := context.WithTimeout(t.Context(), crashLoadTimeout)
	defer cancel()

	var mu sync.Mutex
	var acked, tried []string
	var ackedN atomic.Int64
	allDone, wait := crashClients(t, n, func(i int) error {
		for try := 0; ; try++ {
			from := fmt.Sprintf("n%d-%d@example.org", i, try)
			mu.Lock()
			tried = append(tried, from)
			mu.Unlock()
			msg := fmt.Appendf(nil, "From: <%s>\r\nTo: support@localhost\r\nSubject: No id %d\r\n\r\nTry %d.\r\n", from, i, try)
			err := crashSendSMTP(d.smtpAddr, from, msg)
			if err == nil {
				mu.Lock()
				acked = append(acked, from)
				mu.Unlock()
				ackedN.Add(1)
				return nil
			}
			if se, ok := errors.AsType[*smtp.SMTPError](err); ok && se.Code >= 500 {
				return fmt.Errorf("permanent refusal: %w", err)
			}
			if werr := crashRetryWait(ctx, try); werr != nil {
				return fmt.Errorf("%w (last error: %w)", werr, err)
			}
		}
	})
	crashKillDuring(d, rng, allDone, func() int { return int(ackedN.Load()) }, n)
	wait()
	crashDrain(t, d)
	d.stop()
	d.checkKills(n)

	db := openCrashDB(t, d.dbPath(), false)
	defer db.Close()
	for _, from := range acked {
		if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM tickets WHERE customer = ?`, from); k != 1 {
			t.Errorf("%s was answered 250: %d tickets, want 1", from, k)
		}
	}
	extra := 0
	for _, from := range tried {
		k := crashQueryInt(t, db, `SELECT COUNT(*) FROM entries WHERE author = ?`, from)
		if k > 1 {
			t.Errorf("%s: %d entries, want at most 1", from, k)
		}
		extra += k
	}
	extra -= len(acked)
	if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM tickets`); k != len(acked)+extra {
		t.Errorf("%d tickets, want %d answered 250 and %d committed without an answer", k, len(acked), extra)
	}
	if k := crashQueryInt(t, db, `SELECT COUNT(*) FROM inbound_queue`); k != 0 {
		t.Errorf("%d messages left in the inbound queue", k)
	}
	t.Logf("%d messages answered 250 in %d tries with %d kills (%d starts); %d tries committed without a 250",
		len(acked), len(tried), d.kills, d.starts, extra)
}
