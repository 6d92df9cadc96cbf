package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

var _ core.TicketPageReader = (*tx)(nil)

// entriesSQL returns the queries of a ticket's entries and of their
// attachments (metadata only), both on the ticket id $1.
func entriesSQL(withInternal bool) (entries, attachments string) {
	filter := ""
	if !withInternal {
		filter = ` AND NOT e.internal`
	}
	entries = `SELECT ` + entryColumns + ` FROM entries e
		WHERE e.ticket_id = $1` + filter + ` ORDER BY e.created_at, e.id`
	attachments = `SELECT ` + sqlrows.EntryAttachmentColumns + `
		FROM entries e JOIN attachments a ON a.entry_id = e.id
		WHERE e.ticket_id = $1` + filter + ` ORDER BY a.id`
	return entries, attachments
}

// The reads of a ticket page that depend on the ticket's row find it by
// its id ($1) in a subquery, so that they go in the batch of the ticket's
// own read instead of waiting for its answer; each subquery is one lookup
// in the primary key, and the lists still use tickets_customer_activity.
const (
	pageSameCustomer  = ` AND customer = (SELECT customer FROM tickets WHERE id = $1) AND t.id <> $1`
	pageSameAssignee  = ` AND assignee IS NOT DISTINCT FROM (SELECT assignee FROM tickets WHERE id = $1)`
	pageOtherAssignee = ` AND assignee IS DISTINCT FROM (SELECT assignee FROM tickets WHERE id = $1)`
)

// joinedAgentColumns are the columns of an agents row a, left-joined:
// whether there is one, then sqlrows.AgentColumns, each its zero value
// when there is none.
func joinedAgentColumns(a string) string {
	return fmt.Sprintf(`%[1]s.username IS NOT NULL, coalesce(%[1]s.username, ''), coalesce(%[1]s.name, ''),
		coalesce(%[1]s.password_hash, ''::bytea), coalesce(%[1]s.vacation, false), coalesce(%[1]s.created_at, 0),
		coalesce(%[1]s.time_zone, '')`, a)
}

// pageTicketSQL returns the query of a ticket page's ticket (ticketListColumns
// and its version) with, as q asks, its assignee (joinedAgentColumns) and
// the viewer's session (TokenColumns, each its zero value when there is
// none, and its agent's joinedAgentColumns) joined to it, so that the
// three take one statement; write locks the ticket's row, as Ticket does
// in an Update.
func pageTicketSQL(q core.TicketPageQuery, write bool) (string, []any) {
	cols, from := ticketListColumns+`, t.version`, ` FROM tickets t`
	args := []any{q.ID}
	if q.Assignee {
		cols += `, ` + joinedAgentColumns("a")
		from += ` LEFT JOIN agents a ON a.username = t.assignee`
	}
	if q.SessionHash != "" {
		cols += `, coalesce(s.token_hash, ''), coalesce(s.username, ''), coalesce(s.created_at, 0), coalesce(s.expires_at, 0), ` +
			joinedAgentColumns("sa")
		from += ` LEFT JOIN sessions s ON s.token_hash = $2 LEFT JOIN agents sa ON sa.username = s.username`
		args = append(args, q.SessionHash)
	}
	query := `SELECT ` + cols + from + ` WHERE t.id = $1`
	if write {
		query += ` FOR UPDATE OF t`
	}
	return query, args
}

// pageListSQL returns a list of a ticket page (core.TicketPageQuery):
// ListTickets' query for q about the customer of ticket $1 (id), and with
// sameAssignee about its assignee too.
func pageListSQL(q core.TicketQuery, id string, sameAssignee bool) (string, []any) {
	q.Customer, q.Exclude, q.Assignee, q.Unassigned = "", "", "", false
	p := params{args: []any{id}}
	where := ticketWhere(q, false, &p) + pageSameCustomer
	if sameAssignee {
		where += pageSameAssignee
	}
	return `SELECT ` + ticketListColumns + ` FROM tickets t` + where + listOrder(q, &p), p.args
}

// pageListsSQL returns, when a ticket page's two lists ask for the same
// tickets but for the assignee, one query for both (ok): the first
// MergeCandidates.Limit tickets with the ticket's assignee, marked true,
// and the first CustomerTickets.Limit of the others, marked false. The
// customer's list is then the first of both in their order (takeLists):
// its tickets with the assignee are among the candidates, since its limit
// is not above theirs. One statement instead of two, and the tickets of
// both lists come once.
func pageListsSQL(q core.TicketPageQuery) (query string, args []any, ok bool) {
	c, m := q.CustomerTickets, q.MergeCandidates
	if c.Limit <= 0 || m.Limit < c.Limit || c.Offset > 0 || m.Offset > 0 {
		return "", nil, false
	}
	if (c.Sort == core.SortCreated) != (m.Sort == core.SortCreated) {
		return "", nil, false // another order (listOrder)
	}
	c.Customer, c.Exclude, c.Assignee, c.Unassigned = "", "", "", false
	m.Customer, m.Exclude, m.Assignee, m.Unassigned = "", "", "", false
	// The same tickets: equal but for the limit and the Sort value.
	same := c
	same.Limit, same.Sort = m.Limit, m.Sort
	if same != m {
		return "", nil, false
	}
	p := params{args: []any{q.ID}}
	where := ticketWhere(c, false, &p) + pageSameCustomer
	query = `(SELECT ` + ticketListColumns + `, true FROM tickets t` + where + pageSameAssignee + listOrder(m, &p) +
		`) UNION ALL (SELECT ` + ticketListColumns + `, false FROM tickets t` + where + pageOtherAssignee + listOrder(c, &p) + `)`
	return query, p.args, true
}

