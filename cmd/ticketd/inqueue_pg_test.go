//go:build linux

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
// drain one inbound queue of 1,500 messages: 30 senders with an original
// with a Message-ID and nine answers to it without one, and 1,200 senders
// with one each. Every message becomes exactly one entry (an answer processed
// twice would be a second entry, having no Message-ID to tell), every
// answer lands on its original's ticket in order (a sender's rows are
// processed in order, also across daemons), and the daemons' counts add up
// to 1,500.
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
	// Both daemons run; then 30 senders queue an original and nine
	// answers each, and 1,200 senders one message each: more than one
	// daemon turns into tickets before the other's next poll.
	urlA, stopA := startDaemon(t, args...)
	urlB, stopB := startDaemon(t, args...)
	const singles, senders, each = 1200, 30, 10
	enqueue := func(m core.InboundMessage) {
		t.Helper()
		if _, err := svc.EnqueueInbound(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for j := range each {
		for k := range senders {
			m := core.InboundMessage{Door: core.DoorSMTP, From: fmt.Sprintf("s%d@example.org", k),
				Recipients: []string{"help@help.example"}, Subject: fmt.Sprintf("Sender %d", k), Text: fmt.Sprintf("message %d", j)}
			if j == 0 {
				m.MessageID = fmt.Sprintf("s%d-0@example.org", k)
			} else {
				m.InReplyTo = []string{fmt.Sprintf("s%d-0@example.org", k)}
			}
			enqueue(m)
		}
	}
	for k := range singles {
		enqueue(core.InboundMessage{Door: core.DoorSMTP, From: fmt.Sprintf("one%d@example.org", k),
			Recipients: []string{"help@help.example"}, Subject: fmt.Sprintf("Single %d", k), Text: "only message"})
	}
	waitUntil(t, "the inbound queue drains", 120*time.Second, func() bool {
		s, err := svc.InboundQueueStats(ctx)
		return err == nil && s.Depth == 0
	})

	// Each daemon counts what its worker made; together every message once.
	total := 0
	for _, u := range []string{urlA, urlB} {
		m, err := scrapeMetrics(u, dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for line := range strings.Lines(string(m)) {
			if rest, ok := strings.CutPrefix(line, `ticketd_messages_received_total{door="smtp",`); ok {
				var k int
				fmt.Sscanf(rest[strings.LastIndexByte(rest, ' ')+1:], "%d", &k)
				n += k
			}
		}
		t.Logf("daemon %s processed %d messages", u, n)
		total += n
	}
	if total != singles+senders*each {
		t.Errorf("the daemons processed %d messages together, want %d", total, singles+senders*each)
	}
	stopA()
	stopB()

	l, err := svc.ListTickets(ctx, core.TicketQuery{Limit: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != singles+senders {
		t.Errorf("%d tickets, want %d (one per sender)", l.Total, singles+senders)
	}
	for _, tk := range l.Tickets {
		if strings.HasPrefix(tk.Subject, "Single ") {
			continue
		}
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
