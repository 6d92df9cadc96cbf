package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/postgres"
	"trivialtickets/store/postgres/pgtest"
)

// TestTwoDaemonsDrainOneQueue: two daemons on one PostgreSQL database
// drain one inbound queue. 30 senders each send an original with a
// Message-ID and nine answers to it without one, queued in waves while both
// daemons run: every message becomes exactly one entry (an answer processed
// twice would be a second entry, having no Message-ID to tell), and every
// answer lands on its original's ticket (a sender's rows are processed in
// order, also across daemons).
func TestTwoDaemonsDrainOneQueue(t *testing.T) {
	db := pgtest.Start(t).NewDatabase(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := core.NewService(st, core.Config{SupportAddresses: []string{"help@help.example"}})
	dir := t.TempDir()
	args := []string{"--database", db, "--data", dir, "--http", "127.0.0.1:0", "--no-tls", "--smtp", "",
		"--support-address", "help@help.example"}
	_, stopA := startDaemon(t, args...)
	_, stopB := startDaemon(t, args...)

	const senders, each = 30, 10
	for j := range each {
		for k := range senders {
			m := core.InboundMessage{Door: core.DoorSMTP, From: fmt.Sprintf("s%d@example.org", k),
				Recipients: []string{"help@help.example"}, Subject: fmt.Sprintf("Sender %d", k), Text: fmt.Sprintf("message %d", j)}
			if j == 0 {
				m.MessageID = fmt.Sprintf("s%d-0@example.org", k)
			} else {
				m.InReplyTo = []string{fmt.Sprintf("s%d-0@example.org", k)}
			}
			if _, err := svc.EnqueueInbound(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(150 * time.Millisecond)
	}
	waitUntil(t, "the inbound queue drains", 60*time.Second, func() bool {
		s, err := svc.InboundQueueStats(ctx)
		return err == nil && s.Depth == 0
	})
	stopA()
	stopB()

	l, err := svc.ListTickets(ctx, core.TicketQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != senders {
		t.Errorf("%d tickets, want %d (one per sender)", l.Total, senders)
	}
	for _, tk := range l.Tickets {
		var es []core.Entry
		if err := st.View(ctx, func(tx core.Tx) error {
			es, err = tx.Entries(ctx, tk.ID, true)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, e := range es {
			texts = append(texts, e.Text)
		}
		want := make([]string, each)
		for j := range want {
			want[j] = fmt.Sprintf("message %d", j)
		}
		if strings.Join(texts, ",") != strings.Join(want, ",") {
			t.Errorf("ticket %s of %s: entries %q, want each message once, in order", tk.ID, tk.Customer, texts)
		}
	}
}
