package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
)

// errPanicked is what groupOf gives for a call that panicked.
var errPanicked = errors.New("the call panicked")

// groupOf runs UpdateGrouped calls for fns as one group: the one runner
// of st is held in a first call while the calls join the queue, one after
// another in the order of fns. It returns each call's error, errPanicked
// for a call that panicked in its caller's goroutine.
func groupOf(t *testing.T, st *Store, fns ...func(core.Tx) error) []error {
	t.Helper()
	return groupWith(t, st, nil, fns)
}

// groupWith is groupOf with each call's context: ctxs[i] for fns[i], the
// test's when ctxs is shorter.
func groupWith(t *testing.T, st *Store, ctxs []context.Context, fns []func(core.Tx) error) []error {
	t.Helper()
	ctx := t.Context()
	st.groups.runners = 1
	release := holdRunner(t, st)
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, fn := range fns {
		cctx := ctx
		if i < len(ctxs) {
			cctx = ctxs[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if recover() != nil {
					errs[i] = errPanicked
				}
			}()
			errs[i] = st.UpdateGrouped(cctx, fn)
		}()
		waitQueued(t, st, i+1)
	}
	release()
	wg.Wait()
	return errs
}

// holdRunner keeps one of st's runners busy in a call of its own until
// the function it returns is called, which waits for that call's end.
func holdRunner(t *testing.T, st *Store) (release func()) {
	t.Helper()
	hold, held, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if err := st.UpdateGrouped(t.Context(), func(core.Tx) error {
			close(held)
			<-hold
			return nil
		}); err != nil {
			t.Errorf("the holding call: %v", err)
		}
	}()
	<-held
	return func() { close(hold); <-done }
}

// waitQueued waits until n calls wait for st's runners.
func waitQueued(t *testing.T, st *Store, n int) {
	t.Helper()
	waitWaiting(t, st, func(k int) bool { return k >= n }, fmt.Sprintf("%d calls waiting", n))
}

// waitWaiting waits until ok says yes to the number of calls that wait
// for st's runners; what names that in the failure.
func waitWaiting(t *testing.T, st *Store, ok func(int) bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		st.groups.mu.Lock()
		k := len(st.groups.waiting)
		st.groups.mu.Unlock()
		if ok(k) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls wait for the runners, want %s", k, what)
		}
	}
}

// txID is the id of the transaction that c belongs to.
func txID(t *testing.T, c core.Tx) int64 {
	var id int64
	if err := c.(*tx).queryRow(t.Context(), "read the transaction id", []any{&id}, "SELECT txid_current()"); err != nil {
		t.Errorf("txid_current: %v", err)
	}
	return id
}

// TestUpdateGroupedOneTransaction: calls that wait together run in one
// transaction, in the order they came, each seeing the writes of those
// before it, and all of them commit.
func TestUpdateGroupedOneTransaction(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	const n = 5
	ids := make([]int64, n)
	seen := make([]int, n)
	fns := make([]func(core.Tx) error, n)
	for i := range fns {
		fns[i] = func(c core.Tx) error {
			ids[i] = txID(t, c)
			as, err := c.Agents(ctx)
			if err != nil {
				return err
			}
			seen[i] = len(as)
			return c.CreateAgent(ctx, core.Agent{Username: fmt.Sprintf("agent%d", i), CreatedAt: time.Now()})
		}
	}
	errs := groupOf(t, st, fns...)
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
		if ids[i] != ids[0] {
			t.Errorf("call %d ran in transaction %d, call 0 in %d: want one transaction", i, ids[i], ids[0])
		}
		if !agentExists(t, st, fmt.Sprintf("agent%d", i)) {
			t.Errorf("call %d's agent was not committed", i)
		}
	}
	for i := range seen {
		if seen[i] != i {
			t.Errorf("call %d saw %d agents, want the %d of the calls before it", i, seen[i], i)
		}
	}
}

