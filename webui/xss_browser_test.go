package webui_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trivialtickets/core"
)

// newTab starts a headless Chromium (skipping the test without one, failing
// it on CI) for base and returns a tab in it.
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	return &tab{t: t, ctx: browserCtx, base: base}
}

// TestBrowserXSS puts script into every place a customer or an agent can
// write to — subject, body, sender name, attachment file name and content,
// agent name, comment — and checks in the real browser, on every page that
// shows them, that none runs and each is shown as text.
func TestBrowserXSS(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	ctx := context.Background()

	// Every payload sets window.__xss when it runs.
	const (
		agentName = `Eve<img src=x onerror="window.__xss='agent'">`
		subject   = `<script>window.__xss='subject'</script>Help`
		fromName  = `<svg onload="window.__xss='sender'">Mallory`
		body      = `<img src=x onerror="window.__xss='body'"> please`
		fileName  = `<script>window.__xss='file'<\script>.html`
		comment   = `<iframe src="javascript:window.top.__xss='comment'"></iframe>Done`
	)
	if err := e.svc.AddAgent(ctx, "eve", agentName, "password-eve"); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Receive(ctx, core.InboundMessage{Door: core.DoorSMTP, From: "mallory@example.org", FromName: fromName,
		Subject: subject, Text: body, HTML: "<script>window.__xss='html'</script>", MessageID: "xss@example.org",
		Attachments: []core.Attachment{{Filename: fileName, ContentType: "text/html",
			Data: []byte("<script>window.top.__xss='attachment'</script>"), Size: 47}}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.TicketID
	if err := e.svc.Assign(ctx, "eve", id, "eve"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Save(ctx, "eve", id, core.Change{External: true, Comment: comment}); err != nil {
		t.Fatal(err)
	}

	p := newTab(t, srv.URL)
	clean := func(what string, shown ...string) {
		t.Helper()
		if got := p.eval(`String(window.__xss)`); got != "undefined" {
			t.Errorf("%s: script ran (window.__xss = %q)", what, got)
		}
		p.shows(shown...)
	}
	// The customer's page.
	p.open("/ticket?id=" + id)
	clean("customer ticket page", subject, body, "Done", agentName)

	// The agent's pages.
	p.open("/")
	p.typeInto(`form.login input[name="username"]`, "eve")
	p.typeInto(`form.login input[name="password"]`, "password-eve")
	p.clickNav(button("", "Login"))
	clean("dashboard", agentName, subject)
	p.open("/tickets")
	clean("all tickets", subject)
	p.open("/ticket?id=" + id)
	clean("agent ticket page", subject, body, fromName, fileName, agentName)

	// The attachment downloads instead of becoming a page of our origin.
	href := p.eval(`document.querySelector("ul.attachments a").getAttribute("href")`)
	resp, err := srv.Client().Get(srv.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || strings.Contains(resp.Header.Get("Content-Type"), "html") {
		t.Errorf("attachment served as %q, %q, nosniff %q", resp.Header.Get("Content-Type"), cd, resp.Header.Get("X-Content-Type-Options"))
	}
	// Chromium turns the navigation into a download and stays on the
	// ticket page: net::ERR_ABORTED.
	if err := chromedp.Do(p.ctx, chromedp.Navigate(srv.URL+href)); err == nil {
		t.Errorf("the attachment opened as a page at %s:\n%s", p.location(), p.text())
	} else if !strings.Contains(err.Error(), "ERR_ABORTED") {
		t.Errorf("open the attachment: %v", err)
	}
	if got := p.eval(`String(window.__xss)`); got != "undefined" {
		t.Errorf("attachment: script ran (window.__xss = %q)", got)
	}
}
