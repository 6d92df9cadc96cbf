package webui_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"trivialtickets/core"
	"trivialtickets/store/postgres"
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui"
)

// TestMain stops the private PostgreSQL server after the tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

// guessStores opens a fresh store of each kind, and two daemons' web
// interfaces on it.
var guessStores = []struct {
	name string
	open func(t *testing.T) core.Store
}{
	{"SQLite", func(t *testing.T) core.Store {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tickets.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"PostgreSQL", func(t *testing.T) core.Store {
		st, err := postgres.Open(t.Context(), pgtest.Start(t).NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// daemons are web interfaces on one store, each with its own service, as
// several daemons behind a load balancer.
type daemons struct {
	svcs []*core.Service
	hs   []http.Handler
}

func newDaemons(t *testing.T, st core.Store, n int) *daemons {
	t.Cleanup(func() { st.Close() })
	d := &daemons{}
	for range n {
		svc := core.NewService(st, core.Config{PublicURL: "https://help.example"})
		h, err := webui.New(webui.Config{Service: svc, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		d.svcs, d.hs = append(d.svcs, svc), append(d.hs, h)
	}
	if err := d.svcs[0].AddAgent(context.Background(), "alice", "Alice", "password-alice"); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *daemons) checks() (n int64) {
	for _, s := range d.svcs {
		n += s.PasswordChecks()
	}
	return n
}

// postLogin posts the login form to daemon i from remote, with cookies.
func (d *daemons) postLogin(i int, remote, password string, cookies ...*http.Cookie) *http.Response {
	form := url.Values{"username": {"alice"}, "password": {password}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	d.hs[i%len(d.hs)].ServeHTTP(rec, req)
	return rec.Result()
}

// guess posts n logins at once, the one at index right (if any) with the
// right password, and counts the answers by status.
func (d *daemons) guess(n, right int, remote string, rightCookies ...*http.Cookie) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			password, cookies := "guess-"+fmt.Sprint(i), []*http.Cookie(nil)
			if i == right {
				password, cookies = "password-alice", rightCookies
			}
			res := d.postLogin(i, remote, password, cookies...)
			mu.Lock()
			codes[res.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return codes
}

// TestParallelGuessing: the throttle reserves an attempt before bcrypt
// runs, atomically in the store, so parallel guesses against two daemons
// cost at most the budget (5) of password checks. Before the fix all 60
// were checked (issue 11).
func TestParallelGuessing(t *testing.T) {
	for _, s := range guessStores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			d := newDaemons(t, s.open(t), 2)
			codes := d.guess(60, -1, "198.51.100.7:5555")
			t.Logf("%s: 60 parallel wrong passwords: %d bcrypt checks, answers %v", s.name, d.checks(), codes)
			if d.checks() != 5 || codes[http.StatusUnauthorized] != 5 || codes[http.StatusTooManyRequests] != 55 {
				t.Errorf("60 parallel wrong passwords: %d bcrypt checks, answers %v; want 5 checks, 5×401, 55×429", d.checks(), codes)
			}
		})
	}
}

// TestParallelGuessingOneRight: 40 at once from one address, one of them
// right: at most 5 are checked, and the right one gets in only if it was
// among them. From the agent's trusted browser, the right one always gets
// in, however many guesses come from elsewhere.
func TestParallelGuessingOneRight(t *testing.T) {
	for _, s := range guessStores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			d := newDaemons(t, s.open(t), 2)
			codes := d.guess(40, 20, "198.51.100.7:5555")
			t.Logf("%s: 40 parallel, 1 right: %d bcrypt checks, answers %v", s.name, d.checks(), codes)
			if d.checks() > 5 || codes[http.StatusUnauthorized]+codes[http.StatusSeeOther] != int(d.checks()) ||
				codes[http.StatusSeeOther] > 1 || codes[http.StatusTooManyRequests] != 40-int(d.checks()) {
				t.Errorf("40 parallel, 1 right: %d bcrypt checks, answers %v; want at most 5 checks, the rest 429", d.checks(), codes)
			}

			// The agent's usual browser logged in yesterday.
			d2 := newDaemons(t, s.open(t), 2)
			res := d2.postLogin(0, "203.0.113.5:1000", "password-alice")
			var device *http.Cookie
			for _, c := range res.Cookies() {
				if c.Name == "tt_device" {
					device = c
				}
			}
			if res.StatusCode != http.StatusSeeOther || device == nil || !device.HttpOnly || device.MaxAge < 30*24*3600 {
				t.Fatalf("first login: %d, device cookie %+v; want 303 and a long-lived HttpOnly device cookie", res.StatusCode, device)
			}
			// Guesses from many addresses spend the account's budget for
			// untrusted browsers …
			for i := range 12 {
				d2.postLogin(i, fmt.Sprintf("192.0.2.%d:1000", i), "guess")
			}
			if res := d2.postLogin(0, "203.0.113.5:1000", "password-alice"); res.StatusCode != http.StatusTooManyRequests {
				t.Errorf("right password without the device cookie after a distributed guess: %d, want 429", res.StatusCode)
			}
			// … while the trusted browser's one right login among 40
			// guesses at once from elsewhere gets in.
			before := d2.checks()
			codes = d2.guess(40, 7, "198.51.100.9:5555", device)
			if codes[http.StatusSeeOther] != 1 || d2.checks()-before > 1 {
				t.Errorf("trusted browser among 39 guesses: answers %v, %d checks; want one 303 and no guess checked", codes, d2.checks()-before)
			}
		})
	}
}