// TestUpdateGroupedFailure: a function that fails, a failed statement and
// a panic each roll their group back; every other call of the group runs
// again alone and commits once, and the failing call returns its own
// error (the panic panics in its caller's goroutine).
func TestUpdateGroupedFailure(t *testing.T) {
	t.Parallel()
	errOwn := errors.New("the function's own error")
	for _, tc := range []struct {
		name string
		fail func(ctx context.Context, c core.Tx) error
		want func(error) bool
		// runs of each call: in the group; again in the group, with
		// every write sent at its call, when a write sent ahead failed
		// (see transact); then alone, where the same happens to the
		// failing call. The last call runs in the group only when the
		// failure shows after it, at the COMMIT.
		runs [3]int32
	}{
		{"error", func(context.Context, core.Tx) error { return errOwn },
			func(err error) bool { return errors.Is(err, errOwn) }, [3]int32{2, 2, 1}},
		{"duplicate", func(ctx context.Context, c core.Tx) error {
			return c.CreateAgent(ctx, core.Agent{Username: "taken", CreatedAt: time.Now()})
		}, func(err error) bool { return errors.Is(err, core.ErrDuplicate) }, [3]int32{2, 2, 1}},
		{"write sent ahead", func(ctx context.Context, c core.Tx) error {
			return c.AddEntry(ctx, &core.Entry{TicketID: "missing", CreatedAt: time.Now(), AuthorKind: core.AuthorCustomer, Text: "lost"})
		}, func(err error) bool { return errors.Is(err, core.ErrNotFound) }, [3]int32{3, 4, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := openTemp(t).(*Store)
			ctx := t.Context()
			if err := st.Update(ctx, func(c core.Tx) error {
				return c.CreateAgent(ctx, core.Agent{Username: "taken", CreatedAt: time.Now()})
			}); err != nil {
				t.Fatal(err)
			}
			var runs [3]atomic.Int32
			create := func(i int) func(core.Tx) error {
				return func(c core.Tx) error {
					runs[i].Add(1)
					return c.CreateAgent(ctx, core.Agent{Username: fmt.Sprintf("agent%d", i), CreatedAt: time.Now()})
				}
			}
			errs := groupOf(t, st, create(0), func(c core.Tx) error {
				if err := create(1)(c); err != nil {
					return err
				}
				return tc.fail(ctx, c)
			}, create(2))
			if errs[0] != nil || errs[2] != nil {
				t.Errorf("the other calls: %v, %v; want both committed", errs[0], errs[2])
			}
			if !tc.want(errs[1]) {
				t.Errorf("the failing call: %v, want its own error", errs[1])
			}
			for i, want := range []bool{true, false, true} {
				if got := agentExists(t, st, fmt.Sprintf("agent%d", i)); got != want {
					t.Errorf("agent%d stored: %v, want %v", i, got, want)
				}
			}
			for i := range runs {
				if n := runs[i].Load(); n != tc.runs[i] {
					t.Errorf("call %d ran %d times, want %d", i, n, tc.runs[i])
				}
			}
		})
	}

	t.Run("panic", func(t *testing.T) {
		t.Parallel()
		st := openTemp(t).(*Store)
		ctx := t.Context()
		errs := groupOf(t, st,
			func(c core.Tx) error { return c.CreateAgent(ctx, core.Agent{Username: "a", CreatedAt: time.Now()}) },
			func(core.Tx) error { panic("the function's panic") },
		)
		if errs[0] != nil || !agentExists(t, st, "a") {
			t.Errorf("the other call: %v; want it committed", errs[0])
		}
		if errs[1] != errPanicked {
			t.Errorf("the panicking call: %v, want a panic in its caller's goroutine", errs[1])
		}
	})

	// Alone in its group, a panicking call panics in its caller's
	// goroutine too, not in the runner's, which would end the process.
	t.Run("panic alone", func(t *testing.T) {
		t.Parallel()
		st := openTemp(t).(*Store)
		var runs atomic.Int32
		errs := groupOf(t, st, func(core.Tx) error {
			runs.Add(1)
			panic("the function's panic")
		})
		if errs[0] != errPanicked || runs.Load() != 2 {
			t.Errorf("a panicking call alone: %v after %d runs, want a panic in its caller's goroutine after 2", errs[0], runs.Load())
		}
	})
}

