package outbound_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"trivialtickets/mailgw/oauth2"
	"trivialtickets/mailgw/outbound"
)

// oauthRelay is the test relay with AUTH OAUTHBEARER (RFC 7628) for the
// tokens it is told are valid.
type oauthRelay struct {
	*relay
	mu    sync.Mutex
	valid map[string]bool
	tried []string
}

func (o *oauthRelay) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &oauthSession{relaySession: &relaySession{r: o.relay}, o: o}, nil
}

type oauthSession struct {
	*relaySession
	o *oauthRelay
}

func (s *oauthSession) AuthMechanisms() []string { return []string{sasl.OAuthBearer} }

func (s *oauthSession) Auth(string) (sasl.Server, error) {
	return sasl.NewOAuthBearerServer(func(opts sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
		s.o.mu.Lock()
		defer s.o.mu.Unlock()
		s.o.tried = append(s.o.tried, opts.Token)
		if opts.Username != "support@help.example" || !s.o.valid[opts.Token] {
			return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
		}
		s.authed = true
		return nil
	}), nil
}

func (o *oauthRelay) set(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f()
}

// TestRelayOAuth2 delivers through a relay that takes OAuth2 tokens only:
// the first token comes from the refresh token; when the relay stops
// taking it (expired early), the mail waits, the token is refreshed, and
// every mail arrives once.
func TestRelayOAuth2(t *testing.T) {
	var mu sync.Mutex
	issued := 0
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.FormValue("refresh_token") != "refresh-1" || r.FormValue("client_id") != "ticketd" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		issued++
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, issued)
	}))
	defer ep.Close()
	o := &oauthRelay{relay: &relay{authUser: "support@help.example"}, valid: map[string]bool{"tok-1": true, "tok-2": true}}
	srv := smtp.NewServer(o)
	srv.Domain, srv.AllowInsecureAuth = "relay.test", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr = ln.Addr().String()
	go srv.Serve(ln)
	defer srv.Close()

	src, err := oauth2.New(oauth2.Config{TokenURL: ep.URL, ClientID: "ticketd", RefreshToken: "refresh-1"})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t)
	run(t, outbound.Config{Outbox: svc, Relay: outbound.Relay{Host: "127.0.0.1", Port: o.port(t), Username: "support@help.example", OAuth2: src}})
	receive(t, svc, "alice@example.com", "First", "first@example.com")
	waitFor(t, "the first mail", func() bool { return len(o.got()) == 1 })

	o.set(func() { o.valid["tok-1"] = false })
	receive(t, svc, "bob@example.com", "Second", "second@example.com")
	waitFor(t, "the second mail after a refresh", func() bool { return len(o.got()) == 2 })
	o.set(func() {
		if len(o.tried) < 3 || o.tried[len(o.tried)-2] != "tok-1" || o.tried[len(o.tried)-1] != "tok-2" {
			t.Errorf("tokens tried: %q, want tok-1 refused, then tok-2", o.tried)
		}
	})
	if got := o.got(); got[0].to[0] != "alice@example.com" || got[1].to[0] != "bob@example.com" {
		t.Errorf("delivered %+v", got)
	}
}
