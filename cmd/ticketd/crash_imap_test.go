//go:build linux

package main

import (
	"fmt"
	"testing"
	"time"

	"trivialtickets/mailgw/dovecottest"
)

// TestCrashIMAP puts N mails into a Dovecot mailbox and SIGKILLs the daemon
// several times while it ingests them: afterwards every mail is exactly one
// ticket, all are moved to Processed, and the SQLite file is intact after
// every kill.
func TestCrashIMAP(t *testing.T) {
	dove := dovecottest.Start(t)
	const n = 1000
	c := dialDovecot(t, dove)
	for i := range n {
		appendRaw(t, c, fmt.Sprintf("From: c%d@example.org\r\nTo: support@localhost\r\nSubject: IMAP crash %d\r\nMessage-ID: <crash-imap-%d@example.org>\r\n\r\nHello %d.\r\n", i, i, i, i))
	}
	c.Close()

	d := startCrashDaemon(t, "--config", dovecotConfig(t, dove, ""))
	rng := crashRand(t)
	processed := func() int { _, p := mailboxCounts(t, dove); return p }
	kills := 3 + rng.IntN(3)
	var at []int // mails processed when each kill came
	for range kills {
		// At a random moment (50–300 ms after the start), often between a
		// batch's commit and its move.
		crashKillMoment(rng, nil, processed, n+1)
		d.kill()
		at = append(at, processed())
		d.restart()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		inbox, done := mailboxCounts(t, dove)
		if inbox == 0 && done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d in INBOX, %d in Processed; want 0 and %d", inbox, done, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop()

	db := openCrashDB(t, d.dbPath(), false)
	defer db.Close()
	if got := crashQueryInt(t, db, `SELECT COUNT(*) FROM tickets`); got != n {
		t.Errorf("%d tickets, want %d", got, n)
	}
	if got := crashQueryInt(t, db, `SELECT COUNT(DISTINCT message_id) FROM entries WHERE message_id LIKE 'crash-imap-%'`); got != n {
		t.Errorf("%d distinct Message-IDs among the entries, want %d", got, n)
	}
	if got := crashQueryInt(t, db, `SELECT COUNT(*) FROM entries WHERE message_id LIKE 'crash-imap-%'`); got != n {
		t.Errorf("%d entries from the mails, want %d (each once)", got, n)
	}
	t.Logf("%d mails ingested exactly once across %d kills (%d starts); moved to Processed at the kills: %v", n, d.kills, d.starts, at)
}