// TestUpdateGroupedCancelled: a call whose context ended while it waited
// returns that and writes nothing; the rest of its group commits.
func TestUpdateGroupedCancelled(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	cctx, cancel := context.WithCancel(ctx)
	errs := groupWith(t, st, []context.Context{ctx, cctx}, []func(core.Tx) error{
		func(c core.Tx) error {
			cancel()
			return c.CreateAgent(ctx, core.Agent{Username: "a", CreatedAt: time.Now()})
		},
		func(c core.Tx) error {
			return c.CreateAgent(ctx, core.Agent{Username: "b", CreatedAt: time.Now()})
		},
	})
	if errs[0] != nil || !agentExists(t, st, "a") {
		t.Errorf("the first call: %v; want it committed", errs[0])
	}
	if !errors.Is(errs[1], context.Canceled) || agentExists(t, st, "b") {
		t.Errorf("the cancelled call: %v; want context.Canceled and nothing stored", errs[1])
	}
}

// TestReceiveGrouped: messages received in one group see each other as if
// they had come one after another: a Message-ID that came earlier in the
// group is a duplicate of its ticket, and the confirmations to one address
// stop at the limit for mail loops.
func TestReceiveGrouped(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}, AutoReplyLimit: 2})
	st.groups.runners = 1
	release := holdRunner(t, st)
	ids := []string{"one@example.org", "one@example.org", "two@example.org", "three@example.org"}
	results := make([]core.ReceiveResult, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = svc.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: "carol@example.org",
				Subject: "Printer", Text: "It jams.", MessageID: id})
		}()
		waitQueued(t, st, i+1)
	}
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if !results[0].Created || !results[1].Duplicate || results[1].TicketID != results[0].TicketID {
		t.Errorf("the same Message-ID twice in a group: %+v then %+v; want a ticket, then a duplicate of it", results[0], results[1])
	}
	if !results[2].Created || !results[3].Created || results[2].TicketID == results[3].TicketID {
		t.Errorf("two new messages in the group: %+v, %+v; want two tickets", results[2], results[3])
	}
	mails, err := svc.PendingMails(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 2 {
		t.Errorf("%d confirmations to one address in a group, want the limit of 2", len(mails))
	}
}

// statements records every statement a pool sends, and counts round
// trips as roundTrips does.
type statements struct {
	roundTrips
	mu  sync.Mutex
	sql []string
}

func (s *statements) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.add(d.SQL)
	return s.roundTrips.TraceQueryStart(ctx, c, d)
}

func (s *statements) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	s.add(d.SQL)
}

func (s *statements) add(sql string) {
	s.mu.Lock()
	s.sql = append(s.sql, sql)
	s.mu.Unlock()
}

// count returns how many recorded statements begin with prefix.
func (s *statements) count(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.sql {
		if strings.HasPrefix(strings.TrimSpace(q), prefix) {
			n++
		}
	}
	return n
}

// TestReceiveGroupedStatements: the new tickets of one group read their
// facts beside the writes that wait, so that the group's confirmations,
// Message-IDs and search index rows go to the server as one insert each,
// with the COMMIT;
// a receive whose facts a waiting write changes (the same sender's
// automatic mail) reads after it.
func TestReceiveGroupedStatements(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	openURL(t, url)
	rec := &statements{}
	st := openTraced(t, url, rec)
	ctx := t.Context()
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"support@help.example"}})
	receiveGroup := func(senders ...string) []string {
		t.Helper()
		ids := make([]string, len(senders))
		st.groups.runners = 1
		release := holdRunner(t, st)
		var wg sync.WaitGroup
		for i, from := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := svc.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: from, Subject: "Printer", Text: "It jams."})
				if err != nil || !res.Created {
					t.Errorf("receive from %s: %+v, %v", from, res, err)
				}
				ids[i] = res.TicketID
			}()
			waitQueued(t, st, i+1)
		}
		rec.mu.Lock()
		rec.sql = nil
		rec.mu.Unlock()
		before := rec.n.Load()
		release()
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		t.Logf("%d round trips", rec.n.Load()-before)
		return ids
	}

	ids := receiveGroup("a@example.com", "b@example.com", "c@example.com", "d@example.com")
	if n, m, w := rec.count("INSERT INTO outbox"), rec.count("INSERT INTO message_ids"), rec.count("INSERT INTO ticket_search"); n != 1 || m != 1 || w != 1 {
		t.Errorf("four new tickets in a group: %d inserts into outbox, %d into message_ids and %d into ticket_search, want 1 each", n, m, w)
	}
	if n := rec.count("INSERT INTO tickets"); n != 4 {
		t.Errorf("four new tickets in a group: %d inserts into tickets, want 4", n)
	}
	for _, id := range ids {
		// The daemon's words, exactly the rebuild's, the first entry's
		// included.
		if merged, exact := indexRow(t, st, id); len(merged) != 1 || !exact {
			t.Errorf("index row of %s: words of entries %v, exact %v; want the first entry's, exact", id, merged, exact)
		}
	}

	// The same sender twice: the second's count of automatic mails must
	// see the first's confirmation, so the first's writes go before it.
	receiveGroup("e@example.com", "E@example.com", "f@example.com")
	if n := rec.count("INSERT INTO outbox"); n != 2 {
		t.Errorf("a sender twice in a group: %d inserts into outbox, want 2 (the writes sent before the second's read)", n)
	}
}

