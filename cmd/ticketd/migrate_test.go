package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/store/postgres"
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/store/sqlite"
)

// migrateFixture is what fillDataDir made, for the checks after migrating.
type migrateFixture struct {
	tickets  []string // every ticket id, merged ones too
	merged   string   // a ticket merged into tickets[0]
	attID    int64    // the binary attachment, on tickets[0]
	attData  []byte
	token    string // bob's session
	maxEntry int64  // highest entry id
	maxMail  int64  // highest outbox id
	// bobReplyTo is the signed Reply-To of bob's notification on tickets[0].
	bobReplyTo string
}

// binaryData is an attachment with NUL bytes and every byte value.
func binaryData() []byte {
	b := []byte("\x00\x00PNG\r\n\x1a\n\x00")
	for i := range 256 {
		b = append(b, byte(i))
	}
	return append(b, 0, 0)
}

// fillDataDir makes a SQLite data directory with content through the
// normal paths: agents, tickets with entries and attachments, a merge,
// message ids, outbox mails pending, sent, failed and deferred, a session
// and a lease.
func fillDataDir(t *testing.T, dir string) migrateFixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"help@help.example"}})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var f migrateFixture
	must(svc.AddAgent(ctx, "bob", "Bob Builder", "bob-password-1"))
	must(svc.AddAgent(ctx, "alice", "", "alice-password-1"))
	must(svc.AddAgent(ctx, "carol", "Carol", "carol-password-1"))
	must(svc.SetVacation(ctx, "carol", true))

	f.attData = binaryData()
	receive := func(m core.InboundMessage) string {
		t.Helper()
		res, err := svc.Receive(ctx, m)
		must(err)
		return res.TicketID
	}
	first := receive(core.InboundMessage{Door: core.DoorSMTP, From: "one@example.org", FromName: "Customer One", Subject: "Printer on fire",
		Text: "It burns.\nÜmlauts and emoji 🔥 too.", MessageID: "first@example.org",
		Attachments: []core.Attachment{
			{Filename: "photo.png", ContentType: "image/png", Data: f.attData},
			{Filename: "empty.txt", ContentType: "text/plain", Data: []byte{}},
			{Filename: "inline.gif", ContentType: "image/gif", ContentID: "img1@example.org", Data: []byte("GIF89a\x00")},
			{Filename: "big.bin", ContentType: "application/octet-stream", Data: bytes.Repeat(binaryData(), 4<<10)}, // 1 MiB
		}})
	// A reply threads by In-Reply-To.
	if id := receive(core.InboundMessage{Door: core.DoorSMTP, From: "one@example.org", Subject: "Re: Printer on fire",
		Text: "Still burning.", MessageID: "second@example.org", InReplyTo: []string{"first@example.org"}}); id != first {
		t.Fatalf("reply went to ticket %s, not %s", id, first)
	}
	second := receive(core.InboundMessage{Door: core.DoorSMTP, From: "one@example.org", Subject: "Also the fax",
		Attachments: []core.Attachment{{Filename: "fax.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4\x00\x01")}}})
	third := receive(core.InboundMessage{Door: core.DoorWeb, From: "two@example.org", Subject: "Hello", Text: "Hi"})
	auto := receive(core.InboundMessage{Door: core.DoorSMTP, From: "robot@example.org", Subject: "Out of office",
		Text: "away", AutoSubmitted: "auto-replied", MessageID: "auto@example.org"})
	f.tickets = []string{first, second, third, auto}
	f.merged = second

	must(svc.Assign(ctx, "bob", first, "bob"))
	must(svc.Assign(ctx, "bob", second, "bob"))
	must(svc.Save(ctx, "bob", first, core.Change{Comment: "internal note", External: false}))
	must(svc.Save(ctx, "bob", first, core.Change{Comment: "We sent the fire brigade.", External: true}))
	must(svc.Save(ctx, "bob", second, core.Change{MergeInto: first, External: true}))
	must(svc.Save(ctx, "alice", third, core.Change{Status: core.StatusClosed, Comment: "done", External: true}))
	if _, err := svc.CustomerComment(ctx, third, "thanks"); err != nil {
		t.Fatal(err)
	}
	// An agent's address, and a notification signed with the shared key.
	must(svc.SetAgentMail(ctx, "bob", "bob@agents.example", core.NotifyReply))
	receive(core.InboundMessage{Door: core.DoorSMTP, From: "one@example.org", Subject: core.Tag(first) + " Printer on fire",
		Text: "Now it smokes.", MessageID: "third@example.org"})

	v, err := svc.ViewTicket(ctx, &core.Agent{Username: "bob"}, first)
	must(err)
	for _, e := range v.Entries {
		for _, a := range e.Attachments {
			if a.Filename == "photo.png" {
				f.attID = a.ID
			}
		}
	}
	if f.attID == 0 {
		t.Fatal("no attachment photo.png on the first ticket")
	}

	// Outbox: one sent, one failed, one deferred (attempts and a lease),
	// the rest pending.
	ms, err := svc.PendingMails(ctx, 0, 100)
	must(err)
	if len(ms) < 4 {
		t.Fatalf("only %d pending mails", len(ms))
	}
	ok, err := svc.VerifyMail(ctx, ms[0].ID)
	if err != nil || !ok {
		t.Fatalf("verify mail: %v %v", ok, err)
	}
	must(svc.MailFailed(ctx, ms[1], "550 no such user"))
	claimed, err := svc.ClaimMails(ctx, "daemon-1", time.Minute, 1)
	must(err)
	must(svc.MailDeferred(ctx, claimed[0].ID, "451 try later", time.Now().Add(time.Hour)))
	f.maxMail = ms[len(ms)-1].ID
	for _, m := range ms {
		if m.To == "bob@agents.example" {
			f.bobReplyTo = m.ReplyTo
		}
	}

	// A throttled login also trusts the browser (trusted_devices).
	login, err := svc.LoginThrottled(ctx, core.LoginAttempt{Username: "bob", Password: "bob-password-1", Client: "192.0.2.1"})
	must(err)
	f.token = login.Session
	_, err = svc.AcquireLease(ctx, "imap:help@help.example", "daemon-1", time.Hour)
	must(err)
	// Mail accepted by the SMTP gateway, not yet a ticket (inbound_queue).
	_, err = svc.EnqueueInbound(ctx, core.InboundMessage{Door: core.DoorSMTP, From: "queued@example.org",
		Recipients: []string{"help@help.example"}, Subject: "Queued", Text: "Waiting.", MessageID: "queued@example.org",
		Attachments: []core.Attachment{{Filename: "q.bin", ContentType: "application/octet-stream", Data: []byte{0, 1, 2, 0xff}, Size: 4}}})
	must(err)

	for _, id := range f.tickets {
		v, err := svc.ViewTicket(ctx, &core.Agent{Username: "bob"}, id)
		must(err)
		for _, e := range v.Entries {
			f.maxEntry = max(f.maxEntry, e.ID)
		}
	}
	return f
}

