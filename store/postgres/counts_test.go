package postgres

import (
	"context"
	"fmt"
	"testing"

	"trivialtickets/core"
)

// TestCountsFilledByMigration upgrades a database with tickets from
// version 9 and checks that migration 0010 counted them: merged tickets
// not, every assignee and status apart; and that the counters then follow
// new tickets.
func TestCountsFilledByMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := newDatabase(t)
	var before []migration
	for _, m := range migrations {
		if m.Version <= 9 {
			before = append(before, m)
		}
	}
	old, err := open(ctx, url, before)
	if err != nil {
		t.Fatal(err)
	}
	err = old.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateAgent(ctx, core.Agent{Username: "bob", PasswordHash: []byte("x")}); err != nil {
			return err
		}
		for i, c := range []struct{ status, assignee, merged string }{
			{"open", "", ""}, {"open", "", ""}, {"in_progress", "bob", ""}, {"closed", "bob", ""},
			{"closed", "", "T0"}, {"open", "bob", "T1"},
		} {
			tk := core.Ticket{ID: fmt.Sprintf("T%d", i), Subject: "s", Customer: "c@example.org",
				Status: core.Status(c.status), Assignee: c.assignee, MergedInto: c.merged}
			if err := tx.CreateTicket(ctx, tk); err != nil {
				return err
			}
		}
		return nil
	})
	old.Close()
	if err != nil {
		t.Fatal(err)
	}

	st := openURL(t, url)
	counts := func(when string, want map[string]int) {
		t.Helper()
		// A View answers from the sums it read with its first count, an
		// Update asks every time: both must agree.
		for _, run := range []func(context.Context, func(core.Tx) error) error{st.View, st.Update} {
			err := run(ctx, func(tx core.Tx) error {
				for name, q := range map[string]core.TicketQuery{
					"all": {}, "not closed": {NotClosed: true}, "unassigned": {Unassigned: true},
					"bob": {Assignee: "bob"}, "bob open": {Assignee: "bob", Status: core.StatusOpen},
					"in progress": {Status: core.StatusInProgress},
				} {
					n, err := tx.CountTickets(ctx, q)
					if err != nil {
						return err
					}
					if n != want[name] {
						t.Errorf("%s: %s counted %d, want %d", when, name, n, want[name])
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	counts("after the upgrade", map[string]int{"all": 4, "not closed": 3, "unassigned": 2, "bob": 2, "in progress": 1})
	err = st.Update(ctx, func(tx core.Tx) error {
		return tx.CreateTicket(ctx, core.Ticket{ID: "T9", Subject: "s", Customer: "c@example.org",
			Status: core.StatusOpen, Assignee: "bob"})
	})
	if err != nil {
		t.Fatal(err)
	}
	counts("after a new ticket", map[string]int{"all": 5, "not closed": 4, "unassigned": 2, "bob": 3, "bob open": 1, "in progress": 1})
}
