package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trivialtickets/core"
)

// Sample text that breaks naive layouts: unbroken runs, long addresses,
// German and Japanese.
var (
	longSubject = "Druckerwarteschlangenverwaltungsdienstneustartanforderung_" + strings.Repeat("ABCDEFGHIJ", 18)
	longAddress = "operations.department.escalations." + strings.Repeat("x", 40) + "@subdomain.very-long-customer-domain-name.example.com"
	germanText  = "Sehr geehrte Damen und Herren, der Drucker im Erdgeschoss (Straße 12) druckt seit Montag nur noch leere Seiten. Grüße, Jürgen Größmann"
	// japaneseWord sits in the middle of japaneseText, without spaces
	// around it, as Japanese is written.
	japaneseWord = "紙詰まり"
	japaneseText = "お世話になっております。三階のプリンターで" + japaneseWord + "が毎朝発生しています。至急ご対応をお願いいたします。"
)

// viewports are the window sizes every page is checked at.
var viewports = []struct {
	name string
	w, h int64
}{{"1280", 1280, 900}, {"390", 390, 844}}

// screenshotDir is where the browser tests write their screenshots:
// $SCREENSHOT_DIR, or a temporary directory that the test logs.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// axeSource is axe-core's script, installed by .ci/run with
// `npm install --prefix .cache/axe axe-core@4.10.3` at the top of the
// checkout, or named by $AXE_CORE_JS. Without it the test skips (fails
// under CI=true).
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AXE_CORE_JS")
	if path == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			p := filepath.Join(dir, ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("axe-core: %v", err)
		}
		return string(b)
	}
	const msg = "axe-core not installed: npm install --prefix .cache/axe axe-core@4.10.3 (npm package axe-core)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// checker looks at one page in every viewport: no horizontal scrolling,
// no serious or critical axe-core violation, a screenshot.
type checker struct {
	t    *testing.T
	dir  string
	axe  string // axe-core's source; empty: no accessibility check
	seen []string
}

func (c *checker) check(p *tab, name, path string) {
	c.t.Helper()
	for _, vp := range viewports {
		p.do("viewport "+vp.name, chromedp.EmulateViewport(vp.w, vp.h))
		if path != "" {
			p.open(path)
		}
		where := fmt.Sprintf("%s at %s px (%s)", name, vp.name, p.location())
		sizes := p.eval(`document.documentElement.scrollWidth + " " + window.innerWidth`)
		var sw, iw int
		fmt.Sscan(sizes, &sw, &iw)
		c.t.Logf("%s: scrollWidth %d, innerWidth %d", where, sw, iw)
		if sw == 0 || sw > iw {
			c.t.Errorf("%s scrolls sideways: scrollWidth %d > innerWidth %d; widest: %s", where, sw, iw, p.eval(widest))
		}
		shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			c.t.Fatalf("screenshot %s: %v", where, err)
		}
		file := filepath.Join(c.dir, name+"-"+vp.name+".png")
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			c.t.Fatal(err)
		}
		c.seen = append(c.seen, file)
		fold, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			c.t.Fatalf("screenshot %s: %v", where, err)
		}
		if err := os.WriteFile(filepath.Join(c.dir, name+"-"+vp.name+"-fold.png"), fold, 0o644); err != nil {
			c.t.Fatal(err)
		}
		if low := p.eval(lowBorders); low != "" {
			c.t.Errorf("%s: form controls whose border has a contrast below 3:1 against their background: %s", where, low)
		}
		if c.axe != "" {
			c.accessible(p, where)
		}
	}
}

// widest names the elements that stick out of the window, for the failure
// message.
const widest = `Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ')`

