package imappoll_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"trivialtickets/mailgw/dovecottest"
	"trivialtickets/mailgw/imappoll"
	"trivialtickets/mailgw/oauth2"
)

// authServer is the OAuth2 provider of the test: a token endpoint that
// issues tok-1, tok-2 … for the refresh token, and the RFC 7662
// introspection endpoint Dovecot's oauth2 passdb asks about them.
type authServer struct {
	mu      sync.Mutex
	user    string
	refresh string
	issued  int
	revoked map[string]bool
}

func (a *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/token":
		if r.FormValue("grant_type") != "refresh_token" || r.FormValue("refresh_token") != a.refresh ||
			r.FormValue("client_id") != "ticketd" || r.FormValue("client_secret") != "client-secret" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`)
			return
		}
		a.issued++
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, a.issued)
	case "/introspect":
		tok := r.FormValue("token")
		var n int
		if _, err := fmt.Sscanf(tok, "tok-%d", &n); err != nil || n < 1 || n > a.issued || a.revoked[tok] {
			fmt.Fprint(w, `{"active":false}`)
			return
		}
		fmt.Fprintf(w, `{"active":true,"username":%q}`, a.user)
	default:
		http.NotFound(w, r)
	}
}

func (a *authServer) revoke(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked[tok] = true
}

func (a *authServer) set(f func(*authServer)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func (a *authServer) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.issued
}

// TestDovecotOAuth2 logs in to Dovecot with OAuth2 tokens its oauth2
// passdb checks against the test's introspection endpoint: the poller gets
// a token from the refresh token and ingests mail; when the token is
// revoked (expired early) and Dovecot restarts, the refused token is
// refreshed and the mail that came meanwhile is ingested, none lost or
// twice; when the refresh itself fails, the status says so.
func TestDovecotOAuth2(t *testing.T) {
	t.Parallel()
	auth := &authServer{refresh: "refresh-1", revoked: map[string]bool{}}
	hs := httptest.NewServer(auth)
	defer hs.Close()
	d := dovecottest.StartWith(t, dovecottest.Options{OAuth2IntrospectionURL: hs.URL + "/introspect"})
	auth.set(func(a *authServer) { a.user = d.User })
	src, err := oauth2.New(oauth2.Config{TokenURL: hs.URL + "/token", ClientID: "ticketd", ClientSecret: "client-secret", RefreshToken: "refresh-1"})
	if err != nil {
		t.Fatal(err)
	}

	// Both mechanisms work with Dovecot; a wrong token does not.
	for _, mech := range []string{oauth2.XOAUTH2, oauth2.OAUTHBEARER} {
		tok, err := src.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := saslLogin(t, d.Addr(), mech, d.User, tok); err != nil {
			t.Errorf("%s login: %v", mech, err)
		}
		if err := saslLogin(t, d.Addr(), mech, d.User, "tok-999"); err == nil {
			t.Errorf("%s login with an unknown token succeeded", mech)
		}
	}
	src.Invalidate()

	svc := newService(t)
	p := runPoller(t, imappoll.Config{Receiver: svc, Account: imappoll.Account{Host: d.Host, Port: d.Port, TLS: imappoll.TLSNone,
		Username: d.User, OAuth2: src}})
	mc := dialMail(t, d.Addr(), d.User, d.Password)
	mc.append("INBOX", mail("oauth-1@example.com", "First", "Hello."))
	eventually(t, "the first ticket", func() bool { return ticketCount(t, svc) == 1 })
	issued := auth.count()

	auth.revoke(fmt.Sprintf("tok-%d", issued))
	d.Restart()
	mc = dialMail(t, d.Addr(), d.User, d.Password)
	mc.append("INBOX", mail("oauth-2@example.com", "Second", "Hello again."))
	eventually(t, "the second ticket after the refresh", func() bool { return ticketCount(t, svc) == 2 })
	if n := auth.count(); n != issued+1 {
		t.Errorf("%d tokens issued after the revocation, want one more than %d", n, issued)
	}
	// The restart may cut the poller off after it recorded the first mail
	// and before it flagged it; then the first mail comes again and is
	// recognised as a duplicate (counted as ingested, no second ticket).
	if n := ticketCount(t, svc); n != 2 {
		t.Errorf("%d tickets, want 2: none lost or twice", n)
	}
	// The poller counts a message just after its commit, so the status
	// may lag the ticket count for a moment.
	eventually(t, "2 ingested in the status", func() bool { return p.Status().Ingested >= 2 })
	if st := p.Status(); !strings.Contains(st.LastError, "IMAP login (OAUTHBEARER) failed") {
		t.Errorf("status %+v, want the refused login as the last error", st)
	}

	// The refresh token is revoked too: the status names the refresh.
	auth.set(func(a *authServer) { a.refresh = "revoked"; a.revoked[fmt.Sprintf("tok-%d", a.issued)] = true })
	d.Restart()
	eventually(t, "the failed refresh in the status", func() bool {
		st := p.Status()
		return strings.Contains(st.LastError, "OAuth2 token refresh failed") && strings.Contains(st.LastError, "invalid_grant") &&
			st.LastErrorAt.After(st.LastSuccess)
	})
}

// saslLogin authenticates a fresh connection with mechanism and token.
func saslLogin(t *testing.T, addr, mech, user, token string) error {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := oauth2.NewClient(mech, user, token, "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	return c.Authenticate(sc)
}
