package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/webui"
)

// receive files a customer's mail, as a mail door does.
func (e *env) receive(from, name, subject, text string) string {
	e.t.Helper()
	res, err := e.svc.Receive(context.Background(), core.InboundMessage{Door: core.DoorAPI, From: from, FromName: name, Subject: subject, Text: text})
	if err != nil {
		e.t.Fatalf("receive: %v", err)
	}
	return res.TicketID
}

// rowOf is the ticket list row of ticket id.
func rowOf(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr[^>]*>\s*<td class="subject">(?:<span class="unread-mark">New reply</span>)?<a href="/ticket\?id=` + id + `".*?</tr>`).FindString(body)
	if m == "" {
		t.Fatalf("no row of ticket %s:\n%s", id, excerpt(body))
	}
	return m
}

func TestViewsCountsAndSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	e.agent("bob", "Bob")
	ctx := context.Background()
	mine := e.receive("carol@example.com", "Carol", "Drucker im Erdgeschoss", "Der Drucker druckt nur leere Seiten.")
	jp := e.receive("tanaka@example.jp", "田中", "プリンター", "お世話になっております。三階のプリンターで紙詰まりが毎朝発生しています。")
	bobs := e.receive("dave@example.com", "", "Bob's ticket", "For Bob.")
	closed := e.receive("erin@example.com", "", "Done already", "Thanks.")
	for _, a := range []struct{ agent, id string }{{"alice", mine}, {"bob", bobs}, {"alice", closed}} {
		if err := e.svc.Assign(ctx, a.agent, a.id, a.agent); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.Save(ctx, "alice", closed, core.Change{Status: core.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	a := e.browser()
	a.login("alice")

	r := a.get("/tickets")
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, `>Mine <span class="count">1</span>`, `>Unassigned <span class="count">1</span>`, `>All <span class="count">4</span>`,
		`>Any status <span class="count">4</span>`, `>Closed <span class="count">1</span>`, `<label for="sort">Sort by</label>`, `<option value="activity" selected>Last activity</option>`,
		`type="search" name="q"`, "1–4 of 4")
	// Waiting on: nobody answered Carol yet.
	expectContains(t, rowOf(t, r.Body, mine), `<td data-label="Waiting on"><span class="waiting-us">us</span></td>`)
	expectContains(t, rowOf(t, r.Body, closed), `<td data-label="Waiting on">–</td>`)

	r = a.get("/tickets?view=mine")
	expectContains(t, r.Body, "<h1>My tickets</h1>", ">Drucker im Erdgeschoss<")
	expectLacks(t, r.Body, ">Bob&#39;s ticket<", ">Done already<", ">プリンター<")
	expectContains(t, a.get("/tickets?view=mine&status=closed").Body, ">Done already<")
	r = a.get("/tickets?view=unassigned")
	expectContains(t, r.Body, ">プリンター<")
	expectLacks(t, r.Body, ">Drucker im Erdgeschoss<")

	// Search: a Japanese word inside a sentence, with the match marked.
	r = a.get("/tickets?q=" + url.QueryEscape("紙詰まり"))
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, "Search results for “紙詰まり”", `value="紙詰まり"`, `href="/ticket?id=`+jp+`">プリンター<`, "<mark>紙詰まり</mark>", `>All <span class="count">1</span>`)
	expectLacks(t, r.Body, ">Drucker im Erdgeschoss<")
	// A word a customer adds later is found too.
	if _, err := e.svc.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: "carol@example.com",
		Subject: `Re: [Ticket "` + mine + `"]`, Text: "Nachtrag: der Tonerbehälter ist voll."}); err != nil {
		t.Fatal(err)
	}
	expectContains(t, a.get("/tickets?q=Tonerbeh%C3%A4lter").Body, ">Drucker im Erdgeschoss<", "<mark>")
	// Hostile searches answer clearly.
	r = a.get("/tickets?q=" + url.QueryEscape(strings.Repeat("x", 500)))
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, "The search is longer than")
	r = a.get("/tickets?q=" + url.QueryEscape(strings.Repeat("x", 5000)))
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, "Search: at most 200 characters")
	r = a.get("/tickets?q=" + url.QueryEscape(`<script>alert(1)</script>`))
	expectLacks(t, r.Body, "<script>alert(1)")
	// Customers never search.
	if r := e.browser().get("/tickets?q=x"); r.Code != http.StatusSeeOther {
		t.Errorf("customer search: %d", r.Code)
	}

	// The customer's reply marks the ticket for its assignee until opened.
	r = a.get("/dashboard")
	expectContains(t, rowOf(t, r.Body, mine), `<tr class="unread">`, `<span class="unread-mark">New reply</span>`)
	expectContains(t, r.Body, "My closed tickets", ">Done already<")
	expectCode(t, a.get("/ticket?id="+mine), http.StatusOK)
	expectLacks(t, rowOf(t, a.get("/dashboard").Body, mine), "unread")
}

func TestTakeAndAnswerInOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	id := e.receive("carol@example.com", "", "Need help", "Hello?")
	a := e.browser()
	a.login("alice")
	r := a.get("/ticket?id=" + id)
	expectContains(t, r.Body, ">Assign to me</button>", `name="assign_to_me" value="1" checked`, "<dt>Waiting on</dt><dd><strong>us</strong>")
	before := len(e.pending())
	r = a.post("/ticket/save", url.Values{"id": {id}, "form": {"reply"}, "assign_to_me": {"1"}, "status": {"open"}, "reply": {"external"}, "comment": {"On it."}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", r.Code, excerpt(r.Body))
	}
	expectContains(t, a.follow(r).Body, "Reply sent to the customer on ticket “Need help”.", "<dt>Waiting on</dt><dd>the customer</dd>")
	v := e.view(id)
	if v.Ticket.Assignee != "alice" {
		t.Errorf("assignee %q after answering with Assign to me", v.Ticket.Assignee)
	}
	ms := e.pending()
	if len(ms) != before+1 || !strings.Contains(ms[len(ms)-1].Body, "On it.") {
		t.Errorf("want one mail with the answer, got %d new", len(ms)-before)
	}
}

func TestStatusOnlyAndRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	id := e.receive("carol@example.com", "", "Close me", "Hello")
	a := e.browser()
	a.login("alice")
	expectCode(t, a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}}), http.StatusSeeOther)
	before := len(e.pending())

	// A status change needs no reply type and mails nobody unless asked.
	r := a.post("/ticket/save", url.Values{"id": {id}, "form": {"status"}, "status": {"closed"}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("status only: %d %s", r.Code, excerpt(r.Body))
	}
	r = a.follow(r)
	expectContains(t, r.Body, "Status set to Closed on ticket “Close me”.")
	if n := len(e.pending()); n != before {
		t.Errorf("a quiet status change queued %d mails", n-before)
	}
	// Release is not offered on a Closed ticket.
	expectLacks(t, r.Body, ">Release ticket</button>")
	expectLacks(t, rowOf(t, a.get("/dashboard?x=1").Body+a.get("/tickets?view=mine&status=closed").Body, id), ">Release ticket</button>")
	r = a.post("/ticket/save", url.Values{"id": {id}, "form": {"status"}, "status": {"in_progress"}, "notify": {"1"}})
	expectCode(t, r, http.StatusSeeOther)
	if n := len(e.pending()); n != before+1 {
		t.Errorf("a status change with notify queued %d mails, want 1", n-before)
	}
	expectContains(t, a.follow(r).Body, ">Release ticket</button>")
	// Bad values are refused beside their fields.
	r = a.post("/ticket/save", url.Values{"id": {id}, "form": {"status"}, "status": {"nonsense"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, `<a href="#status-only">Choose a status`, `aria-invalid="true" aria-describedby="status-only-error"`)
	r = a.post("/ticket/save", url.Values{"id": {id}, "form": {"status"}, "status": {"in_progress"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, `<a href="#status-only">Nothing to save`)
	r = a.post("/ticket/save", url.Values{"id": {id}, "form": {"merge"}, "reply": {"internal"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, `<a href="#merge">Choose the ticket to merge`)
}

func TestLoginPageAndNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	b := e.browser()
	r := b.get("/login")
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, "<h1>Agent login</h1>", `<label for="username">Username (required)</label>`, `<label for="password">Password (required)</label>`,
		`id="username" name="username"`, `type="password" name="password"`)
	// The start page keeps the header mask and links the login page.
	expectContains(t, b.get("/").Body, `<form class="login" method="post" action="/login"`, `<a class="login-link" href="/login">`, `<a class="skip-link" href="#main">`)
	b.login("alice")
	expectRedirect(t, b.get("/login"), "/dashboard", "/login when logged in")
	for _, who := range []*browser{e.browser(), b} {
		r = who.get("/no/such/page")
		expectCode(t, r, http.StatusNotFound)
		expectContains(t, r.Body, "<h1>Page not found</h1>")
		expectLacks(t, r.Body, "No such ticket")
		r = who.get("/ticket?id=aaaaaaaaaaaaaaaa")
		expectCode(t, r, http.StatusNotFound)
		expectContains(t, r.Body, "<h1>No such ticket</h1>")
	}
}

func TestTimesInTheAgentsZone(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var now atomic.Pointer[time.Time]
	now.Store(&created)
	e := newEnvService(t, core.Config{Now: func() time.Time { return *now.Load() }}, func(*webui.Config) {})
	e.agent("alice", "Alice")
	id := e.receive("carol@example.com", "", "When", "Hello")
	later := created.Add(2*time.Hour + 5*time.Minute)
	now.Store(&later)
	a := e.browser()
	a.login("alice")
	r := a.get("/ticket?id=" + id)
	expectContains(t, r.Body, `<time datetime="2026-11-30T12:00:00Z" title="Mon 30 Nov 2026, 12:00 UTC">2 h ago</time>`, "times in UTC")

	r = a.post("/timezone", url.Values{"zone": {"Mars/Olympus"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, `<a href="#zone">`, "Mars/Olympus", `aria-describedby="zone-hint zone-error" aria-invalid="true"`, "<title>Error: Dashboard")
	r = a.follow(a.post("/timezone", url.Values{"zone": {"Asia/Tokyo"}}))
	expectContains(t, r.Body, "Times are now shown in Asia/Tokyo.", `value="Asia/Tokyo"`)
	r = a.get("/ticket?id=" + id)
	expectContains(t, r.Body, `<time datetime="2026-11-30T12:00:00Z" title="Mon 30 Nov 2026, 21:00 JST (Asia/Tokyo)">2 h ago</time>`, "times in Asia/Tokyo")
	// The customer sees the daemon's zone, named.
	expectContains(t, e.browser().get("/ticket?id="+id).Body, `title="Mon 30 Nov 2026, 12:00 UTC"`, "times in UTC")
}
