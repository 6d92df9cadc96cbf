package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
)

// countKey is one (assignee, status) of ticket_counts; assignee is ""
// for unassigned tickets.
type countKey struct{ assignee, status string }

// countFromCounters counts the tickets of a query of assignee and status
// only from the sharded counters of migration 0010. A View reads the sums
// of every (assignee, status) once, with its first count, and answers the
// others from them: its snapshot does not change, and the counts of the
// views (nine on All Tickets) then cost one round trip instead of nine.
// An Update, which may change tickets between counts, asks every time.
func (t *tx) countFromCounters(ctx context.Context, q core.TicketQuery) (int, error) {
	if t.write {
		return t.count(ctx, "count tickets", `SELECT coalesce(sum(n), 0)::bigint FROM ticket_counts
			WHERE ($1 = '' OR status = $1) AND ($2 = '' OR assignee = $2) AND (NOT $3 OR assignee = '')
			AND (NOT $4 OR status <> 'closed')`,
			string(q.Status), q.Assignee, q.Unassigned, q.NotClosed)
	}
	if t.counts == nil {
		sums, err := queryAll(ctx, t, "count tickets", scanSum, sumsSQL)
		if err != nil {
			return 0, err
		}
		t.keepSums(sums)
	}
	n := 0
	for k, c := range t.counts {
		if (q.Status == "" || k.status == string(q.Status)) && (q.Assignee == "" || k.assignee == q.Assignee) &&
			(!q.Unassigned || k.assignee == "") && (!q.NotClosed || k.status != string(core.StatusClosed)) {
			n += c
		}
	}
	return n, nil
}

// sumsSQL reads the sums of ticket_counts per assignee and status.
const sumsSQL = `SELECT assignee, status, sum(n)::bigint FROM ticket_counts GROUP BY assignee, status`

// sum is one row of sumsSQL.
type sum struct {
	key countKey
	n   int
}

func scanSum(r pgx.CollectableRow) (sum, error) {
	var s sum
	err := r.Scan(&s.key.assignee, &s.key.status, &s.n)
	return s, err
}

// keepSums keeps the sums a View read for its further counts.
func (t *tx) keepSums(sums []sum) {
	t.counts = make(map[countKey]int, len(sums))
	for _, s := range sums {
		t.counts[s.key] = s.n
	}
}

// countedBySums reports whether CountTickets answers q from the sums of
// ticket_counts.
func countedBySums(q core.TicketQuery) bool {
	return q.Search == "" && q.Customer == "" && q.Exclude == ""
}

// listWithSums runs the list query of a View and, in the same batch, the
// read of the sums that the list's count will ask for next (core counts
// every list it reads: "1–50 of 1,234"), so that a list and its count,
// and the nine view counts of All Tickets after them, cost one round trip.
func (t *tx) listWithSums(ctx context.Context, query string, args []any) ([]core.Ticket, error) {
	ts, sums, err := readTwo(ctx, t, "list tickets", query, args, scanTicket, sumsSQL, nil, scanSum)
	if err != nil {
		return nil, err
	}
	t.keepSums(sums)
	return ts, nil
}
