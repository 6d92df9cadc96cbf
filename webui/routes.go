package webui

import (
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every URL of the web interface.
func (h *handler) routes(cfg Config, static fs.FS) http.Handler {
	mailAPI := cfg.MailAPI
	r := chi.NewRouter()
	if cfg.ObserveRequest != nil {
		r.Use(observe(cfg.ObserveRequest))
	}
	r.Use(h.securityHeaders, middleware.GetHead)
	r.NotFound(h.notFound)
	r.MethodNotAllowed(h.methodNotAllowed)

	// The Mail API authenticates with its token and is no browser surface:
	// no cross-origin check and no session.
	if mailAPI != nil {
		if cfg.APIRate.N > 0 {
			mailAPI = h.limitAPI(newLimiter(cfg.APIRate, nil), mailAPI)
		}
		r.Handle("/api", mailAPI)
		r.Handle("/api/*", mailAPI)
	}
	r.Get("/healthz", h.healthz)
	if cfg.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", requireBearer(cfg.MetricsToken, cfg.Metrics))
	}
	r.Get("/static/*", staticFiles(static))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(h.crossOrigin))

	r.Group(func(r chi.Router) {
		r.Use(cop.Handler, limitBody, h.checkFields)
		// The ticket page reads the session with the ticket (viewTicket).
		r.Get("/ticket", h.viewTicket)

		r.Group(func(r chi.Router) {
			r.Use(h.loadSession)

			// Everybody: customers and agents.
			r.Get("/", h.start)
			forms := chi.Middlewares{}
			if cfg.FormRate.N > 0 {
				forms = append(forms, h.limitForms(newLimiter(cfg.FormRate, nil)))
			}
			r.With(forms...).Post("/ticket/new", h.createTicket)
			r.With(forms...).Post("/ticket/comment", h.commentTicket)
			r.Get("/ticket/attachment", h.attachment)
			r.Get("/login", h.loginPage)
			r.Post("/login", h.login)
			r.Post("/logout", h.logout)

			// Agents only.
			r.Group(func(r chi.Router) {
				r.Use(h.requireAgent)
				r.Get("/dashboard", h.dashboard)
				r.Get("/tickets", h.listTickets)
				r.Post("/ticket/save", h.saveTicket)
				r.Post("/ticket/assign", h.assignTicket)
				r.Post("/ticket/release", h.releaseTicket)
				r.Post("/vacation", h.vacation)
				r.Post("/timezone", h.timeZone)
			})
		})
	})
	return r
}

// staticFiles serves the embedded CSS; directories are not listed.
func staticFiles(static fs.FS) http.HandlerFunc {
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}
}

// observe reports each request's route pattern, method, status and
// duration to fn. The pattern, not the path, keeps the number of distinct
// values small (ticket ids are in the query, attachments under one route).
func observe(fn func(route, method string, status int, d time.Duration)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			route := "other"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			fn(route, r.Method, status, time.Since(start))
		})
	}
}
