// Package oauth2 gets OAuth 2.0 access tokens for mailboxes that no longer
// take passwords (Gmail, Microsoft 365): it refreshes them from a refresh
// token at a token endpoint (RFC 6749 §6) before they expire and after the
// mail server refused one, and it provides the SASL mechanisms that carry
// them, XOAUTH2 and OAUTHBEARER (RFC 7628). It talks HTTP to the token
// endpoint only; the IMAP and SMTP clients use its tokens.
package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
)

// Mechanisms that carry a token.
const (
	XOAUTH2     = "XOAUTH2"
	OAUTHBEARER = sasl.OAuthBearer
)

// DefaultLeeway is how long before its expiry a token is refreshed.
const DefaultLeeway = time.Minute

// maxResponse bounds the token endpoint's answer.
const maxResponse = 1 << 20

// ErrRefresh wraps every failure to get a token from the endpoint.
var ErrRefresh = errors.New("OAuth2 token refresh failed")

// Config is one OAuth2 client of a mailbox.
type Config struct {
	TokenURL     string // the token endpoint, e.g. https://oauth2.googleapis.com/token
	ClientID     string
	ClientSecret string
	RefreshToken string
	Scope        string // optional
	// HTTPClient makes the requests; default: one with a 30 s timeout.
	HTTPClient *http.Client
	// Leeway: refresh this long before expiry. Default DefaultLeeway.
	Leeway time.Duration
	Now    func() time.Time // default time.Now
}

// Source hands out a valid access token, refreshing it as needed. It is
// safe for concurrent use.
type Source struct {
	cfg Config

	mu      sync.Mutex
	token   string
	expiry  time.Time
	refresh string // the refresh token; the endpoint may issue a new one
	status  Status
}

// Status tells how refreshing goes, for /healthz.
type Status struct {
	Refreshes   int64     // successful refreshes
	LastRefresh time.Time // of the last successful one
	LastError   string    // of the last failed one, kept after success
	LastErrorAt time.Time
}

// New checks cfg and returns a Source; the first token is fetched on
// first use.
func New(cfg Config) (*Source, error) {
	u, err := url.Parse(cfg.TokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("oauth2: token URL %q is not an http(s) URL", cfg.TokenURL)
	}
	if cfg.ClientID == "" || cfg.RefreshToken == "" {
		return nil, errors.New("oauth2: a client id and a refresh token are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Source{cfg: cfg, refresh: cfg.RefreshToken}, nil
}

// Token returns an access token that is valid for at least the leeway,
// refreshing it first when needed.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.cfg.Now().Add(s.cfg.Leeway).Before(s.expiry) {
		return s.token, nil
	}
	tok, exp, refresh, err := s.fetch(ctx)
	now := s.cfg.Now()
	if err != nil {
		s.status.LastError, s.status.LastErrorAt = err.Error(), now
		return "", err
	}
	s.token, s.expiry = tok, exp
	if refresh != "" {
		// RFC 6749 §6: the server may issue a new refresh token.
		s.refresh = refresh
	}
	s.status.Refreshes++
	s.status.LastRefresh = now
	return tok, nil
}

// Invalidate drops the cached token, so that the next Token refreshes: for
// after the mail server refused it (revoked or expired early).
func (s *Source) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = ""
}

// Status returns a snapshot of the refresh state.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// fetch runs one refresh_token grant (RFC 6749 §6, client credentials in
// the body as §2.3.1 allows).
func (s *Source) fetch(ctx context.Context) (token string, expiry time.Time, refresh string, err error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.refresh}, "client_id": {s.cfg.ClientID}}
	if s.cfg.ClientSecret != "" {
		form.Set("client_secret", s.cfg.ClientSecret)
	}
	if s.cfg.Scope != "" {
		form.Set("scope", s.cfg.Scope)
	}
	fail := func(format string, args ...any) (string, time.Time, string, error) {
		return "", time.Time{}, "", fmt.Errorf("%w at %s: %s", ErrRefresh, s.cfg.TokenURL, fmt.Sprintf(format, args...))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fail("read the answer: %v", err)
	}
	if len(body) > maxResponse {
		return fail("the answer is larger than %d bytes", maxResponse)
	}
	var r struct {
		AccessToken  string          `json:"access_token"`
		TokenType    string          `json:"token_type"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
		RefreshToken string          `json:"refresh_token"`
		Error        string          `json:"error"`
		Description  string          `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &r)
	if resp.StatusCode != http.StatusOK {
		// RFC 6749 §5.2: error and error_description.
		if jerr == nil && r.Error != "" {
			return fail("%s %s: %s", resp.Status, oneLine(r.Error), oneLine(r.Description))
		}
		return fail("%s", resp.Status)
	}
	if jerr != nil {
		return fail("the answer is not JSON: %v", jerr)
	}
	if r.AccessToken == "" || strings.ContainsAny(r.AccessToken, "\x00\x01\r\n ") {
		return fail("the answer has no usable access_token")
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return fail("token_type %q is not Bearer", oneLine(r.TokenType))
	}
	// expires_in is a number, though some servers send a string.
	secs := int64(3600)
	if len(r.ExpiresIn) > 0 {
		var n json.Number
		if err := json.Unmarshal(r.ExpiresIn, &n); err != nil {
			var str string
			if json.Unmarshal(r.ExpiresIn, &str) != nil {
				return fail("expires_in %s is not a number", oneLine(string(r.ExpiresIn)))
			}
			n = json.Number(str)
		}
		if secs, err = n.Int64(); err != nil || secs <= 0 {
			return fail("expires_in %s is not a positive number", oneLine(string(r.ExpiresIn)))
		}
	}
	return r.AccessToken, s.cfg.Now().Add(time.Duration(secs) * time.Second), r.RefreshToken, nil
}

// oneLine keeps an endpoint's text short and on one line for logs.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// NewClient returns the SASL client of mechanism (XOAUTH2 or OAUTHBEARER)
// for user with token; host and port name the server for OAUTHBEARER.
func NewClient(mechanism, user, token, host string, port int) (sasl.Client, error) {
	switch strings.ToUpper(mechanism) {
	case XOAUTH2:
		return &xoauth2{user: user, token: token}, nil
	case OAUTHBEARER:
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: host, Port: port}), nil
	}
	return nil, fmt.Errorf("oauth2: unknown SASL mechanism %q: use %s or %s", mechanism, XOAUTH2, OAUTHBEARER)
}

// xoauth2 is Google's XOAUTH2 mechanism
// (developers.google.com/gmail/imap/xoauth2-protocol), which Microsoft
// 365 also takes: one initial response; on failure the server sends a JSON
// error as a challenge, answered with an empty response.
type xoauth2 struct{ user, token string }

func (x *xoauth2) Start() (string, []byte, error) {
	return XOAUTH2, []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2) Next(challenge []byte) ([]byte, error) {
	return []byte{}, nil
}
