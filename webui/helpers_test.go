package webui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui"
)

// env is a web interface on a fresh SQLite store.
type env struct {
	t   *testing.T
	svc *core.Service
	h   http.Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvConfig(t, func(*webui.Config) {})
}

func newEnvConfig(t *testing.T, edit func(*webui.Config)) *env {
	t.Helper()
	return newEnvService(t, core.Config{}, edit)
}

// newEnvService is newEnvConfig with core's configuration too; its public
// URL and support address are the tests' own.
func newEnvService(t *testing.T, cc core.Config, edit func(*webui.Config)) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tickets.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	cc.PublicURL, cc.SupportAddresses = "https://help.example", []string{"support@help.example"}
	svc := core.NewService(st, cc)
	cfg := webui.Config{Service: svc, Logger: slog.New(slog.DiscardHandler)}
	edit(&cfg)
	h, err := webui.New(cfg)
	if err != nil {
		t.Fatalf("webui.New: %v", err)
	}
	return &env{t: t, svc: svc, h: h}
}

// agent registers an agent; the password is "password-" + username.
func (e *env) agent(username, name string) {
	e.t.Helper()
	if err := e.svc.AddAgent(context.Background(), username, name, "password-"+username); err != nil {
		e.t.Fatalf("add agent %s: %v", username, err)
	}
}

// browser keeps cookies like a browser and does not follow redirects.
type browser struct {
	e       *env
	remote  string
	cookies map[string]string
}

func (e *env) browser() *browser {
	return &browser{e: e, remote: "192.0.2.10:40000", cookies: map[string]string{}}
}

// resp is an answer as the test sees it.
type resp struct {
	Code     int
	Body     string
	Header   http.Header
	Location string
	Cookies  []*http.Cookie
}

func (b *browser) do(req *http.Request) resp {
	b.e.t.Helper()
	req.RemoteAddr = b.remote
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	rec := httptest.NewRecorder()
	b.e.h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return resp{Code: res.StatusCode, Body: string(body), Header: res.Header, Location: res.Header.Get("Location"), Cookies: res.Cookies()}
}

func (b *browser) get(path string) resp {
	b.e.t.Helper()
	return b.do(httptest.NewRequest(http.MethodGet, path, nil))
}

func (b *browser) post(path string, form url.Values, headers ...string) resp {
	b.e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// follow loads the page a redirect points to.
func (b *browser) follow(r resp) resp {
	b.e.t.Helper()
	if r.Code != http.StatusSeeOther {
		b.e.t.Fatalf("want a 303 redirect, got %d: %s", r.Code, excerpt(r.Body))
	}
	return b.get(r.Location)
}

// login logs in the agent created with e.agent.
func (b *browser) login(username string) {
	b.e.t.Helper()
	r := b.post("/login", url.Values{"username": {username}, "password": {"password-" + username}})
	expectRedirect(b.e.t, r, "/dashboard", "login "+username)
}

var ticketIDRe = regexp.MustCompile(`^/ticket\?id=([a-z2-7]{20})$`)

// create opens a ticket with the start page form and returns its id.
func (b *browser) create(email, subject, message string) string {
	b.e.t.Helper()
	r := b.post("/ticket/new", url.Values{"email": {email}, "subject": {subject}, "message": {message}})
	m := ticketIDRe.FindStringSubmatch(r.Location)
	if r.Code != http.StatusSeeOther || m == nil {
		b.e.t.Fatalf("create ticket: %d %q %s", r.Code, r.Location, excerpt(r.Body))
	}
	return m[1]
}

func (e *env) view(id string) core.TicketView {
	e.t.Helper()
	v, err := e.svc.ViewTicket(context.Background(), &core.Agent{Username: "test-viewer"}, id)
	if err != nil {
		e.t.Fatalf("view ticket %s: %v", id, err)
	}
	return v
}

func (e *env) pending() []core.OutMail {
	e.t.Helper()
	ms, err := e.svc.PendingMails(context.Background(), 0, 1000)
	if err != nil {
		e.t.Fatalf("pending mails: %v", err)
	}
	return ms
}

func expectCode(t *testing.T, r resp, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body: %s", r.Code, code, excerpt(r.Body))
	}
}

// expectRedirect fails the test unless r is a 303 redirect to location;
// what names the request.
func expectRedirect(t *testing.T, r resp, location, what string) {
	t.Helper()
	if r.Code != http.StatusSeeOther || r.Location != location {
		t.Fatalf("%s: %d %q, want a 303 redirect to %q; body: %s", what, r.Code, r.Location, location, excerpt(r.Body))
	}
}

func expectContains(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q:\n%s", w, excerpt(body))
		}
	}
}

func expectLacks(t *testing.T, body string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(body, n) {
			t.Errorf("page contains %q:\n%s", n, excerpt(body))
		}
	}
}

// excerpt is the main part of a page, for failure messages.
func excerpt(body string) string {
	if i := strings.Index(body, "<main>"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 3000 {
		body = body[:3000] + "…"
	}
	return body
}