// countRows counts the rows of each table of a SQLite file.
func countRows(t *testing.T, path string) map[string]int {
	t.Helper()
	snap, err := sqlite.OpenSnapshot(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	n := map[string]int{}
	for _, table := range sqlite.Tables() {
		cols, err := snap.Columns(t.Context(), table)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range snap.Rows(t.Context(), table, cols[:1]) {
			if err != nil {
				t.Fatal(err)
			}
			n[table]++
		}
	}
	return n
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// runMigrate runs ticketd migrate-store and returns the exit code and
// what it printed.
func runMigrate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"migrate-store"}, args...), nil, strings.NewReader(""), &out, &errb)
	t.Logf("ticketd migrate-store: exit %d\n%s%s", code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

func TestMigrateStore(t *testing.T) {
	ctx := t.Context()
	db := pgtest.Start(t).NewDatabase(t)
	data := t.TempDir()
	f := fillDataDir(t, data)
	path := filepath.Join(data, dbFile)
	counts := countRows(t, path)
	before := fileSum(t, path)

	code, stdout, stderr := runMigrate(t, "--to", db, "--data", data)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, table := range sqlite.Tables() {
		if counts[table] == 0 {
			t.Errorf("the test data has no rows in %s", table)
		}
		if line := fmt.Sprintf("\n%s: %d copied, checked\n", table, counts[table]); !strings.Contains(stdout, line) {
			t.Errorf("output lacks %q", strings.TrimSpace(line))
		}
	}
	if !regexp.MustCompile(fmt.Sprintf(`\ndone in .*: %d tables, \d+ rows, .* copied and checked`, len(sqlite.Tables()))).MatchString(stdout) {
		t.Errorf("no summary in the output")
	}
	if fileSum(t, path) != before {
		t.Errorf("migrate-store changed the SQLite file")
	}

	// The same service on either store behaves the same.
	lite, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := postgres.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	cfg := core.Config{PublicURL: "https://help.example", SupportAddresses: []string{"help@help.example"}}
	old, migrated := core.NewService(lite, cfg), core.NewService(pg, cfg)
	same := func(what string, get func(*core.Service) (any, error)) {
		t.Helper()
		a, err := get(old)
		if err != nil {
			t.Fatalf("%s on SQLite: %v", what, err)
		}
		b, err := get(migrated)
		if err != nil {
			t.Fatalf("%s on PostgreSQL: %v", what, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs:\n SQLite     %+v\n PostgreSQL %+v", what, a, b)
		}
	}
	bob, err := migrated.Authenticate(ctx, "bob", "bob-password-1")
	if err != nil {
		t.Fatalf("bob's old password on PostgreSQL: %v", err)
	}
	for _, id := range f.tickets {
		same("agent view of "+id, func(s *core.Service) (any, error) { return s.ViewTicket(ctx, &bob, id) })
		same("customer view of "+id, func(s *core.Service) (any, error) {
			// The version counts changes in one database; the copy's own
			// inserts count anew.
			v, err := s.ViewTicket(ctx, nil, id)
			v.Version = 0
			return v, err
		})
	}
	same("attachment", func(s *core.Service) (any, error) { return s.Attachment(ctx, &bob, f.tickets[0], f.attID) })
	att, err := migrated.Attachment(ctx, nil, f.tickets[0], f.attID)
	if err != nil || !bytes.Equal(att.Data, f.attData) {
		t.Errorf("attachment on PostgreSQL: %q, %v; want %q", att.Data, err, f.attData)
	}
	same("pending mails", func(s *core.Service) (any, error) { return s.PendingMails(ctx, 0, 100) })
	same("outbox counts", func(s *core.Service) (any, error) { return s.OutboxCounts(ctx) })
	same("agents", func(s *core.Service) (any, error) { return s.Agents(ctx) })
	same("ticket list", func(s *core.Service) (any, error) { return s.ListTickets(ctx, core.TicketQuery{}) })
	same("bob's tickets", func(s *core.Service) (any, error) { return s.ListTickets(ctx, core.TicketQuery{Assignee: "bob"}) })
	same("session", func(s *core.Service) (any, error) { return s.SessionAgent(ctx, f.token) })
	// The search index and the workspace's columns came along.
	for _, q := range []string{"burns", "ümlauts", "printer", "one@example.org"} {
		same("search "+q, func(s *core.Service) (any, error) {
			l, err := s.ListTickets(ctx, core.TicketQuery{Search: q, Viewer: "bob"})
			if err == nil && len(l.Tickets) == 0 {
				err = fmt.Errorf("nothing found")
			}
			return l, err
		})
	}
	same("view counts", func(s *core.Service) (any, error) { return s.ViewCounts(ctx, "bob", "") })
	v, err := migrated.ViewTicket(ctx, &bob, f.merged)
	if err != nil || v.MergedInto == nil || v.MergedInto.ID != f.tickets[0] {
		t.Errorf("merged ticket on PostgreSQL: %+v, %v", v.MergedInto, err)
	}
	// A known Message-ID is still a duplicate.
	res, err := migrated.Receive(ctx, core.InboundMessage{Door: core.DoorSMTP, From: "one@example.org", Subject: "again",
		MessageID: "first@example.org"})
	if err != nil || !res.Duplicate {
		t.Errorf("a re-delivered message on PostgreSQL: %+v, %v", res, err)
	}

	// New rows get fresh ids.
	if _, err := migrated.CustomerComment(ctx, f.tickets[0], "after the move"); err != nil {
		t.Fatal(err)
	}
	v, err = migrated.ViewTicket(ctx, &bob, f.tickets[0])
	if err != nil {
		t.Fatal(err)
	}
	if last := v.Entries[len(v.Entries)-1]; last.Text != "after the move" || last.ID != f.maxEntry+1 {
		t.Errorf("new entry %d %q, want id %d", last.ID, last.Text, f.maxEntry+1)
	}
	res, err = migrated.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: "three@example.org", Subject: "New here",
		Attachments: []core.Attachment{{Filename: "x", Data: []byte("x")}}})
	if err != nil || !res.Created {
		t.Fatalf("new ticket on PostgreSQL: %+v, %v", res, err)
	}
	// bob's notice of the comment is signed with the key that moved along.
	ms, err := migrated.PendingMails(ctx, f.maxMail, 100)
	if err != nil || len(ms) != 2 || ms[0].ID != f.maxMail+1 || ms[0].To != "bob@agents.example" || ms[0].ReplyTo != f.bobReplyTo ||
		ms[1].To != "three@example.org" {
		t.Errorf("mails after the old ones: %+v, %v; want bob's notice with id %d and Reply-To %s, then the confirmation",
			ms, err, f.maxMail+1, f.bobReplyTo)
	}

	// Leases are not copied.
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var leases int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM leases`).Scan(&leases); err != nil || leases != 0 {
		t.Errorf("leases on PostgreSQL: %d, %v", leases, err)
	}

	// A second run is refused: the database is not empty.
	code, stdout, stderr = runMigrate(t, "--to", db, "--data", data)
	if code != 1 || !strings.Contains(stderr, "the target database is not empty (5 tickets, 3 agents, ") ||
		!strings.Contains(stderr, "migrate into an empty database") || stdout != "" {
		t.Errorf("second run: exit %d: %s%s", code, stdout, stderr)
	}
}

// TestMigrateStoreRollsBack: a row that PostgreSQL refuses (text with a
// NUL byte, which SQLite stores) fails the command, and nothing is kept.
func TestMigrateStoreRollsBack(t *testing.T) {
	ctx := t.Context()
	db := pgtest.Start(t).NewDatabase(t)
	data := t.TempDir()
	fillDataDir(t, data)
	lite, err := sql.Open("sqlite", filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = lite.ExecContext(ctx, `UPDATE entries SET text = 'a' || char(0) || 'b' WHERE id = (SELECT max(id) FROM entries)`)
	lite.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMigrate(t, "--to", db, "--data", data)
	if code != 1 || !strings.Contains(stderr, "rolled back: nothing was kept") ||
		!regexp.MustCompile(`copy entries \(COPY entries, line \d+, column text`).MatchString(stderr) {
		t.Errorf("exit %d: %s", code, stderr)
	}
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM agents) + (SELECT count(*) FROM tickets)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows kept after a failed copy: %d, %v", n, err)
	}
}

// TestMigrateStoreCheckFindsDifferences changes the copy behind the
// command's back and runs its check again.
func TestMigrateStoreCheckFindsDifferences(t *testing.T) {
	ctx := t.Context()
	db := pgtest.Start(t).NewDatabase(t)
	data := t.TempDir()
	fillDataDir(t, data)
	if code, _, stderr := runMigrate(t, "--to", db, "--data", data); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`UPDATE attachments SET data = set_byte(data, 1, 7) WHERE id = (SELECT min(id) FROM attachments)`, // same length
		`DELETE FROM sessions`,
		`UPDATE agents SET vacation = NOT vacation WHERE username = 'alice'`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	src, err := sqlite.OpenSnapshot(ctx, filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	var copies []tableCopy
	for _, table := range sqlite.Tables() {
		cols, err := src.Columns(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(0)
		for range src.Rows(ctx, table, cols) {
			n++
		}
		copies = append(copies, tableCopy{name: table, columns: cols, rows: n})
	}
	var out bytes.Buffer
	_, _, err = checkCopy(ctx, src, dst, copies, &out)
	t.Logf("%s", out.String())
	if err == nil || !strings.Contains(err.Error(), "in agents, attachments, sessions") {
		t.Errorf("check of a changed copy: %v", err)
	}
	n := countRows(t, filepath.Join(data, dbFile))
	for _, want := range []string{
		fmt.Sprintf("agents: %d copied, MISMATCH: %d rows each, but their contents differ (SHA-256)", n["agents"], n["agents"]),
		fmt.Sprintf("attachments: %d copied, MISMATCH: %d rows each, but their contents differ (SHA-256)", n["attachments"], n["attachments"]),
		"sessions: 1 copied, MISMATCH: SQLite has 1 row, PostgreSQL 0",
		fmt.Sprintf("tickets: %d copied, checked", n["tickets"]),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestMigrateStoreErrors(t *testing.T) {
	data := t.TempDir()
	const secret = "secret-pw-123"
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no --to", []string{"--data", data}, 2, "usage: ticketd migrate-store --to"},
		{"not postgres", []string{"--to", "mysql://bob:" + secret + "@db.example/x", "--data", data}, 2, "usage: ticketd migrate-store --to"},
		{"no data", []string{"--to", "postgres://bob:" + secret + "@127.0.0.1:1/x", "--data", filepath.Join(data, "nope")}, 1, "no database at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runMigrate(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("the password is in the output")
			}
		})
	}
	// A server that does not answer: the error names it, without the
	// password (in the user part or as a parameter).
	fillDataDir(t, data)
	for _, url := range []string{
		"postgres://bob:" + secret + "@127.0.0.1:1/tickets?sslmode=disable",
		"postgres://bob@127.0.0.1:1/tickets?sslmode=disable&password=" + secret,
	} {
		code, stdout, stderr := runMigrate(t, "--to", url, "--data", data)
		if code != 1 || !strings.Contains(stderr, "ticketd: migrate-store: postgres://bob") ||
			!strings.Contains(stderr, "127.0.0.1:1") {
			t.Errorf("unreachable server: exit %d: %s", code, stderr)
		}
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("the password is in the output: %s", stderr)
		}
	}
}

// TestStoresAgreeOnTables: the command copies sqlite.Tables() and checks
// that PostgreSQL lists the same.
func TestStoresAgreeOnTables(t *testing.T) {
	if a, b := sqlite.Tables(), postgres.Tables(); !slices.Equal(a, b) {
		t.Errorf("sqlite.Tables() = %v, postgres.Tables() = %v", a, b)
	}
}
