package webui_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium, or skips (fails on CI) without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed: apt-get install chromium")
	}
	t.Skip("chromium not installed (Debian package chromium)")
	return ""
}

// tab drives one browser tab against the test server.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (p *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// open loads a path of the test server.
func (p *tab) open(path string) {
	p.t.Helper()
	p.do("open "+path, chromedp.Navigate(p.base+path))
}

// clickNav clicks the element (XPath or text search) and waits for the page
// it leads to.
func (p *tab) clickNav(sel string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(sel))); err != nil {
		p.t.Fatalf("click %s: %v", sel, err)
	}
}

// button is the XPath of a button with this label, optionally inside scope.
func button(scope, label string) string {
	return fmt.Sprintf(`%s//button[normalize-space()=%q]`, scope, label)
}

func (p *tab) typeInto(css, text string) {
	p.t.Helper()
	p.do("type into "+css, chromedp.Click(chromedp.CSS(css)), chromedp.SendKeys(chromedp.CSS(css), text))
}

func (p *tab) choose(sel, value string) {
	p.t.Helper()
	p.do("choose "+value+" in "+sel, chromedp.SetValue(sel, value))
}

func (p *tab) eval(js string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("eval %s: %v", js, err)
	}
	return s
}

// text is what the page shows.
func (p *tab) text() string { return p.eval(`document.body.innerText`) }

// html is the whole document, hidden parts included.
func (p *tab) html() string { return p.eval(`document.documentElement.outerHTML`) }

func (p *tab) location() *url.URL {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatalf("location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		p.t.Fatalf("location %q: %v", loc, err)
	}
	return u
}

func (p *tab) shows(wants ...string) {
	p.t.Helper()
	body := p.text()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			p.t.Errorf("page %s does not show %q:\n%s", p.location(), w, body)
		}
	}
}

func (p *tab) has(sel string) bool {
	p.t.Helper()
	return p.eval(fmt.Sprintf(`document.querySelector(%q) ? "yes" : "no"`, sel)) == "yes"
}

// createTicket fills the start page form and returns the new ticket's id.
func (p *tab) createTicket(email, subject, message string) string {
	p.t.Helper()
	p.open("/")
	p.typeInto("#email", email)
	p.typeInto("#subject", subject)
	p.typeInto("#message", message)
	p.clickNav(button("", "Create ticket"))
	u := p.location()
	id := u.Query().Get("id")
	if u.Path != "/ticket" || !ticketIDRe.MatchString("/ticket?id="+id) {
		p.t.Fatalf("after Create ticket at %s", u)
	}
	p.shows(subject, message)
	return id
}

