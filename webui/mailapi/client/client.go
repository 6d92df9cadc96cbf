// Package client is the Go client of the Trivial Tickets Mail API
// (shared/spec/mail-api.md). ticketcli and the integration tests use it; it
// speaks only through the request and response types of package
// mailapi/wire and imports nothing of the server.
package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"trivialtickets/webui/mailapi/wire"
)

// Client calls the Mail API of one daemon. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New returns a client for the daemon at baseURL (e.g.
// "https://localhost:8443"), sending token as bearer token unless it is
// empty. httpClient nil means http.DefaultClient.
func New(baseURL, token string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: httpClient}
}

// APIError is an answer of the server other than 200.
type APIError struct {
	StatusCode int    // the HTTP status
	Message    string // the server's message, or the status text
}

// Error returns e.g. "server answered 400: missing required property \"subject\"".
func (e *APIError) Error() string {
	return fmt.Sprintf("server answered %d: %s", e.StatusCode, e.Message)
}

// Receive hands a customer message to the daemon as JSON.
func (c *Client) Receive(ctx context.Context, req wire.ReceiveRequest) (wire.ReceiveResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return wire.ReceiveResponse{}, fmt.Errorf("receive: %w", err)
	}
	var resp wire.ReceiveResponse
	if err := c.call(ctx, http.MethodPost, wire.PathReceive, wire.ContentTypeJSON, bytes.NewReader(body), &resp); err != nil {
		return wire.ReceiveResponse{}, fmt.Errorf("receive: %w", err)
	}
	return resp, nil
}

// ReceiveRaw hands a whole RFC 5322 message to the daemon
// (Content-Type message/rfc822).
func (c *Client) ReceiveRaw(ctx context.Context, msg io.Reader) (wire.ReceiveResponse, error) {
	var resp wire.ReceiveResponse
	if err := c.call(ctx, http.MethodPost, wire.PathReceive, wire.ContentTypeRFC822, msg, &resp); err != nil {
		return wire.ReceiveResponse{}, fmt.Errorf("receive raw message: %w", err)
	}
	return resp, nil
}

// FetchMails returns every pending outgoing mail, sorted by numeric id.
// Fetching changes nothing on the server.
func (c *Client) FetchMails(ctx context.Context) ([]wire.Mail, error) {
	var mails []wire.Mail
	err := c.do(ctx, http.MethodGet, wire.PathFetchMails, "", nil, func(body io.Reader) error {
		var err error
		mails, err = decodeMails(body)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch mails: %w", err)
	}
	slices.SortStableFunc(mails, func(a, b wire.Mail) int {
		x, _ := strconv.ParseInt(a.ID, 10, 64)
		y, _ := strconv.ParseInt(b.ID, 10, 64)
		return cmp.Compare(x, y)
	})
	return mails, nil
}

// decodeMails reads the fetchMails object one mail at a time, never holding
// more than the resulting slice.
func decodeMails(r io.Reader) ([]wire.Mail, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("decode answer: not a JSON object")
	}
	var mails []wire.Mail
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("decode answer: %w", err)
		}
		key, _ := tok.(string)
		var m wire.Mail
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("decode mail %q: %w", key, err)
		}
		if m.ID == "" {
			m.ID = key
		}
		mails = append(mails, m)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	return mails, nil
}

// VerifyMail confirms the mail with id as sent. It reports false when the
// server has no pending mail with that id (unknown or confirmed already).
func (c *Client) VerifyMail(ctx context.Context, id string) (bool, error) {
	body, err := json.Marshal(wire.VerifyRequest{ID: id})
	if err != nil {
		return false, fmt.Errorf("verify mail %s: %w", id, err)
	}
	var resp wire.VerifyResponse
	if err := c.call(ctx, http.MethodPost, wire.PathVerifyMail, wire.ContentTypeJSON, bytes.NewReader(body), &resp); err != nil {
		return false, fmt.Errorf("verify mail %s: %w", id, err)
	}
	return resp.Verified, nil
}

// call sends one request and decodes a 200 answer into out.
func (c *Client) call(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	return c.do(ctx, method, path, contentType, body, func(r io.Reader) error {
		if err := json.NewDecoder(r).Decode(out); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		return nil
	})
}

// maxErrorBody caps how much of an error answer is read.
const maxErrorBody = 64 << 10

// do sends one request; a 200 answer's body goes to ok, any other status
// becomes an *APIError.
func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, ok func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", wire.ContentTypeJSON)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	return ok(resp.Body)
}

// apiError makes an *APIError of a failed answer, with the server's JSON
// message or, from something that is not the Mail API (a proxy), the start
// of the body.
func apiError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{StatusCode: resp.StatusCode}
	var er wire.ErrorResponse
	if json.Unmarshal(b, &er) == nil && er.Message != "" {
		e.Message = er.Message
		return e
	}
	text := strings.Join(strings.Fields(string(b)), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	e.Message = text
	return e
}

// TLSConfig returns a TLS configuration for talking to the daemon. caFile
// names a PEM file with certificates to trust besides the system's (the
// daemon's self-signed certificate, say); insecure switches certificate
// checks off altogether, for tests only. Both empty: the system defaults.
func TLSConfig(caFile string, insecure bool) (*tls.Config, error) {
	if caFile != "" && insecure {
		return nil, errors.New("use either a CA file or insecure, not both")
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if insecure {
		conf.InsecureSkipVerify = true
		return conf, nil
	}
	if caFile == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	conf.RootCAs = pool
	return conf, nil
}

// HTTPClient returns an *http.Client with TLSConfig(caFile, insecure) and
// the given overall timeout per request (0: none).
func HTTPClient(caFile string, insecure bool, timeout time.Duration) (*http.Client, error) {
	conf, err := TLSConfig(caFile, insecure)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = conf
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}
