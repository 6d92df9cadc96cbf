package mailapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/wire"
)

// DefaultMaxBodyBytes is the body limit of POST /api/receive when
// Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 25 << 20

// maxVerifyBytes caps the body of POST /api/verifyMail, which holds one id.
const maxVerifyBytes = 64 << 10

// fetchPageSize is how many mails GET /api/fetchMails loads at a time.
const fetchPageSize = 500

// Config is what the Mail API needs.
type Config struct {
	// Service carries out the calls; required.
	Service *core.Service
	// Token is the bearer token every request must carry. Empty switches
	// authentication off, which is an explicit choice of the operator.
	Token string
	// MaxBodyBytes caps the body of POST /api/receive, JSON and raw
	// message alike; DefaultMaxBodyBytes when 0. Larger bodies get 413.
	MaxBodyBytes int64
	// ParseRaw parses a whole RFC 5322 message posted as message/rfc822
	// into an inbound message (mailgw/parse.Parse). Nil answers such
	// requests with 415.
	ParseRaw func(r io.Reader) (core.InboundMessage, error)
	// Logger receives the causes of failed requests; slog.Default when nil.
	Logger *slog.Logger
}

// handler serves the three calls; one method per call, one call per file.
type handler struct {
	svc       *core.Service
	tokenHash [sha256.Size]byte
	auth      bool
	maxBody   int64
	parseRaw  func(r io.Reader) (core.InboundMessage, error)
	log       *slog.Logger
	routes    *http.ServeMux
}

// New returns the Mail API as an http.Handler. It serves exactly
// /api/receive, /api/fetchMails and /api/verifyMail (full paths: the daemon
// mounts it at /api/); every other path gets a JSON 404. New panics when
// cfg.Service is nil, a programming error.
func New(cfg Config) http.Handler {
	if cfg.Service == nil {
		panic("mailapi: Config.Service is required")
	}
	h := &handler{
		svc:      cfg.Service,
		auth:     cfg.Token != "",
		maxBody:  cfg.MaxBodyBytes,
		parseRaw: cfg.ParseRaw,
		log:      cfg.Logger,
	}
	if h.auth {
		h.tokenHash = sha256.Sum256([]byte(cfg.Token))
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	// The routes, one per call. A GET pattern also serves HEAD; a request
	// with another method gets 405 with an Allow header from the mux, which
	// ServeHTTP turns into the contract's JSON error.
	h.routes = http.NewServeMux()
	h.routes.HandleFunc("POST "+wire.PathReceive, h.receive)
	h.routes.HandleFunc("GET "+wire.PathFetchMails, h.fetchMails)
	h.routes.HandleFunc("POST "+wire.PathVerifyMail, h.verifyMail)
	return h
}

// ServeHTTP checks the token, then routes by path and method.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The token is checked before anything else, so that without it
	// nothing, not even which paths exist, can be learned.
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mailapi"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	// A path that is not clean names no call; the mux would redirect it to
	// the clean one, but a mail service must use the paths as they are.
	if r.URL.Path != path.Clean(r.URL.Path) {
		h.notFound(w)
		return
	}
	if _, pattern := h.routes.Handler(r); pattern == "" {
		h.noRoute(w, r)
		return
	}
	h.routes.ServeHTTP(w, r)
}

// noRoute answers a request that no route takes: 405 with the mux's Allow
// header when the path is a call's but the method is not, else 404; both
// with the JSON error body that the contract requires of every error.
func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	probe := &statusProbe{header: http.Header{}}
	h.routes.ServeHTTP(probe, r)
	if probe.status != http.StatusMethodNotAllowed {
		h.notFound(w)
		return
	}
	allowed := probe.header.Get("Allow")
	w.Header().Set("Allow", allowed)
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use "+allowed)
}

// notFound answers a path that names no call, saying which ones there are.
func (h *handler) notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "no such Mail API call: use "+wire.PathReceive+", "+wire.PathFetchMails+" or "+wire.PathVerifyMail)
}

// statusProbe is a ResponseWriter that keeps the header and status of the
// mux's own plain-text answer and drops its body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

// authorized reports whether r carries the configured bearer token. Both
// sides are hashed first so that the constant-time comparison also hides
// the token's length.
func (h *handler) authorized(r *http.Request) bool {
	if !h.auth {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}
