package webui_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui"
)

// TestHSTSAndSecureCookies: HSTS and Secure cookies whenever the site is
// HTTPS: served with TLS, or plain behind a TLS proxy (--no-tls) with an
// https public URL; neither on a plain http site.
func TestHSTSAndSecureCookies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, publicURL string
		tls             bool
		want            bool
	}{
		{"TLS", "https://help.example", true, true},
		{"behind a TLS proxy", "https://help.example", false, true},
		{"plain http", "http://localhost:8080", false, false},
	}
	for _, tt := range tests {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		svc := core.NewService(st, core.Config{PublicURL: tt.publicURL})
		if err := svc.AddAgent(context.Background(), "alice", "", "password-alice"); err != nil {
			t.Fatal(err)
		}
		h, err := webui.New(webui.Config{Service: svc, Secure: tt.tls, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"username": {"alice"}, "password": {"password-alice"}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: login %d", tt.name, res.StatusCode)
		}
		if got := res.Header.Get("Strict-Transport-Security") != ""; got != tt.want {
			t.Errorf("%s: HSTS %q, want it %v", tt.name, res.Header.Get("Strict-Transport-Security"), tt.want)
		}
		names := map[string]bool{}
		for _, c := range res.Cookies() {
			names[c.Name] = true
			if c.Secure != tt.want || !c.HttpOnly {
				t.Errorf("%s: cookie %s Secure %v HttpOnly %v, want Secure %v and HttpOnly", tt.name, c.Name, c.Secure, c.HttpOnly, tt.want)
			}
		}
		if !names["tt_session"] || !names["tt_device"] {
			t.Errorf("%s: cookies %v, want tt_session and tt_device", tt.name, names)
		}
	}
}

// TestMetricsToken: with a token, /metrics answers only requests that
// send it as a bearer token.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, func(c *webui.Config) {
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ticketd_up 1\n")) })
		c.MetricsToken = "metrics-token-0123456789"
	})
	get := func(auth string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec.Result()
	}
	for _, auth := range []string{"", "Bearer wrong", "Bearer metrics-token-012345678", "metrics-token-0123456789"} {
		if res := get(auth); res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: %d, want 401 with WWW-Authenticate", auth, res.StatusCode)
		}
	}
	if res := get("Bearer metrics-token-0123456789"); res.StatusCode != http.StatusOK {
		t.Errorf("with the token: %d, want 200", res.StatusCode)
	}
}