// lowBorders lists the visible form controls whose border contrasts less
// than 3:1 with their own background (WCAG 2.1 1.4.11), which axe-core
// does not check.
const lowBorders = `(() => {
	const lum = c => {
		const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(v => { v = v / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
		return 0.2126 * r + 0.7152 * g + 0.0722 * b;
	};
	const out = [];
	for (const el of document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]), select, textarea')) {
		if (!el.offsetParent) continue;
		const st = getComputedStyle(el);
		const a = lum(st.borderTopColor), b = lum(st.backgroundColor);
		const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		if (ratio < 3) out.push((el.id || el.name) + ' ' + ratio.toFixed(2));
	}
	return out.join(', ');
})()`

// accessible runs axe-core on the page and reports violations of impact
// serious or critical.
func (c *checker) accessible(p *tab, where string) {
	c.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](c.axe+"\n;true")); err != nil {
		c.t.Fatalf("load axe-core into %s: %v", where, err)
	}
	js := `axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v =>
			v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))`
	out, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("axe-core on %s: %v", where, err)
	}
	var vs []string
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		c.t.Fatalf("axe-core result %q: %v", out, err)
	}
	for _, v := range vs {
		c.t.Errorf("%s: %s", where, v)
	}
}

// TestBrowserWorkspace opens every page, as customer and as agent, filled
// with long unbroken subjects and addresses, German and Japanese text and a
// long thread, at 1280×900 and 390×844: none scrolls sideways, axe-core
// finds nothing serious or critical, and each is photographed. On the way
// it takes an unassigned ticket and answers it, counting the actions.
func TestBrowserWorkspace(t *testing.T) {
	e := newEnv(t)
	e.agent("alice", "Alice Agent")
	e.agent("bob", "Bob Builder")
	ctx := context.Background()
	receive := func(from, name, subject, text string) string {
		t.Helper()
		res, err := e.svc.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: from, FromName: name, Subject: subject, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return res.TicketID
	}
	long := receive(longAddress, "", longSubject, germanText+"\n\n"+strings.Repeat("Unterbrechungsfreie", 12))
	jp := receive("tanaka@example.jp", "田中 太郎", "プリンターの"+japaneseWord+"について", japaneseText)
	receive(longAddress, "", "Zweites Anliegen: Rechnung", "Bitte um Rückruf.")
	for i := range 12 {
		receive(fmt.Sprintf("kunde%d@example.de", i), "Kunde Nummer "+fmt.Sprint(i), fmt.Sprintf("Anfrage %d: %s", i, strings.Repeat("Lieferverzögerung ", 3)), germanText)
	}
	if err := e.svc.Assign(ctx, "alice", long, "alice"); err != nil {
		t.Fatal(err)
	}
	for i := range 15 {
		if err := e.svc.Save(ctx, "alice", long, core.Change{External: i%3 != 0, Comment: fmt.Sprintf("Antwort %d: %s %s", i, germanText, strings.Repeat("Zeichenkette", 20))}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Receive(ctx, core.InboundMessage{Door: core.DoorAPI, From: longAddress,
			Subject: `Re: [Ticket "` + long + `"]`, Text: fmt.Sprintf("Rückfrage %d: %s", i, japaneseText)}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	c := &checker{t: t, dir: screenshotDir(t)}
	t.Run("axe", func(t *testing.T) { c.axe = axeSource(t) })

	// The customer's pages.
	cust := newTab(t, srv.URL)
	c.check(cust, "start", "/")
	// The first Tab reaches the skip link, which shows itself with a
	// visible focus outline.
	cust.do("press Tab", chromedp.KeyEvent("\t"))
	if got := cust.eval(`(() => { const a = document.activeElement, r = a.getBoundingClientRect(), s = getComputedStyle(a); return a.className + " " + (r.left >= 0 && r.top >= 0) + " " + s.outlineStyle; })()`); got != "skip-link true solid" {
		t.Errorf("after the first Tab: %q, want the visible skip link with a solid outline", got)
	}
	c.check(cust, "ticket-customer", "/ticket?id="+long)
	cust.shows("support+"+long+"@help.example", "Rückfrage 14")
	c.check(cust, "login", "/login")
	c.check(cust, "notfound", "/no/such/page")
	cust.shows("Page not found")
	// A failed login: the login page again, the error beside the fields.
	cust.open("/login")
	cust.typeInto("#username", "alice")
	cust.typeInto("#password", "wrong")
	cust.clickNav(button("", "Log in"))
	cust.shows("There is a problem", "Wrong username or password.")
	if got := cust.eval(`document.getElementById("username").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("username after a failed login: aria-invalid %q", got)
	}
	c.check(cust, "login-failed", "")
	// The start page's form with every mistake at once.
	cust.open("/")
	cust.clickNav(button("", "Create ticket"))
	cust.shows("There is a problem", "Enter your e-mail address", "Write a message")
	c.check(cust, "start-errors", "")

	// The agent's pages.
	p := newTab(t, srv.URL)
	p.open("/login")
	p.typeInto("#username", "alice")
	p.typeInto("#password", "password-alice")
	p.clickNav(button("", "Log in"))
	if u := p.location(); u.Path != "/dashboard" {
		t.Fatalf("after Log in at %s:\n%s", u, p.text())
	}
	c.check(p, "dashboard", "/dashboard")
	// A time zone that does not exist: the error at the top and beside
	// the field; then a real one changes the times.
	p.typeInto("#zone", "Mars/Olympus")
	p.clickNav(button("", "Save time zone"))
	p.shows("There is a problem", "Mars/Olympus")
	c.check(p, "dashboard-errors", "")
	p.eval(`document.getElementById("zone").value = ""`)
	p.typeInto("#zone", "Europe/Berlin")
	p.clickNav(button("", "Save time zone"))
	p.shows("Times are now shown in Europe/Berlin.")
	c.check(p, "tickets", "/tickets")
	c.check(p, "tickets-unassigned", "/tickets?view=unassigned")
	c.check(p, "ticket-agent", "/ticket?id="+long)
	p.shows("Customer", longAddress, "Zweites Anliegen: Rechnung")
	// The search box of the header finds a Japanese word in the middle
	// of a sentence, in the first message and in later ones.
	p.open("/dashboard")
	p.typeInto("#header-search", japaneseWord)
	p.clickNav(button(`//form[@role="search"]`, "Search"))
	p.shows("Search results for “"+japaneseWord+"”", "プリンターの"+japaneseWord+"について", longSubject)
	if got := p.eval(`Array.from(document.querySelectorAll(".snippet mark")).map(m => m.textContent).join(",")`); !strings.Contains(got, japaneseWord) {
		t.Errorf("search snippets mark %q, want %s", got, japaneseWord)
	}
	c.check(p, "search", "")
	c.check(p, "start-agent", "/")
	c.check(p, "notfound-agent", "/no/such/page")

	// Taking an unassigned ticket and answering it: at most 3 actions
	// after opening it (a click or a submit each; typing the answer is
	// one). "Assign the ticket to me" is ticked in the answer form.
	p.do("viewport 1280", chromedp.EmulateViewport(1280, 900))
	p.open("/ticket?id=" + jp)
	actions := 0
	const answer = "紙詰まりの件、本日技術者を派遣いたします。"
	p.typeInto("#comment", answer)
	actions++
	p.clickNav(button("", "Reply to customer"))
	actions++
	if actions > 3 {
		t.Errorf("taking and answering took %d actions", actions)
	}
	p.shows("Reply sent to the customer", answer)
	v := e.view(jp)
	if v.Ticket.Assignee != "alice" || v.Ticket.Status != core.StatusInProgress {
		t.Errorf("after Assign to me and Reply: assignee %q, status %q", v.Ticket.Assignee, v.Ticket.Status)
	}
	mailed := false
	for _, m := range e.pending() {
		mailed = mailed || m.To == "tanaka@example.jp" && strings.Contains(m.Body, answer)
	}
	if !mailed {
		t.Error("the customer got no mail with the answer")
	}
	t.Logf("%d screenshots: %s", len(c.seen), strings.Join(c.seen, " "))
}