func TestBrowser(t *testing.T) {
	e := newEnv(t)
	e.agent("alice", "Alice Agent")
	e.agent("bob", "Bob Builder")
	if err := e.svc.SetVacation(context.Background(), "bob", true); err != nil {
		t.Fatalf("bob on vacation: %v", err)
	}
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)

	p := newTab(t, srv.URL)
	browserCtx := p.ctx

	// 1. The customer creates a ticket, comments on it and creates another.
	const (
		msg1     = "The printer on floor 3 is jammed."
		msg2     = "Also the toner is empty."
		custCmt  = "Still jammed this morning."
		internal = "Secret: customer is on the old contract."
		external = "We sent a technician, please wait."
	)
	id1 := p.createTicket("carol@example.com", "Printer jam", msg1)
	p.shows("Your ticket was created", "Open")
	if p.has("form.account") || !p.has("form.login") {
		t.Error("customer sees the agent header")
	}
	p.typeInto("#comment", custCmt)
	p.clickNav(button("", "Add comment"))
	if u := p.location(); u.Query().Get("id") != id1 {
		t.Errorf("after Add comment at %s", u)
	}
	p.shows("Your comment was added to ticket “Printer jam”.", msg1, custCmt)
	id2 := p.createTicket("carol@example.com", "Toner", msg2)

	// 2. Alice logs in with the header form.
	p.open("/")
	p.typeInto(`form.login input[name="username"]`, "alice")
	p.typeInto(`form.login input[name="password"]`, "password-alice")
	p.clickNav(button("", "Login"))
	if u := p.location(); u.Path != "/dashboard" {
		t.Fatalf("after Login at %s:\n%s", u, p.text())
	}
	p.shows("Dashboard", "Alice Agent", "Logout")
	if p.has("form.login") {
		t.Error("login form still shown after login")
	}

	// 3. All tickets: bob (on vacation) is not offered; assign both to alice.
	p.clickNav(`//nav[contains(@class,"main")]//a[normalize-space()="All tickets"]`)
	agents := p.eval(`Array.from(document.querySelectorAll('form.assign select[name="agent"] option')).map(o => o.value + "=" + o.text).join(",")`)
	if !strings.Contains(agents, "alice=Alice Agent") || strings.Contains(agents, "bob") || strings.Contains(agents, "Bob") {
		t.Errorf("agent choices: %s", agents)
	}
	for _, id := range []string{id1, id2} {
		row := fmt.Sprintf(`//tr[.//a[@href="/ticket?id=%s"]]`, id)
		p.choose(row+`//select[@name="agent"]`, "alice")
		p.clickNav(button(row, "Assign"))
		st, err := chromedp.Run(p.ctx, chromedp.Text(row+`//span[contains(@class,"status")]`))
		if err != nil {
			t.Fatalf("status of %s: %v", id, err)
		}
		if st != "In Progress" {
			t.Errorf("ticket %s status %q after Assign, want In Progress", id, st)
		}
		assignee, err := chromedp.Run(p.ctx, chromedp.Text(row+`/td[@data-label="Assignee"]`))
		if err != nil || !strings.Contains(assignee, "Alice Agent") {
			t.Errorf("ticket %s assignee %q (%v)", id, assignee, err)
		}
	}

	// 4. Internal and external comments on ticket 1, in their colours.
	p.clickNav(fmt.Sprintf(`//td/a[@href="/ticket?id=%s"]`, id1))
	p.shows("Printer jam", "Alice Agent", "carol@example.com")
	p.typeInto("#comment", internal)
	p.clickNav(button("", "Internal note"))
	p.shows("Internal note saved on ticket “Printer jam”.", internal)
	p.typeInto("#comment", external)
	p.clickNav(button("", "Reply to customer"))
	p.shows("Reply sent to the customer on ticket “Printer jam”.", internal, external)
	bg := func(text string) string {
		return p.eval(fmt.Sprintf(`(() => {
			for (const a of document.querySelectorAll('article.entry')) {
				if (a.querySelector('.text').textContent.includes(%q)) return getComputedStyle(a).backgroundColor;
			}
			return "missing";
		})()`, text))
	}
	// static/style.css: --internal #dff5df, --external #dcebfa.
	if c := bg(internal); c != "rgb(223, 245, 223)" {
		t.Errorf("internal entry background %s, want light green rgb(223, 245, 223)", c)
	}
	if c := bg(external); c != "rgb(220, 235, 250)" {
		t.Errorf("external entry background %s, want light blue rgb(220, 235, 250)", c)
	}
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shotDir := t.TempDir()
	if d := os.Getenv("TT_SCREENSHOT_DIR"); d != "" {
		shotDir = d
	}
	shotFile := filepath.Join(shotDir, "agent-ticket.png")
	if err := os.WriteFile(shotFile, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(shot) < 8 || string(shot[1:4]) != "PNG" {
		t.Errorf("screenshot is no PNG (%d bytes)", len(shot))
	}
	t.Logf("screenshot: %s (%d bytes)", shotFile, len(shot))

	// 5. Merge ticket 2 into ticket 1.
	p.open("/ticket?id=" + id2)
	p.do("open the merge box", chromedp.Click(chromedp.CSS(`details.merge summary`)))
	p.choose(`select[name="merge"]`, id1)
	p.clickNav(button("", "Merge, internal only"))
	p.shows("merged into")
	link := `//p[contains(@class,"merged")]/a[@href="/ticket?id=` + id1 + `"]`
	if !p.has(`p.merged a[href="/ticket?id=` + id1 + `"]`) {
		t.Fatalf("no link to ticket 1 after merge:\n%s", p.text())
	}
	p.clickNav(link)
	if u := p.location(); u.Query().Get("id") != id1 {
		t.Errorf("merge link led to %s", u)
	}
	p.shows(msg1, msg2, internal, external)

	// 6. Dashboard: release ticket 1, toggle vacation mode.
	p.clickNav(`//nav[contains(@class,"main")]//a[normalize-space()="Dashboard"]`)
	mine := `section:has(> h2) table.tickets a[href="/ticket?id=` + id1 + `"]`
	if !p.has(mine) {
		t.Errorf("ticket 1 not in My tickets:\n%s", p.text())
	}
	p.clickNav(button(fmt.Sprintf(`//tr[.//a[@href="/ticket?id=%s"]]`, id1), "Release ticket"))
	if u := p.location(); u.Path != "/dashboard" {
		t.Errorf("after Release at %s", u)
	}
	if p.has(mine) {
		t.Errorf("ticket 1 still in My tickets after Release:\n%s", p.text())
	}
	p.clickNav(button("", "Activate vacation mode"))
	p.shows("Deactivate vacation mode")
	p.clickNav(button("", "Deactivate vacation mode"))
	p.shows("Activate vacation mode", "Vacation mode is off")

	// 7. Logout leads to the start page with the login form.
	p.clickNav(button("", "Logout"))
	if u := p.location(); u.Path != "/" {
		t.Errorf("after Logout at %s", u)
	}
	if !p.has("form.login") || p.has("form.account") {
		t.Errorf("start page after Logout lacks the login form:\n%s", p.text())
	}
	p.shows("Create ticket", "Login")

	// 8. A fresh browser context: the customer sees external entries only.
	custCtx, cancelCust := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelCust)
	c := &tab{t: t, ctx: custCtx, base: srv.URL}
	c.open("/ticket?id=" + id1)
	c.shows("Printer jam", msg1, custCmt, external, msg2)
	if strings.Contains(c.html(), internal) || strings.Contains(c.html(), "old contract") {
		t.Errorf("customer page contains the internal comment:\n%s", c.text())
	}
	if !c.has(`form[action="/ticket/comment"]`) || c.has(`form[action="/ticket/save"]`) {
		t.Errorf("customer page forms wrong:\n%s", c.text())
	}
}
