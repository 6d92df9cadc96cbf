package oauth2_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"trivialtickets/mailgw/oauth2"
)

// endpoint is a token endpoint that issues tok-1, tok-2 … for the refresh
// token it knows, rotating the refresh token once.
type endpoint struct {
	mu      sync.Mutex
	n       int
	refresh string
	answer  func(w http.ResponseWriter) bool // a canned answer instead, when it returns true
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.answer != nil && e.answer(w) {
		return
	}
	if r.Method != http.MethodPost || r.FormValue("grant_type") != "refresh_token" || r.FormValue("client_id") != "cid" ||
		r.FormValue("client_secret") != "csecret" {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if r.FormValue("refresh_token") != e.refresh {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`)
		return
	}
	e.n++
	rotated := ""
	if e.n == 1 {
		e.refresh = "refresh-2"
		rotated = `,"refresh_token":"refresh-2"`
	}
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":120%s}`, e.n, rotated)
}

func TestSourceRefreshes(t *testing.T) {
	ep := &endpoint{refresh: "refresh-1"}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, err := oauth2.New(oauth2.Config{TokenURL: srv.URL, ClientID: "cid", ClientSecret: "csecret", RefreshToken: "refresh-1", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	token := func(want string) {
		t.Helper()
		got, err := s.Token(ctx)
		if err != nil || got != want {
			t.Fatalf("Token = %q, %v; want %q", got, err, want)
		}
	}
	token("tok-1")
	advance(59 * time.Second)
	token("tok-1") // valid for more than the leeway
	advance(2 * time.Second)
	token("tok-2") // within a minute of expiry: refreshed, with the rotated refresh token
	s.Invalidate()
	token("tok-3") // the server refused it: refreshed at once
	if st := s.Status(); st.Refreshes != 3 || st.LastError != "" {
		t.Errorf("status %+v", st)
	}

	// A failed refresh says what the endpoint said, and is in the status.
	ep.mu.Lock()
	ep.refresh = "something else"
	ep.mu.Unlock()
	s.Invalidate()
	_, err = s.Token(ctx)
	if !errors.Is(err, oauth2.ErrRefresh) || !strings.Contains(err.Error(), "invalid_grant: Token has been expired or revoked.") {
		t.Errorf("refused refresh: %v", err)
	}
	if st := s.Status(); !strings.Contains(st.LastError, "invalid_grant") || st.LastErrorAt != clock() {
		t.Errorf("status after a failure: %+v", st)
	}
}

func TestSourceHostileEndpoint(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":         "<html>oops</html>",
		"no token":         `{"token_type":"Bearer"}`,
		"token with CR LF": `{"access_token":"a\r\nb"}`,
		"other type":       `{"access_token":"x","token_type":"mac"}`,
		"bad expiry":       `{"access_token":"x","expires_in":-5}`,
		"huge":             `{"access_token":"` + strings.Repeat("x", 2<<20) + `"}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
		s, _ := oauth2.New(oauth2.Config{TokenURL: srv.URL, ClientID: "cid", RefreshToken: "r"})
		if tok, err := s.Token(context.Background()); !errors.Is(err, oauth2.ErrRefresh) {
			t.Errorf("%s: Token = %.20q, %v; want a refresh error", name, tok, err)
		}
		srv.Close()
	}
	if _, err := oauth2.New(oauth2.Config{TokenURL: "ftp://x", ClientID: "c", RefreshToken: "r"}); err == nil {
		t.Error("ftp token URL accepted")
	}
}

func TestSASLClients(t *testing.T) {
	c, _ := oauth2.NewClient("xoauth2", "support@example.com", "tok", "imap.example.com", 993)
	mech, ir, err := c.Start()
	if mech != "XOAUTH2" || string(ir) != "user=support@example.com\x01auth=Bearer tok\x01\x01" || err != nil {
		t.Errorf("XOAUTH2 start = %q %q %v", mech, ir, err)
	}
	c, _ = oauth2.NewClient("OAUTHBEARER", "support@example.com", "tok", "imap.example.com", 993)
	mech, ir, err = c.Start()
	if mech != "OAUTHBEARER" || !strings.Contains(string(ir), "auth=Bearer tok") || err != nil {
		t.Errorf("OAUTHBEARER start = %q %q %v", mech, ir, err)
	}
	if _, err := oauth2.NewClient("PLAIN", "u", "t", "h", 1); err == nil {
		t.Error("PLAIN accepted")
	}
}
