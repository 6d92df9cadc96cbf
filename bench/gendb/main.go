// Command gendb fills the SQLite database of a data directory with tickets
// for benchmarks: each ticket has one customer entry, every third one is
// closed, and a hundred are assigned to the agent "bench" (password
// "bench-password"), who is created too. For the search benchmarks every
// entry has the common word "broken", every thousandth is Japanese with the
// word 請求 inside a sentence, and one in 100,000 has the rare word
// "quokka".
//
//	go run ./bench/gendb -data /tmp/bench-data -tickets 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
)

func main() {
	data := flag.String("data", "", "data directory (created when missing)")
	n := flag.Int("tickets", 1_000_000, "number of tickets to add")
	flag.Parse()
	if *data == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: gendb -data DIR [-tickets N]")
		os.Exit(2)
	}
	if err := run(context.Background(), *data, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gendb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, data string, n int) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(data, "ticketd.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	svc := core.NewService(st, core.Config{})
	if err := svc.AddAgent(ctx, "bench", "Bench Agent", "bench-password"); err != nil {
		return fmt.Errorf("add agent bench: %w", err)
	}
	start := time.Now()
	base := time.Now().Add(-time.Duration(n) * time.Second).UTC()
	const chunk = 10_000
	for c := 0; c < n; c += chunk {
		err := st.Update(ctx, func(tx core.Tx) error {
			for i := c; i < min(c+chunk, n); i++ {
				t := core.Ticket{ID: core.NewTicketID(), Subject: fmt.Sprintf("Request %d", i),
					Customer: fmt.Sprintf("c%d@example.com", i%50_000), Status: core.Statuses[i%3],
					CreatedAt: base.Add(time.Duration(i) * time.Second)}
				t.UpdatedAt = t.CreatedAt
				if i%(n/100+1) == 0 {
					t.Assignee, t.Status = "bench", core.StatusInProgress
				}
				if err := tx.CreateTicket(ctx, t); err != nil {
					return err
				}
				if err := tx.AddEntry(ctx, &core.Entry{TicketID: t.ID, CreatedAt: t.CreatedAt, AuthorKind: core.AuthorCustomer,
					Author: t.Customer, Text: entryText(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("tickets %d…: %w", c, err)
		}
	}
	fmt.Printf("%d tickets in %s\n", n, time.Since(start).Round(time.Second))
	return nil
}

// entryText is the text of ticket i's entry: the same common word in all,
// a Japanese sentence in every thousandth, a rare word in one of 100,000.
func entryText(i int) string {
	switch {
	case i%100_000 == 5:
		return fmt.Sprintf("Something is broken: a quokka chewed cable %d.", i)
	case i%1000 == 7:
		return fmt.Sprintf("先月の請求書が届きません (order %d). Something is broken.", i)
	}
	return fmt.Sprintf("Something is broken, please help with order %d.", i)
}
