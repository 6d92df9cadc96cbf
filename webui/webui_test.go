package webui_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"trivialtickets/core"
	"trivialtickets/webui"
)

func TestStartPageCreateAndComment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()

	r := b.get("/")
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, `action="/ticket/new"`, `name="email"`, `name="subject"`, `name="message"`, ">Create ticket</button>",
		`action="/login"`, `name="username"`, `name="password"`, ">Login</button>")
	expectLacks(t, r.Body, ">Logout</button>", `href="/dashboard"`)

	// Invalid input: the form comes back with the values and a message.
	r = b.post("/ticket/new", url.Values{"email": {""}, "subject": {"Printer"}, "message": {"It is on fire"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, "Enter your e-mail address", `value="Printer"`, "It is on fire")
	r = b.post("/ticket/new", url.Values{"email": {"not an address"}, "subject": {"Printer"}, "message": {"It is on fire"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, `class="error-summary"`, `<a href="#email">Enter the e-mail address`, `aria-invalid="true"`, `value="not an address"`, "It is on fire")
	// Every mistake at once, each beside its field and in the summary.
	r = b.post("/ticket/new", url.Values{"email": {""}, "subject": {strings.Repeat("s", 301)}, "message": {" "}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, `<a href="#email">`, `<a href="#subject">`, `<a href="#message">`, `id="email-error"`, `id="subject-error"`, `id="message-error"`,
		`aria-describedby="email-hint email-error" aria-invalid="true"`, `aria-invalid="true" aria-describedby="message-error"`, "<title>Error: Create ticket")
	if n := len(e.pending()); n != 0 {
		t.Fatalf("%d mails after invalid forms", n)
	}

	id := b.create("Carol@Example.COM", "Printer jam", "The printer\nis jammed.")
	r = b.get("/ticket?id=" + id)
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, "Printer jam", "The printer\nis jammed.", "Open", "Your ticket was created", ">Add comment</button>", `class="entry from-customer external"`, `href="mailto:support+`+id+`@help.example">support+`+id+"@help.example<")
	expectLacks(t, r.Body, ">Save</button>", "Carol@Example")
	if ms := e.pending(); len(ms) != 1 || !strings.Contains(ms[0].Body, "/ticket?id="+id) {
		t.Fatalf("want one confirmation with the ticket link, got %+v", ms)
	}
	// The flash message is shown once.
	expectLacks(t, b.get("/ticket?id="+id).Body, "Your ticket was created")

	r = b.post("/ticket/comment", url.Values{"id": {id}, "comment": {"Still jammed."}})
	expectRedirect(t, r, "/ticket?id="+id, "comment")
	r = b.follow(r)
	expectContains(t, r.Body, "Still jammed.", "Your comment was added to ticket “Printer jam”.")
	if i, j := strings.Index(r.Body, "is jammed."), strings.Index(r.Body, "Still jammed."); i < j {
		t.Error("the newest entry is not shown first")
	}
	r = b.post("/ticket/comment", url.Values{"id": {id}, "comment": {"   "}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, `<a href="#comment">Write a comment first.</a>`, `aria-invalid="true" aria-describedby="comment-error"`)
	if n := len(e.pending()); n != 1 {
		t.Errorf("customer comments sent mail: %d pending", n)
	}
}

func TestLoginDashboardLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice Agent")
	b := e.browser()

	r := b.post("/login", url.Values{"username": {"alice"}, "password": {"password-alice"}})
	expectRedirect(t, r, "/dashboard", "login")
	var sc *http.Cookie
	for _, c := range r.Cookies {
		if c.Name == "tt_session" {
			sc = c
		}
	}
	if sc == nil || sc.Value == "" || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || !sc.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, Secure (the public URL is https)", sc)
	}
	r = b.get("/dashboard")
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, "Alice Agent", ">Logout</button>", `action="/logout"`, "My open and in-progress tickets", "My closed tickets", ">Activate vacation mode</button>", `type="search"`,
		`href="/dashboard"`, `href="/tickets"`, ">All tickets<", ">Create ticket<")
	expectLacks(t, r.Body, `action="/login"`)

	// A second login renews the session id: the old one stops working.
	old := b.cookies["tt_session"]
	b.login("alice")
	if b.cookies["tt_session"] == old {
		t.Fatal("session id not renewed at login")
	}
	stale := e.browser()
	stale.cookies["tt_session"] = old
	expectRedirect(t, stale.get("/dashboard"), "/", "old session after new login")

	// Logout ends the session on the server.
	token := b.cookies["tt_session"]
	r = b.post("/logout", nil)
	expectRedirect(t, r, "/", "logout")
	if _, ok := b.cookies["tt_session"]; ok {
		t.Error("session cookie not cleared")
	}
	expectContains(t, b.get("/").Body, `action="/login"`)
	replay := e.browser()
	replay.cookies["tt_session"] = token
	expectRedirect(t, replay.get("/dashboard"), "/", "old cookie after logout")
	expectCode(t, replay.post("/vacation", url.Values{"on": {"1"}}), http.StatusForbidden)
	if _, err := e.svc.SessionAgent(context.Background(), token); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("session after logout: %v", err)
	}
}

func TestLoginFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	b := e.browser()
	for _, form := range []url.Values{
		{"username": {"alice"}, "password": {"wrong-password"}},
		{"username": {"nobody"}, "password": {"password-alice"}},
		{"username": {""}, "password": {""}},
	} {
		r := b.post("/login", form)
		expectCode(t, r, http.StatusUnauthorized)
		expectContains(t, r.Body, "Wrong username or password.", "<h1>Agent login</h1>", `action="/login"`, `<a href="#username">Wrong username or password.</a>`,
			`id="username" name="username" value="`+form.Get("username")+`"`, `aria-invalid="true" aria-describedby="password-error"`)
		expectLacks(t, r.Body, ">Logout</button>")
		if _, ok := b.cookies["tt_session"]; ok {
			t.Fatal("failed login set a session cookie")
		}
	}
	expectRedirect(t, b.get("/dashboard"), "/", "dashboard after failed login")
	expectRedirect(t, b.get("/tickets"), "/", "tickets after failed login")
}

func TestSecureCookie(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, func(c *webui.Config) { c.Secure = true })
	e.agent("alice", "")
	b := e.browser()
	r := b.post("/login", url.Values{"username": {"alice"}, "password": {"password-alice"}})
	expectCode(t, r, http.StatusSeeOther)
	for _, c := range r.Cookies {
		if c.Name == "tt_session" && (!c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode) {
			t.Errorf("session cookie under TLS: %+v", c)
		}
	}
	r = b.post("/vacation", url.Values{"on": {"1"}})
	for _, c := range r.Cookies {
		if c.Name == "tt_flash" && (!c.Secure || !c.HttpOnly || c.Path != "/") {
			t.Errorf("flash cookie under TLS: %+v", c)
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "")
	e.agent("bob", "")
	attacker := e.browser()
	attacker.remote = "198.51.100.7:5555"
	for i := range 5 {
		r := attacker.post("/login", url.Values{"username": {"alice"}, "password": {"guess"}})
		if r.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, r.Code)
		}
	}
	// Even the right password is refused now, for alice from there.
	r := attacker.post("/login", url.Values{"username": {"alice"}, "password": {"password-alice"}})
	expectCode(t, r, http.StatusTooManyRequests)
	expectContains(t, r.Body, "Too many failed logins; try again in 15 minutes.")
	if got, _ := strconv.Atoi(r.Header.Get("Retry-After")); got < 840 || got > 900 {
		t.Errorf("Retry-After: %q, want about 900", r.Header.Get("Retry-After"))
	}
	// X-Forwarded-For does not get around it.
	expectCode(t, attacker.post("/login", url.Values{"username": {"alice"}, "password": {"password-alice"}}, "X-Forwarded-For", "192.0.2.200"), http.StatusTooManyRequests)
	// Another account at the same address (a colleague behind one NAT)
	// and the same account elsewhere are not locked out.
	attacker.login("bob")
	other := e.browser()
	other.remote = "203.0.113.9:1234"
	other.login("alice")
}

