package postgres

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/storetest"
)

// planRows is the planner's row estimate of a plan line.
var planRows = regexp.MustCompile(`rows=(\d+)`)

// checkPlan fails when plan reads a table whole (Seq Scan) or sorts more
// than a handful of rows (one customer's tickets, one ticket's entries):
// lists must come from an index in order.
func checkPlan(t *testing.T, name, plan string) {
	t.Helper()
	bad := strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index")
	for line := range strings.SplitSeq(plan, "\n") {
		if !strings.Contains(line, "Sort  (") {
			continue
		}
		if m := planRows.FindStringSubmatch(line); m == nil {
			bad = true
		} else if n, _ := strconv.Atoi(m[1]); n > 1000 {
			bad = true
		}
	}
	if bad {
		t.Errorf("%s: plan\n%s", name, plan)
	}
}

// explainer returns a function that gives the planner's plan of a query
// on s, one line of EXPLAIN's output per line.
func explainer(t *testing.T, s *Store) func(query string, args ...any) string {
	return func(query string, args ...any) string {
		t.Helper()
		rows, err := s.pool.Query(t.Context(), "EXPLAIN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		return strings.Join(columnStrings(t, rows), "\n")
	}
}

// TestQueryPlans checks on a filled database that no list query scans a
// table or sorts a list: each reads an index in the list's order and stops
// at the limit.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	s := openTemp(t).(*Store)
	ctx := t.Context()
	const tickets = 30_000
	const base = 1_700_000_000_000_000_000 // unix nanoseconds
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO agents (username, password_hash, created_at) VALUES ('bob', '', 1), ('carol', '', 1), ('dave', '', 1);
		INSERT INTO tickets (id, subject, customer, status, assignee, merged_into, created_at, updated_at)
		SELECT substr(md5(i::text), 1, 16), 'ticket ' || i, 'c' || (i % 2000) || '@example.com',
			(ARRAY['open', 'in_progress', 'closed'])[i % 3 + 1],
			CASE WHEN i % 3 = 1 THEN (ARRAY['bob', 'carol', 'dave'])[i % 9 / 3 + 1] END,
			CASE WHEN i % 50 = 0 THEN 'aaaaaaaaaaaaaaaa' ELSE '' END,
			1700000000000000000 + i::bigint * 1000000000, 1700000000000000000 + i::bigint * 1000000000
		FROM generate_series(1, 30000) i;
		INSERT INTO entries (ticket_id, created_at, author_kind, internal)
		SELECT substr(md5((i / 3 + 1)::text), 1, 16), i, 'customer', i % 4 = 0 FROM generate_series(1, 30000) i;
		INSERT INTO attachments (entry_id, filename, data)
		SELECT i * 3, 'a.txt', '\x00' FROM generate_series(1, 10000) i;
		INSERT INTO outbox (from_addr, to_addr, to_key, state, automatic, created_at, message_id)
		SELECT 'support@help.example', 'c' || (i % 2000) || '@example.com', 'c' || (i % 2000) || '@example.com',
			CASE WHEN i > 29900 THEN 'pending' ELSE 'sent' END, i % 2 = 0, i, i || '.tt@help.example'
		FROM generate_series(1, 30000) i;
		INSERT INTO sessions (token_hash, username, created_at, expires_at)
		SELECT md5(i::text), 'bob', i, i FROM generate_series(1, 10000) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE agents, tickets, entries, attachments, outbox, sessions, ticket_search`); err != nil {
		t.Fatal(err)
	}
	plan := explainer(t, s)

	after := &core.Cursor{CreatedAt: time.Unix(0, base+tickets/2*int64(time.Second)), ID: "aaaaaaaaaaaaaaaa"}
	queries := storetest.PlanQueries("c7@example.com", after)
	// Searches for a rare and a common word.
	for name, q := range map[string]core.TicketQuery{
		"search rare":        {Search: "12345", Limit: 51},
		"search common":      {Search: "ticket", Limit: 51},
		"search common mine": {Search: "ticket", Assignee: "bob", NotClosed: true, Limit: 51},
	} {
		queries[name] = q
	}
	for name, q := range queries {
		query, args := listTicketsSQL(q)
		p := plan(query, args...)
		checkPlan(t, "ListTickets "+name, p)
		if q.Search != "" && !strings.Contains(p, "ticket_search") {
			t.Errorf("ListTickets %s: the search uses no index of ticket_search:\n%s", name, p)
		}
	}
	// Counting reads every matching ticket; PostgreSQL rightly reads the
	// table when that is most of it. Selective counts use an index.
	for _, name := range []string{"assignee", "assignee status", "customer", "customer candidates"} {
		query, args := countTicketsSQL(queries[name])
		if p := plan(query, args...); strings.Contains(p, "Seq Scan") {
			t.Errorf("CountTickets %s: plan\n%s", name, p)
		}
	}
	// The ticket page's reads that find the ticket by its id in a
	// subquery (TicketPage): its customer's lists still come from an index.
	const pageID = "c4ca4238a0b92382" // ticket 1: customer c1, bob's
	for name, q := range map[string]core.TicketQuery{
		"customer tickets": {Sort: core.SortActivity, Limit: core.MaxCustomerTickets},
		"merge candidates": {Limit: 200},
	} {
		query, args := pageListSQL(q, pageID, name == "merge candidates")
		checkPlan(t, "ticket page "+name, plan(query, args...))
	}
	// The ticket with its assignee and the viewer's session: agents and
	// sessions are a handful of rows here, which PostgreSQL rightly scans;
	// the ticket is found by its key.
	query, args := pageTicketSQL(core.TicketPageQuery{ID: pageID, Assignee: true, SessionHash: "h"}, true)
	if p := plan(query, args...); !strings.Contains(p, "tickets_pkey") {
		t.Errorf("ticket page's ticket: plan\n%s", p)
	}
	for name, query := range map[string]string{
		"pending":       `SELECT id FROM outbox WHERE state = 'pending' AND id > 0 ORDER BY id LIMIT 10`,
		"claim":         `SELECT id FROM outbox WHERE state = 'pending' AND next_try <= 5 AND lease_until <= 5 ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED`,
		"automatic":     `SELECT COUNT(*) FROM outbox WHERE automatic AND to_key = 'c7@example.com' AND created_at >= 0`,
		"by message id": `SELECT id FROM outbox WHERE message_id = '7.tt@help.example' ORDER BY id LIMIT 1`,
		"count state":   `SELECT COUNT(*) FROM outbox WHERE state = 'failed'`,
		"entries":       `SELECT e.id FROM entries e WHERE e.ticket_id = 'x' ORDER BY e.created_at, e.id`,
		"attachments":   `SELECT a.id FROM entries e JOIN attachments a ON a.entry_id = e.id WHERE e.ticket_id = 'x' ORDER BY a.id`,
		"expired":       `DELETE FROM sessions WHERE expires_at <= 0`,
		"sessions of":   `DELETE FROM sessions WHERE username = 'carol'`,
	} {
		checkPlan(t, name, plan(query))
	}
}

// TestRareWordSearchPlan checks the planner's estimate and plan of a search
// for a word few tickets have, where every ticket shares a few words and
// many words are each in one ticket of 5,000, as in
// bench/gendb's tickets. With PostgreSQL's default statistics ANALYZE kept
// only the shared words, estimated every other word at half a percent of
// the tickets, and with ticket ids that grow as tickets are made
// (core.NewTicketID) the planner then sometimes walked All Tickets in
// order looking each one's words up: 100 ms instead of 2 over 100,000
// tickets (bench/run.sh, section 6). Migration 0020 keeps more statistics.
func TestRareWordSearchPlan(t *testing.T) {
	t.Parallel()
	s := openTemp(t).(*Store)
	ctx := t.Context()
	// The words are written here in one statement, not by the tickets'
	// triggers one ticket at a time, which would take a minute.
	if _, err := s.pool.Exec(ctx, `
		ALTER TABLE tickets DISABLE TRIGGER USER;
		INSERT INTO tickets (id, subject, customer, status, merged_into, created_at, updated_at, activity_at)
		SELECT 'a' || lpad(i::text, 19, '0'),
			CASE WHEN i = 777 THEN 'A quokka chewed the cable' ELSE 'Printer broken, please help: tail' || (i % 5000) END,
			'c' || i || '@example.com', 'open', '',
			1700000000000000000 + i::bigint * 1000000000, 1700000000000000000 + i::bigint * 1000000000,
			1700000000000000000 + i::bigint * 1000000000
		FROM generate_series(1, 100000) i;
		INSERT INTO ticket_search (ticket_id, words)
		SELECT id, array_to_tsvector(tt_search_words(subject || ' ' || customer)) FROM tickets;
		ALTER TABLE tickets ENABLE TRIGGER USER`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE tickets, ticket_search`); err != nil {
		t.Fatal(err)
	}
	explain := explainer(t, s)
	p := explain(`SELECT 1 FROM ticket_search WHERE words @@ 'quokka'::tsquery`)
	if m := planRows.FindStringSubmatch(p); m == nil {
		t.Fatalf("no estimate in\n%s", p)
	} else if n, _ := strconv.Atoi(m[1]); n > 100 {
		t.Errorf("a word of one ticket in 100,000 is estimated at %d tickets (want at most 100):\n%s", n, p)
	}
	query, args := listTicketsSQL(core.TicketQuery{Search: "'quokka'", Limit: 51})
	if p := explain(query, args...); !strings.Contains(p, "ticket_search_words") {
		t.Errorf("search for a rare word does not read the words' index:\n%s", p)
	}
}

// TestFreshDatabaseUnanalyzed checks that the migrations leave the search
// table of a new database without statistics. Statistics that say "empty"
// made the search index's check at the commit of ticketd migrate-store
// (one transaction, a million tickets) read ticket_search whole for every
// ticket: the import ran for hours instead of minutes.
func TestFreshDatabaseUnanalyzed(t *testing.T) {
	t.Parallel()
	s := openTemp(t).(*Store)
	p := explainer(t, s)(`SELECT 1 FROM ticket_search s WHERE s.ticket_id = 'x' AND s.exact_in = 1`)
	if !strings.Contains(p, "ticket_search_pkey") {
		t.Errorf("on a new database the search index's check does not use its key:\n%s", p)
	}
}
