package webui

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"trivialtickets/core"
)

//go:embed templates static
var assets embed.FS

// Config is what the web interface needs.
type Config struct {
	// Service carries out every use case; required.
	Service *core.Service
	// Logger receives the causes of failed requests; slog.Default when nil.
	Logger *slog.Logger
	// Secure is set when the site is served over TLS: cookies get the
	// Secure attribute and answers carry HSTS. A Service whose PublicURL
	// is https has the same effect (plain HTTP behind a TLS proxy).
	Secure bool
	// MailAPI is mounted at /api/ and receives requests with their full
	// path; nil leaves /api/ unanswered (404).
	MailAPI http.Handler
	// Health reports whether the daemon can serve, for /healthz; nil means
	// always healthy.
	Health func(ctx context.Context) error
	// Status adds lines to /healthz that inform without failing it, such
	// as the state of each IMAP account; nil adds none.
	Status func() []string
	// Metrics is served at GET /metrics (Prometheus); nil leaves it 404.
	Metrics http.Handler
	// MetricsToken, when set, is the bearer token that /metrics requires
	// (Prometheus: authorization.credentials_file).
	MetricsToken string
	// ObserveRequest is called after each request with its route pattern
	// (such as "/ticket"), method, status code and duration; nil: not
	// observed.
	ObserveRequest func(route, method string, status int, d time.Duration)
	// ObservePageCache is called at each lookup of a customer's ticket
	// page in the page cache with whether the cached page could be sent;
	// nil: not observed.
	ObservePageCache func(hit bool)
	// FormRate limits the anonymous forms (POST /ticket/new and
	// /ticket/comment without a login) per client address; APIRate the
	// Mail API. The zero Rate is no limit.
	FormRate Rate
	APIRate  Rate
}

// handler holds what the handlers need; one method per action, one action
// per file.
type handler struct {
	svc    *core.Service
	log    *slog.Logger
	secure bool
	health func(ctx context.Context) error
	status func() []string
	tpl    templates
	// zones caches the agents' time zones by name (see location).
	zones sync.Map
	// pages caches the customers' ticket pages (see pageCache).
	pages *pageCache
	// observeCache is Config.ObservePageCache.
	observeCache func(hit bool)
}

// New returns the web interface as one http.Handler. It fails when a
// template is missing or does not parse.
func New(cfg Config) (http.Handler, error) {
	h, static, err := newHandler(cfg)
	if err != nil {
		return nil, err
	}
	return h.routes(cfg, static), nil
}

// newHandler makes the handler of New and the file system of the static
// files.
func newHandler(cfg Config) (*handler, fs.FS, error) {
	if cfg.Service == nil {
		return nil, nil, errors.New("webui: Config.Service is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tpl, err := parseTemplates(assets)
	if err != nil {
		return nil, nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, nil, err
	}
	h := &handler{
		svc:          cfg.Service,
		log:          cfg.Logger,
		secure:       cfg.Secure || strings.HasPrefix(strings.ToLower(cfg.Service.Config().PublicURL), "https://"),
		health:       cfg.Health,
		status:       cfg.Status,
		tpl:          tpl,
		pages:        newPageCache(maxCachedPages, maxCachedPageBytes),
		observeCache: cfg.ObservePageCache,
	}
	return h, static, nil
}