// takeLists returns the take of pageListsSQL's rows, which sets p's
// CustomerTickets (at most limit, in the order of sort) and
// MergeCandidates.
func takeLists(p *core.TicketPage, limit int, sort core.Sort) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		defer rows.Close()
		// Empty lists are empty slices, not nil, as ListTickets returns them.
		p.MergeCandidates = []core.Ticket{}
		var others []core.Ticket
		for rows.Next() {
			var s sqlrows.TicketRow
			var same bool
			if err := rows.Scan(append(s.Dest(), &same)...); err != nil {
				return err
			}
			if same {
				p.MergeCandidates = append(p.MergeCandidates, s.Ticket())
			} else {
				others = append(others, s.Ticket())
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		p.CustomerTickets = mergeLists(p.MergeCandidates, others, limit, sort)
		return nil
	}
}

// mergeLists returns the first limit tickets of a and b, each in list
// order (listOrder: activity or, for SortCreated, creation, newest first,
// then the id, descending).
func mergeLists(a, b []core.Ticket, limit int, sort core.Sort) []core.Ticket {
	key := func(t core.Ticket) time.Time { return t.ActivityAt }
	if sort == core.SortCreated {
		key = func(t core.Ticket) time.Time { return t.CreatedAt }
	}
	before := func(x, y core.Ticket) bool {
		if c := key(x).Compare(key(y)); c != 0 {
			return c > 0
		}
		return x.ID > y.ID
	}
	out := make([]core.Ticket, 0, min(limit, len(a)+len(b)))
	for len(out) < limit && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || (len(a) > 0 && before(a[0], b[0])) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// TicketPage reads the parts of a ticket page in one batch, with the
// ticket's own read, the viewer's session when asked for (and, as the
// first statement of a transaction, its BEGIN): one round trip where the
// separate calls take one each (core.TicketPageReader).
func (t *tx) TicketPage(ctx context.Context, q core.TicketPageQuery) (core.TicketPage, error) {
	what := "ticket page " + q.ID
	var (
		p     core.TicketPage
		found bool
		es    []core.Entry
		as    []sqlrows.EntryAttachment
	)
	// The ticket's row, with its assignee and the viewer's session
	// joined to it: one statement for the three.
	var (
		assignee, viewer       sqlrows.AgentRow
		row                    sqlrows.TicketRow
		session                sqlrows.TokenRow
		hasAssignee, hasViewer bool
	)
	id := []any{q.ID}
	query, args := pageTicketSQL(q, t.write)
	dest := append(row.Dest(), &p.Version)
	if q.Assignee {
		dest = append(append(dest, &hasAssignee), assignee.Dest()...)
	}
	if q.SessionHash != "" {
		dest = append(append(append(dest, session.Dest()...), &hasViewer), viewer.Dest()...)
	}
	reads := []read{{query, args, func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			p.Ticket, found = row.Ticket(), true
			if hasAssignee {
				a := assignee.Agent()
				p.Assignee = &a
			}
			if hasViewer {
				sess, a := session.Session(), viewer.Agent()
				p.Session, p.SessionAgent = &sess, &a
			}
		}
		rows.Close()
		return rows.Err()
	}}}
	entries, attachments := entriesSQL(q.WithInternal)
	reads = append(reads, read{entries, id, collect(&es, scanEntry)},
		read{attachments, id, collect(&as, rowScan(sqlrows.ScanEntryAttachment))})
	if query, args, ok := pageListsSQL(q); ok {
		reads = append(reads, read{query, args, takeLists(&p, q.CustomerTickets.Limit, q.CustomerTickets.Sort)})
	} else {
		if q.CustomerTickets.Limit > 0 {
			query, args := pageListSQL(q.CustomerTickets, q.ID, false)
			reads = append(reads, read{query, args, collect(&p.CustomerTickets, scanTicket)})
		}
		if q.MergeCandidates.Limit > 0 {
			query, args := pageListSQL(q.MergeCandidates, q.ID, true)
			reads = append(reads, read{query, args, collect(&p.MergeCandidates, scanTicket)})
		}
	}
	if err := readBatch(ctx, t, what, reads...); err != nil {
		return core.TicketPage{}, err
	}
	if !found {
		return core.TicketPage{}, fmt.Errorf("ticket %s: %w", q.ID, core.ErrNotFound)
	}
	if !q.Version {
		p.Version = 0
	}
	sqlrows.Attach(es, as)
	p.Entries = es
	return p, nil
}
