package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trivialtickets/mailgw/dovecottest"
)

func TestOAuthSettings(t *testing.T) {
	dir := t.TempDir()
	secret, refresh := filepath.Join(dir, "secret"), filepath.Join(dir, "refresh")
	os.WriteFile(secret, []byte("client-secret\n"), 0o600)
	os.WriteFile(refresh, []byte("refresh-1\n"), 0o600)
	oauth := fmt.Sprintf("auth = \"oauth2\"\noauth_token_url = \"https://oauth2.example.com/token\"\noauth_client_id = \"cid\"\n"+
		"oauth_client_secret_file = %q\noauth_refresh_token_file = %q\n", secret, refresh)
	file := filepath.Join(dir, "c.toml")
	os.WriteFile(file, []byte("outbound = \"smtp\"\n[relay]\nhost = \"smtp.example.com\"\nusername = \"support@example.com\"\n"+oauth+
		"\n[[imap]]\nhost = \"imap.example.com\"\nusername = \"support@example.com\"\n"+oauth), 0o600)
	c, _, err := loadConfig([]string{"--config", file}, nil, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := OAuthConfig{Auth: "oauth2", TokenURL: "https://oauth2.example.com/token", ClientID: "cid", ClientSecret: "client-secret", RefreshToken: "refresh-1"}
	if c.Relay.OAuth != want || c.IMAP[0].OAuth != want {
		t.Errorf("relay %+v, imap %+v", c.Relay.OAuth, c.IMAP[0].OAuth)
	}
	for i, tt := range []struct{ file, want string }{
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\nauth = \"oauth2\"\n", "needs oauth_token_url"},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\nauth = \"oauth2\"\noauth_token_url = \"http://idp.example.com/token\"\n", "http on loopback only"},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\noauth_token_url = \"https://idp.example.com/token\"\n", "needs oauth_client_id and oauth_refresh_token_file"},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\nauth = \"kerberos\"\n", `"kerberos" is not one of password, oauth2, xoauth2, oauthbearer`},
		{"[[imap]]\nhost = \"h\"\nusername = \"u\"\n", "or auth = \"oauth2\") are required"},
		{"outbound = \"smtp\"\n[relay]\nhost = \"h\"\n" + oauth, "an OAuth2 login needs the username"},
	} {
		os.WriteFile(file, []byte(tt.file), 0o600)
		if _, _, err := loadConfig([]string{"--config", file}, nil, io.Discard, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("#%d: error %v, want it to mention %q", i, err, tt.want)
		}
	}
}

// TestOAuthRefreshFailureOnHealthz: an [[imap]] account whose refresh token
// the endpoint refuses shows the failed refresh on /healthz.
func TestOAuthRefreshFailureOnHealthz(t *testing.T) {
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`)
	}))
	defer ep.Close()
	dove := dovecottest.Start(t)
	dir := t.TempDir()
	refresh := filepath.Join(dir, "refresh")
	os.WriteFile(refresh, []byte("revoked-refresh-token\n"), 0o600)
	conf := filepath.Join(dir, "ticketd.toml")
	os.WriteFile(conf, fmt.Appendf(nil, "[[imap]]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\nusername = %q\nauth = \"oauth2\"\n"+
		"oauth_token_url = %q\noauth_client_id = \"ticketd\"\noauth_refresh_token_file = %q\n", dove.Port, dove.User, ep.URL+"/token", refresh), 0o600)
	url, stop := startDaemon(t, "--config", conf, "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0", "--no-tls", "--smtp", "")
	defer stop()
	want := "FAILING since "
	deadline := time.Now().Add(15 * time.Second)
	for {
		h := healthz(t, url)
		if strings.Contains(h, want) && strings.Contains(h, "OAuth2 token refresh failed at "+ep.URL+"/token: 400 Bad Request invalid_grant: Token has been expired or revoked.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz = %q", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
