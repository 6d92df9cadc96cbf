package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"trivialtickets/core"
)

// testConcurrentCounts has 8 writers at once create, assign, close, reopen,
// merge and delete tickets and delete an agent, then checks that every
// count of the views equals the number of tickets the same query lists:
// counters kept by triggers must agree with the rows however the writers
// interleave (PostgreSQL's are sharded by connection).
func testConcurrentCounts(t *testing.T, st core.Store) {
	ctx := t.Context()
	agents := []string{"ann", "ben", "cai", "dee"}
	update(t, st, func(tx core.Tx) error {
		for _, a := range agents {
			if err := tx.CreateAgent(ctx, core.Agent{Username: a, Name: a, CreatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})

	const writers, perWriter = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := countsWriter(ctx, st, w, perWriter, agents); err != nil {
				errs <- fmt.Errorf("writer %d: %w", w, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// An agent's deletion unassigns its tickets.
	update(t, st, func(tx core.Tx) error { return tx.DeleteAgent(ctx, "dee") })

	queries := []core.TicketQuery{{}, {NotClosed: true}, {Unassigned: true}, {Unassigned: true, NotClosed: true}}
	for _, s := range core.Statuses {
		queries = append(queries, core.TicketQuery{Status: s}, core.TicketQuery{Status: s, Unassigned: true})
	}
	for _, a := range agents {
		queries = append(queries, core.TicketQuery{Assignee: a}, core.TicketQuery{Assignee: a, NotClosed: true},
			core.TicketQuery{Assignee: a, Status: core.StatusClosed})
	}
	view(t, st, func(tx core.Tx) error {
		total := 0
		for _, q := range queries {
			n, err := tx.CountTickets(ctx, q)
			if err != nil {
				return fmt.Errorf("count %+v: %w", q, err)
			}
			q.Limit = 10_000
			listed, err := tx.ListTickets(ctx, q)
			if err != nil {
				return fmt.Errorf("list %+v: %w", q, err)
			}
			if n != len(listed) {
				t.Errorf("count %+v = %d, but %d tickets are listed", q, n, len(listed))
			}
			if q == (core.TicketQuery{Limit: 10_000}) {
				total = n
			}
		}
		// Of 96 tickets, each writer merged 2 and deleted 2.
		if want := writers * (perWriter - 4); total != want {
			t.Errorf("all tickets counted %d, want %d", total, want)
		}
		return nil
	})
}

// countsWriter is one writer of testConcurrentCounts: n tickets, each in a
// transaction of its own, then changes to them in further transactions.
func countsWriter(ctx context.Context, st core.Store, w, n int, agents []string) error {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("W%d-%d", w, i)
		tk := core.Ticket{ID: ids[i], Subject: "Count me", Customer: "c@example.org", Status: core.StatusOpen,
			CreatedAt: at(i), UpdatedAt: at(i)}
		if err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateTicket(ctx, tk) }); err != nil {
			return err
		}
	}
	change := func(id string, fn func(*core.Ticket)) error {
		return st.Update(ctx, func(tx core.Tx) error {
			tk, err := tx.Ticket(ctx, id)
			if err != nil {
				return err
			}
			fn(&tk)
			return tx.UpdateTicket(ctx, tk)
		})
	}
	for i, id := range ids {
		var err error
		switch i % 6 {
		case 0: // assigned and in progress
			err = change(id, func(tk *core.Ticket) { tk.Assignee, tk.Status = agents[(w+i)%len(agents)], core.StatusInProgress })
		case 1: // assigned, closed, then handed to another agent
			err = change(id, func(tk *core.Ticket) { tk.Assignee, tk.Status = agents[w%len(agents)], core.StatusClosed })
			if err == nil {
				err = change(id, func(tk *core.Ticket) { tk.Assignee = agents[(w+1)%len(agents)] })
			}
		case 2: // closed and reopened, unassigned
			err = change(id, func(tk *core.Ticket) { tk.Status = core.StatusClosed })
			if err == nil {
				err = change(id, func(tk *core.Ticket) { tk.Status = core.StatusOpen })
			}
		case 3: // merged into the ticket before it
			err = change(id, func(tk *core.Ticket) {
				tk.Assignee, tk.MergedInto, tk.Status = agents[w%len(agents)], ids[i-1], core.StatusClosed
			})
		case 4: // deleted, one of them after an assignment
			if i == 4 {
				err = change(id, func(tk *core.Ticket) { tk.Assignee = agents[3] })
			}
			if err == nil {
				err = st.Update(ctx, func(tx core.Tx) error {
					_, err := tx.DeleteTickets(ctx, []string{id})
					return err
				})
			}
		}
		if err != nil {
			return fmt.Errorf("ticket %s: %w", id, err)
		}
	}
	return nil
}
