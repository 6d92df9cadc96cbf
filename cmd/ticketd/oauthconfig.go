package main

import (
	"fmt"
	"net"
	"net/url"

	"trivialtickets/mailgw/oauth2"
)

// OAuthConfig is the OAuth2 client of an [[imap]] account or the [relay]:
// how the daemon gets access tokens for SASL XOAUTH2 or OAUTHBEARER.
type OAuthConfig struct {
	// Auth is "password" (the default), "oauth2" (OAUTHBEARER when the
	// server offers it, else XOAUTH2), "xoauth2" or "oauthbearer".
	Auth         string
	TokenURL     string
	ClientID     string
	ClientSecret string
	RefreshToken string
	Scope        string
}

// oauthTable is the OAuth2 client's keys as written in the config file,
// the same in [[imap]] and [relay].
type oauthTable struct {
	// Auth: "password" (default), "oauth2" (OAUTHBEARER if offered, else
	// XOAUTH2), "xoauth2" or "oauthbearer".
	Auth             *string `toml:"auth"`
	TokenURL         string  `toml:"oauth_token_url"`
	ClientID         string  `toml:"oauth_client_id"`
	ClientSecretFile *string `toml:"oauth_client_secret_file"` // none for public clients
	RefreshTokenFile *string `toml:"oauth_refresh_token_file"`
	Scope            string  `toml:"oauth_scope"` // empty: the refresh token's
}

// config checks the client's keys with k.
func (t oauthTable) config(k *keyChecks) OAuthConfig {
	o := OAuthConfig{TokenURL: t.TokenURL, ClientID: t.ClientID, Scope: t.Scope}
	k.oneOf("auth", &o.Auth, t.Auth, "password", "oauth2", "xoauth2", "oauthbearer")
	k.secretFile("oauth_client_secret_file", &o.ClientSecret, t.ClientSecretFile)
	k.secretFile("oauth_refresh_token_file", &o.RefreshToken, t.RefreshTokenFile)
	return o
}

// enabled reports whether the account logs in with OAuth2.
func (o OAuthConfig) enabled() bool { return o.Auth != "" && o.Auth != "password" }

// mechanism is the SASL mechanism to use; "" lets the client choose.
func (o OAuthConfig) mechanism() string {
	switch o.Auth {
	case "xoauth2":
		return oauth2.XOAUTH2
	case "oauthbearer":
		return oauth2.OAUTHBEARER
	}
	return ""
}

// validate checks an OAuth2 client that is switched on.
func (o OAuthConfig) validate() error {
	if !o.enabled() {
		return nil
	}
	u, err := url.Parse(o.TokenURL)
	if err != nil || u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) || u.Host == "" {
		return fmt.Errorf("auth = %q needs oauth_token_url, an https URL (http on loopback only)", o.Auth)
	}
	if o.ClientID == "" || o.RefreshToken == "" {
		return fmt.Errorf("auth = %q needs oauth_client_id and oauth_refresh_token_file", o.Auth)
	}
	return nil
}

// source makes the token source of the client; nil when it is off.
func (o OAuthConfig) source() (*oauth2.Source, error) {
	if !o.enabled() {
		return nil, nil
	}
	s, err := oauth2.New(oauth2.Config{TokenURL: o.TokenURL, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RefreshToken: o.RefreshToken, Scope: o.Scope})
	if err != nil {
		return nil, fmt.Errorf("OAuth2 client: %w", err)
	}
	return s, nil
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
