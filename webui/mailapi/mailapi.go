package mailapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
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
	switch r.URL.Path {
	case wire.PathReceive:
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.receive(w, r)
	case wire.PathFetchMails:
		if !allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		h.fetchMails(w, r)
	case wire.PathVerifyMail:
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.verifyMail(w, r)
	default:
		writeError(w, http.StatusNotFound, "no such Mail API call: use "+wire.PathReceive+", "+wire.PathFetchMails+" or "+wire.PathVerifyMail)
	}
}

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

// allow answers 405 with an Allow header unless r uses one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	list := strings.Join(methods, ", ")
	w.Header().Set("Allow", list)
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use "+list)
	return false
}
