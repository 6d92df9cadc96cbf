package webui

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every URL of the web interface.
func (h *handler) routes(mailAPI http.Handler, static fs.FS) http.Handler {
	r := chi.NewRouter()
	r.Use(securityHeaders, middleware.GetHead)
	r.NotFound(h.notFound)
	r.MethodNotAllowed(h.methodNotAllowed)

	// The Mail API authenticates with its token and is no browser surface:
	// no cross-origin check and no session.
	if mailAPI != nil {
		r.Handle("/api", mailAPI)
		r.Handle("/api/*", mailAPI)
	}
	r.Get("/healthz", h.healthz)
	r.Get("/static/*", staticFiles(static))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(h.crossOrigin))

	r.Group(func(r chi.Router) {
		r.Use(cop.Handler, limitBody, h.loadSession)

		// Everybody: customers and agents.
		r.Get("/", h.start)
		r.Post("/ticket/new", h.createTicket)
		r.Get("/ticket", h.viewTicket)
		r.Post("/ticket/comment", h.commentTicket)
		r.Get("/ticket/attachment", h.attachment)
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