// TestLoginFieldLimits: a user name or password too long to be one is
// refused with 400 before it reaches the store or the log.
func TestLoginFieldLimits(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	e := newEnvConfig(t, func(c *webui.Config) { c.Logger = slog.New(slog.NewTextHandler(&logged, nil)) })
	e.agent("alice", "")
	b := e.browser()
	huge := strings.Repeat("a", 1900*1024)
	r := b.post("/login", url.Values{"username": {huge}, "password": {"guess"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, "User name: at most 64 characters.")
	r = b.post("/login", url.Values{"username": {"alice"}, "password": {strings.Repeat("p", 73)}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, "Password: at most 72 bytes.")
	if strings.Contains(logged.String(), "aaaaaaaaaa") {
		t.Errorf("the long user name was logged: %.200s", logged.String())
	}
	if n := e.svc.PasswordChecks(); n != 0 {
		t.Errorf("%d passwords checked, want 0", n)
	}
	b.login("alice")
}

func TestAssignFromAllTickets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	e.agent("bob", "Bob Holiday")
	if err := e.svc.SetVacation(context.Background(), "bob", true); err != nil {
		t.Fatal(err)
	}
	customer := e.browser()
	id := customer.create("carol@example.com", "Need help", "Hello")
	before := len(e.pending())

	anon := e.browser()
	expectRedirect(t, anon.get("/tickets"), "/", "anonymous /tickets")
	expectCode(t, anon.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}}), http.StatusForbidden)

	a := e.browser()
	a.login("alice")
	r := a.get("/tickets?status=open")
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, "All tickets", "Need help", "carol@example.com", `href="/ticket?id=`+id+`"`,
		`action="/ticket/assign"`, `<option value="alice">Alice</option>`, ">Assign</button>", `<span class="count">1</span>`,
		`>Mine <span class="count">0</span>`, `>Unassigned <span class="count">1</span>`, `>All <span class="count">1</span>`,
		`>Any status <span class="count">1</span>`, `>Open <span class="count">1</span>`, `>In Progress <span class="count">0</span>`, `>Closed <span class="count">0</span>`)
	expectLacks(t, r.Body, `value="bob"`)

	// The server refuses an agent in vacation mode even when posted.
	r = a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"bob"}, "back": {"/tickets?status=open"}})
	expectRedirect(t, r, "/tickets?status=open", "assign to bob")
	expectContains(t, a.follow(r).Body, "flash-error", "vacation mode")
	if v := e.view(id); v.Ticket.Assignee != "" {
		t.Fatalf("assigned to %q despite vacation", v.Ticket.Assignee)
	}
	// Evil back links stay on the site.
	r = a.post("/ticket/assign", url.Values{"id": {id}, "agent": {""}, "back": {"https://evil.example/"}})
	if r.Location != "/tickets" {
		t.Errorf("redirect to %q", r.Location)
	}

	r = a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}, "back": {"/tickets?status=open"}})
	expectRedirect(t, r, "/tickets?status=open", "assign")
	r = a.follow(r)
	expectContains(t, r.Body, "Ticket “Need help” assigned to you.")
	expectLacks(t, r.Body, ">Need help<") // no longer open
	v := e.view(id)
	if v.Ticket.Assignee != "alice" || v.Ticket.Status != core.StatusInProgress {
		t.Fatalf("after assign: assignee %q status %q", v.Ticket.Assignee, v.Ticket.Status)
	}
	if n := len(e.pending()); n != before+1 {
		t.Errorf("assign queued %d mails, want 1", n-before)
	}
	r = a.get("/tickets")
	expectContains(t, r.Body, "Need help", "In Progress", `<td data-label="Assignee">Alice`)
	expectLacks(t, r.Body, `action="/ticket/assign"`)

	// The dashboard lists my tickets with Open and Release.
	r = a.get("/dashboard")
	expectContains(t, r.Body, "Need help", "carol@example.com", "In Progress", `class="button" href="/ticket?id=`+id+`">Open</a>`,
		`action="/ticket/release"`, `name="id" value="`+id+`"`, ">Release ticket</button>")

	// The customer sees no internal system entries.
	expectLacks(t, customer.get("/ticket?id="+id).Body, "Assigned to", "entry internal")
}

func TestReleaseFromDashboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	id := e.browser().create("carol@example.com", "Release me", "Hello")
	a := e.browser()
	a.login("alice")
	expectCode(t, a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}}), http.StatusSeeOther)

	r := a.post("/ticket/release", url.Values{"id": {id}, "back": {"/dashboard"}})
	expectRedirect(t, r, "/dashboard", "release")
	r = a.follow(r)
	expectContains(t, r.Body, "Ticket “Release me” released")
	expectLacks(t, r.Body, ">Release me<")
	v := e.view(id)
	if v.Ticket.Assignee != "" || v.Ticket.Status != core.StatusOpen {
		t.Fatalf("after release: assignee %q status %q", v.Ticket.Assignee, v.Ticket.Status)
	}
	// Releasing a ticket that is not mine is refused.
	expectCode(t, a.post("/ticket/release", url.Values{"id": {id}}), http.StatusForbidden)
}

func TestVacation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	id := e.browser().create("carol@example.com", "Hi", "Hello")
	a := e.browser()
	a.login("alice")
	r := a.follow(a.post("/vacation", url.Values{"on": {"1"}}))
	expectContains(t, r.Body, "Vacation mode activated", ">Deactivate vacation mode</button>")
	r = a.get("/tickets")
	expectLacks(t, r.Body, `value="alice"`)
	expectContains(t, a.follow(a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}})).Body, "vacation mode")
	r = a.follow(a.post("/vacation", url.Values{"on": {"0"}}))
	expectContains(t, r.Body, "Vacation mode deactivated", ">Activate vacation mode</button>")
	expectContains(t, a.get("/tickets").Body, `<option value="alice">Alice</option>`)
}