func TestRenumber(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		by   int
		want string
	}{
		{"($1, $2, $3)", 3, "($4, $5, $6)"},
		{"($20, $1, $2)", 20, "($40, $21, $22)"},
		{"($1, lower($2), '$')", 9, "($10, lower($11), '$')"},
		{"(1, 2)", 5, "(1, 2)"},
	} {
		if got := renumber(tc.sql, tc.by); got != tc.want {
			t.Errorf("renumber(%q, %d) = %q, want %q", tc.sql, tc.by, got, tc.want)
		}
	}
}

// TestUpdateGroupedDeadlock: two groups that lock the same two tickets in
// opposite orders deadlock; the group that PostgreSQL aborts is not tried
// again as a group, which could meet the same again, but each of its
// calls runs alone, and all four commit.
func TestUpdateGroupedDeadlock(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	now := time.Now()
	for _, id := range []string{"A", "B"} {
		if err := st.Update(ctx, func(c core.Tx) error {
			return c.CreateTicket(ctx, core.Ticket{ID: id, Subject: "s", Customer: "c@example.org", Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now})
		}); err != nil {
			t.Fatal(err)
		}
	}
	st.groups.runners = 2
	// Both runners held, each in a call of its own.
	releases := []func(){holdRunner(t, st), holdRunner(t, st)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	txs := map[string][]int64{} // the transactions each call ran in
	var aOnce, bOnce sync.Once
	aLocked, bLocked := make(chan struct{}), make(chan struct{})
	lock := func(name, id string, after func()) func(core.Tx) error {
		return func(c core.Tx) error {
			mu.Lock()
			txs[name] = append(txs[name], txID(t, c))
			mu.Unlock()
			if _, err := c.Ticket(ctx, id); err != nil { // FOR UPDATE
				return err
			}
			after()
			return nil
		}
	}
	fns := map[string]func(core.Tx) error{
		// The first group locks A, waits until the second locked B,
		// then asks for B; the second, holding B, asks for A.
		"1a": lock("1a", "A", func() { aOnce.Do(func() { close(aLocked) }); <-bLocked }),
		"1b": lock("1b", "B", func() {}),
		"2a": lock("2a", "B", func() { bOnce.Do(func() { close(bLocked) }) }),
		"2b": lock("2b", "A", func() {}),
	}
	errs := map[string]error{}
	call := func(name string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.UpdateGrouped(ctx, fns[name])
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		}()
	}
	for g, release := range releases {
		prefix := fmt.Sprint(g + 1)
		call(prefix + "a")
		waitQueued(t, st, 1)
		call(prefix + "b")
		waitQueued(t, st, 2)
		release()
		// Until the released runner took both as its group.
		waitWaiting(t, st, func(k int) bool { return k == 0 }, fmt.Sprintf("none: group %d taken", g+1))
		if g == 0 {
			<-aLocked
		}
	}
	wg.Wait()
	for name, err := range errs {
		if err != nil {
			t.Errorf("call %s: %v", name, err)
		}
	}
	// One group committed as a group at its first run; the other ran as
	// a group once, then each of its calls alone.
	victims := 0
	for _, g := range []string{"1", "2"} {
		a, b := txs[g+"a"], txs[g+"b"]
		switch {
		case len(a) == 1 && len(b) == 1 && a[0] == b[0]:
		case len(a) == 2 && len(b) == 2 && a[0] == b[0] && a[1] != b[1]:
			victims++
		default:
			t.Errorf("group %s ran in transactions %v and %v, want one group, or one group and then each alone", g, a, b)
		}
	}
	if victims != 1 {
		t.Errorf("%d groups ran again, want the one that deadlocked", victims)
	}
}
