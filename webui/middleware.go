package webui

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"

	"trivialtickets/core"
)

// contentSecurityPolicy allows the page's own stylesheet and images and
// nothing else: no scripts, no inline styles, no framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxFormBytes caps a form body; the longest field, a new ticket's message,
// is cut at core.MaxTextLength anyway.
const maxFormBytes = 2 << 20

// hsts tells browsers to use only HTTPS for the site for a year (RFC 6797).
// Browsers ignore it on plain HTTP and on a certificate they do not trust
// (the self-signed default), so it takes effect where it should.
const hsts = "max-age=31536000"

// securityHeaders sets the headers every answer carries; HSTS when the
// site is served over HTTPS (by the daemon or by a proxy in front).
func (h *handler) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		if h.secure || r.TLS != nil {
			hd.Set("Strict-Transport-Security", hsts)
		}
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies of the pages.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		next.ServeHTTP(w, r)
	})
}

type agentKey struct{}

// currentAgent is the logged-in agent of the request, or nil for a
// customer.
func currentAgent(r *http.Request) *core.Agent {
	a, _ := r.Context().Value(agentKey{}).(*core.Agent)
	return a
}

// withAgent returns r with a as its logged-in agent (currentAgent).
func withAgent(r *http.Request, a *core.Agent) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), agentKey{}, a))
}

// loadSession puts the agent of the session cookie, if any, into the
// request context. A cookie of an ended session is cleared.
func (h *handler) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := sessionToken(r)
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		a, err := h.svc.SessionAgent(r.Context(), token)
		switch {
		case errors.Is(err, core.ErrNotFound):
			h.clearSessionCookie(w)
			next.ServeHTTP(w, r)
		case err != nil:
			h.fail(w, r, err)
		default:
			next.ServeHTTP(w, withAgent(r, &a))
		}
	})
}

// requireAgent is the one gate for agent-only routes: anonymous page views
// go to the start page, anonymous form posts are refused.
func (h *handler) requireAgent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentAgent(r) != nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		h.fail(w, r, core.ErrForbidden)
	})
}

// requireBearer lets only requests with "Authorization: Bearer token"
// through to next; an empty token lets every request through.
func requireBearer(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "401 Unauthorized: send the metrics token as \"Authorization: Bearer <token>\"", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