func TestSaveInternalAndExternal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	customer := e.browser()
	id := customer.create("carol@example.com", "Broken", "It broke.")
	a := e.browser()
	a.login("alice")
	expectCode(t, a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}}), http.StatusSeeOther)

	r := a.get("/ticket?id=" + id)
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, `action="/ticket/save"`, `name="status"`, `<option value="in_progress" selected>In Progress</option>`,
		`<button type="submit" name="reply" value="external" class="primary">Reply to customer</button>`,
		`<button type="submit" name="reply" value="internal" class="secondary">Internal note</button>`, `name="comment"`,
		">Save status</button>", ">Release ticket</button>", `class="entry from-system internal`, `class="entry from-customer external"`)
	expectLacks(t, r.Body, ">Add comment</button>", "Assign to me")

	// The reply type must be chosen; the comment survives.
	r = a.post("/ticket/save", url.Values{"id": {id}, "status": {"in_progress"}, "comment": {"draft text"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, "Choose a reply type", "draft text", `<a href="#reply">`)
	r = a.post("/ticket/save", url.Values{"id": {id}, "form": {"reply"}, "status": {"in_progress"}, "reply": {"internal"}})
	expectCode(t, r, http.StatusBadRequest)
	expectContains(t, r.Body, "Nothing to save", `<a href="#comment">`, `aria-invalid="true" aria-describedby="comment-error"`)

	mails := len(e.pending())
	r = a.post("/ticket/save", url.Values{"id": {id}, "status": {"in_progress"}, "reply": {"internal"}, "comment": {"Secret note for agents"}})
	expectRedirect(t, r, "/ticket?id="+id, "save internal")
	r = a.follow(r)
	expectContains(t, r.Body, "Internal note saved on ticket “Broken”.", "Secret note for agents")
	if n := len(e.pending()); n != mails {
		t.Errorf("internal comment queued %d mails", n-mails)
	}
	internal := regexp.MustCompile(`(?s)<article class="entry from-agent internal">.{0,400}Internal note</span>.{0,400}Secret note for agents`)
	if !internal.MatchString(r.Body) {
		t.Errorf("internal comment not in an internal entry:\n%s", excerpt(r.Body))
	}
	expectLacks(t, customer.get("/ticket?id="+id).Body, "Secret note", "entry internal")

	r = a.post("/ticket/save", url.Values{"id": {id}, "status": {"closed"}, "reply": {"external"}, "comment": {"Fixed it for you."}})
	expectCode(t, r, http.StatusSeeOther)
	ms := e.pending()
	if len(ms) != mails+1 || !strings.Contains(ms[len(ms)-1].Body, "Fixed it for you.") || ms[len(ms)-1].To != "carol@example.com" {
		t.Fatalf("external save: want one mail to the customer with the comment, got %d new", len(ms)-mails)
	}
	if v := e.view(id); v.Ticket.Status != core.StatusClosed {
		t.Errorf("status %q, want closed", v.Ticket.Status)
	}
	r = customer.get("/ticket?id=" + id)
	expectContains(t, r.Body, "Fixed it for you.", "Closed", `class="entry from-agent external"`)
	expectLacks(t, r.Body, "Secret note", "entry internal")
	external := regexp.MustCompile(`(?s)<article class="entry from-agent external">.{0,400}Support</span>.{0,400}Fixed it for you.`)
	if !external.MatchString(r.Body) {
		t.Errorf("external comment not in an external entry")
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	customer := e.browser()
	target := customer.create("carol@example.com", "Original request", "First message.")
	source := customer.create("carol@example.com", "Oops, again", "Second message.")
	foreign := e.browser().create("dave@example.com", "Dave's ticket", "Other customer.")
	unassigned := customer.create("carol@example.com", "Left unassigned", "Third.")
	a := e.browser()
	a.login("alice")
	for _, id := range []string{target, source, foreign} {
		expectCode(t, a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}}), http.StatusSeeOther)
	}
	expectCode(t, customer.post("/ticket/comment", url.Values{"id": {source}, "comment": {"Comment on the duplicate."}}), http.StatusSeeOther)

	// Only tickets of the same customer with the same assignee are offered.
	r := a.get("/ticket?id=" + source)
	expectContains(t, r.Body, `<option value="`+target+`">Original request (`+target)
	expectLacks(t, r.Body, `value="`+foreign+`"`, `value="`+unassigned+`"`)
	r = a.get("/ticket?id=" + foreign)
	expectContains(t, r.Body, "No other ticket of this customer with this assignee to merge with.")
	expectLacks(t, r.Body, `name="merge"`)

	r = a.post("/ticket/save", url.Values{"id": {source}, "form": {"merge"}, "reply": {"internal"}, "merge": {target}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("merge: %d %s", r.Code, excerpt(r.Body))
	}
	expectContains(t, a.follow(r).Body, "Merged ticket “Oops, again”.")
	v := e.view(source)
	if v.Ticket.Status != core.StatusClosed || v.Ticket.MergedInto != target {
		t.Fatalf("source after merge: status %q merged into %q", v.Ticket.Status, v.Ticket.MergedInto)
	}
	// The source is hidden from the lists and its old link says where it went.
	expectLacks(t, a.get("/tickets").Body, "Oops, again")
	expectLacks(t, a.get("/dashboard").Body, "Oops, again")
	for _, who := range []*browser{a, customer} {
		r = who.get("/ticket?id=" + source)
		expectCode(t, r, http.StatusOK)
		expectContains(t, r.Body, "This ticket was merged into", `href="/ticket?id=`+target+`"`)
		expectLacks(t, r.Body, `action="/ticket/save"`, `action="/ticket/comment"`)
	}
	// The target shows the copied entries in creation order, newest first.
	r = customer.get("/ticket?id=" + target)
	first, second, comment := strings.Index(r.Body, "First message."), strings.Index(r.Body, "Second message."), strings.Index(r.Body, "Comment on the duplicate.")
	if first < 0 || second < 0 || comment < 0 || !(first > second && second > comment) {
		t.Errorf("target entries out of order: %d %d %d\n%s", first, second, comment, excerpt(r.Body))
	}
}

func TestEditingOthersTicketIsForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	e.agent("bob", "Bob")
	id := e.browser().create("carol@example.com", "Alice's ticket", "Hello")
	a := e.browser()
	a.login("alice")
	expectCode(t, a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}}), http.StatusSeeOther)

	b := e.browser()
	b.login("bob")
	r := b.get("/ticket?id=" + id)
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, "Assigned to Alice: read-only.", "Hello")
	expectLacks(t, r.Body, `action="/ticket/save"`, `action="/ticket/release"`, `action="/ticket/comment"`)

	for _, post := range []struct {
		path string
		form url.Values
	}{
		{"/ticket/save", url.Values{"id": {id}, "status": {"closed"}, "reply": {"external"}, "comment": {"hijack"}}},
		{"/ticket/release", url.Values{"id": {id}}},
		{"/ticket/assign", url.Values{"id": {id}, "agent": {"bob"}}},
	} {
		r := b.post(post.path, post.form)
		expectCode(t, r, http.StatusForbidden)
		expectLacks(t, r.Body, "assigned to alice") // core's error text stays in the log
	}
	v := e.view(id)
	if v.Ticket.Assignee != "alice" || v.Ticket.Status != core.StatusInProgress {
		t.Fatalf("ticket changed: %+v", v.Ticket)
	}
	for _, en := range v.Entries {
		if strings.Contains(en.Text, "hijack") {
			t.Fatal("comment of another agent stored")
		}
	}
}

func TestCrossOriginPostsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "")
	b := e.browser()
	form := url.Values{"email": {"carol@example.com"}, "subject": {"x"}, "message": {"y"}}
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		expectCode(t, b.post("/ticket/new", form, h...), http.StatusForbidden)
		expectCode(t, b.post("/login", url.Values{"username": {"alice"}, "password": {"password-alice"}}, h...), http.StatusForbidden)
	}
	if n := len(e.pending()); n != 0 {
		t.Fatalf("cross-origin post created a ticket (%d mails)", n)
	}
	// Same-origin browser posts pass.
	r := b.post("/ticket/new", form, "Sec-Fetch-Site", "same-origin")
	expectCode(t, r, http.StatusSeeOther)
	a := e.browser()
	a.login("alice")
	expectCode(t, a.post("/logout", nil, "Origin", "https://evil.example"), http.StatusForbidden)
	expectCode(t, a.get("/dashboard"), http.StatusOK)
}

func TestUnknownTicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "")
	b := e.browser()
	var bodies []string
	for _, id := range []string{"aaaaaaaaaaaaaaaa", "", "nope", "../../etc/passwd", "<script>alert(1)</script>", "AAAAAAAAAAAAAAAA"} {
		r := b.get("/ticket?id=" + url.QueryEscape(id))
		expectCode(t, r, http.StatusNotFound)
		expectContains(t, r.Body, "No such ticket")
		expectLacks(t, r.Body, "goroutine", "not found", "view ticket", "<script>alert")
		bodies = append(bodies, r.Body)
	}
	for _, body := range bodies[1:] {
		if body != bodies[0] {
			t.Error("404 pages differ between unknown and malformed ids")
		}
	}
	expectCode(t, b.post("/ticket/comment", url.Values{"id": {"aaaaaaaaaaaaaaaa"}, "comment": {"hi"}}), http.StatusNotFound)
	expectCode(t, b.get("/ticket/attachment?id=aaaaaaaaaaaaaaaa&att=1"), http.StatusNotFound)
	expectCode(t, b.get("/ticket/attachment?id=aaaaaaaaaaaaaaaa&att=x"), http.StatusNotFound)
	expectCode(t, b.get("/no/such/page"), http.StatusNotFound)
	a := e.browser()
	a.login("alice")
	expectCode(t, a.get("/ticket?id=aaaaaaaaaaaaaaaa"), http.StatusNotFound)
	expectCode(t, a.post("/ticket/save", url.Values{"id": {"aaaaaaaaaaaaaaaa"}, "reply": {"internal"}, "comment": {"x"}}), http.StatusNotFound)
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	const evil = "<script>alert(1)</script>"
	const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
	e := newEnv(t)
	e.agent("mallory", evil)
	customer := e.browser()
	id := customer.create("carol@example.com", evil, "Body "+evil)
	a := e.browser()
	a.login("mallory")
	expectCode(t, a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"mallory"}}), http.StatusSeeOther)
	expectCode(t, a.post("/ticket/save", url.Values{"id": {id}, "reply": {"external"}, "comment": {"Reply " + evil}}), http.StatusSeeOther)
	pages := map[string]resp{
		"customer ticket": customer.get("/ticket?id=" + id),
		"agent ticket":    a.get("/ticket?id=" + id),
		"all tickets":     a.get("/tickets"),
		"dashboard":       a.get("/dashboard"),
		"start":           customer.post("/ticket/new", url.Values{"email": {"x@" + evil}, "subject": {evil}, "message": {evil}}),
	}
	for name, r := range pages {
		if strings.Contains(r.Body, "<script") {
			t.Errorf("%s: unescaped script tag", name)
		}
		if !strings.Contains(r.Body, escaped) {
			t.Errorf("%s: escaped text missing", name)
		}
	}
}

func TestHeadersHealthAndStatic(t *testing.T) {
	t.Parallel()
	down := errors.New("database is on fire")
	var healthErr error
	e := newEnvConfig(t, func(c *webui.Config) {
		c.Health = func(context.Context) error { return healthErr }
		c.MailAPI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("api " + r.URL.Path)) })
	})
	b := e.browser()
	r := b.get("/")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Type":            "text/html; charset=utf-8",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if rp := r.Header.Get("Referrer-Policy"); rp != "same-origin" && rp != "no-referrer" {
		t.Errorf("Referrer-Policy %q", rp)
	}
	expectLacks(t, r.Body, "<script", "style=")

	r = b.get("/healthz")
	if r.Code != http.StatusOK || strings.TrimSpace(r.Body) != "ok" {
		t.Errorf("healthz: %d %q", r.Code, r.Body)
	}
	healthErr = down
	r = b.get("/healthz")
	if r.Code != http.StatusServiceUnavailable || !strings.Contains(r.Body, "database is on fire") {
		t.Errorf("healthz when down: %d %q", r.Code, r.Body)
	}

	r = b.get("/static/style.css")
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, ".entry.internal", "#dff5df", ".entry.external", "#dcebfa")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("style.css Content-Type %q", ct)
	}
	expectCode(t, b.get("/static/"), http.StatusNotFound)

	// The Mail API is mounted with its full path and not subject to the
	// cross-origin check.
	r = b.post("/api/v1/messages", nil, "Origin", "https://elsewhere.example")
	if r.Code != http.StatusOK || r.Body != "api /api/v1/messages" {
		t.Errorf("mail API: %d %q", r.Code, r.Body)
	}
	expectCode(t, b.post("/healthz", nil), http.StatusMethodNotAllowed)
}

func TestAttachmentDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, err := e.svc.Receive(context.Background(), core.InboundMessage{
		Door: core.DoorSMTP, From: "carol@example.com", Subject: "With files", Text: "See attached.",
		Attachments: []core.Attachment{
			{Filename: `../evil "page".html`, ContentType: "text/html", Data: []byte("<script>alert(1)</script>"), Size: 25},
			{Filename: "Grüße.png", ContentType: "image/png", Data: []byte("\x89PNG fake"), Size: 9},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := res.TicketID
	b := e.browser()
	r := b.get("/ticket?id=" + id)
	links := regexp.MustCompile(`href="(/ticket/attachment\?id=`+id+`&amp;att=\d+)"`).FindAllStringSubmatch(r.Body, -1)
	if len(links) != 2 {
		t.Fatalf("want 2 attachment links, got %v\n%s", links, excerpt(r.Body))
	}
	expectContains(t, r.Body, "Grüße.png")
	html := b.get(strings.ReplaceAll(links[0][1], "&amp;", "&"))
	expectCode(t, html, http.StatusOK)
	wantHeaders := map[string]string{
		"Content-Type":            "application/octet-stream",
		"Content-Disposition":     `attachment; filename="evil _page_.html"; filename*=UTF-8''evil%20%22page%22.html`,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "sandbox",
	}
	for k, v := range wantHeaders {
		if got := html.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if html.Body != "<script>alert(1)</script>" {
		t.Errorf("body %q", html.Body)
	}
	png := b.get(strings.ReplaceAll(links[1][1], "&amp;", "&"))
	if png.Header.Get("Content-Type") != "image/png" || !strings.Contains(png.Header.Get("Content-Disposition"), "filename*=UTF-8''Gr%C3%BC%C3%9Fe.png") {
		t.Errorf("png headers: %v", png.Header)
	}
	// An attachment asked for under another ticket's id is not found.
	other := b.create("dave@example.com", "Other", "x")
	att := strings.TrimPrefix(links[0][1], "/ticket/attachment?id="+id+"&amp;att=")
	expectCode(t, b.get("/ticket/attachment?id="+other+"&att="+att), http.StatusNotFound)
}

func TestTicketListPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "")
	const n = core.DefaultPageSize + 3
	for i := range n {
		_, err := e.svc.Receive(context.Background(), core.InboundMessage{Door: core.DoorAPI,
			From: "carol@example.com", Subject: "Paged " + strconv.Itoa(i) + ".", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
	}
	a := e.browser()
	a.login("alice")
	subjects := regexp.MustCompile(`>Paged (\d+)\.<`)
	next := regexp.MustCompile(`href="(/tickets\?[^"]*page=2[^"]*)" rel="next">Next page`)

	r := a.get("/tickets?status=open&sort=created")
	expectContains(t, r.Body, `Open <span class="count">`+strconv.Itoa(n)+`</span>`, "1–50 of 53")
	expectLacks(t, r.Body, "Previous page")
	page1 := subjects.FindAllStringSubmatch(r.Body, -1)
	m := next.FindStringSubmatch(r.Body)
	if len(page1) != core.DefaultPageSize || m == nil {
		t.Fatalf("page 1: %d tickets, next link %v", len(page1), m)
	}
	if page1[0][1] != strconv.Itoa(n-1) {
		t.Errorf("newest first: first row is %s", page1[0][1])
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(link, "status=open") || !strings.Contains(link, "sort=created") {
		t.Errorf("next link %q lost the filter or the order", link)
	}
	r = a.get(link)
	page2 := subjects.FindAllStringSubmatch(r.Body, -1)
	if len(page2) != 3 || page2[2][1] != "0" {
		t.Fatalf("page 2: %v", page2)
	}
	expectContains(t, r.Body, "51–53 of 53", `rel="prev">« Previous page`)
	expectLacks(t, r.Body, "Next page")
	// Forms on page 2 come back to page 2.
	expectContains(t, r.Body, `name="back" value="`+strings.ReplaceAll(link, "&", "&amp;")+`"`)
	expectContains(t, a.get("/tickets?status=closed").Body, `Closed <span class="count">0</span>`, "No tickets here.")
	// Nonsense parameters mean the defaults.
	r = a.get("/tickets?view=%3Cx%3E&status=nope&sort=evil&page=-3")
	expectCode(t, r, http.StatusOK)
	expectContains(t, r.Body, "1–50 of 53")
}
