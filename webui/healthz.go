package webui

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// healthz tells load balancers whether the daemon can serve: GET /healthz
// answers 200 "ok" or 503 with the reason on one line. Lines after "ok" inform
// about parts that do not make the daemon unfit to serve (mail accounts).
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := h.health(ctx); err != nil {
			h.log.Warn("health check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			// One line: monitors and load balancers show the first.
			msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
			w.Write([]byte("unavailable: " + msg + "\n"))
			return
		}
	}
	w.Write([]byte("ok\n"))
	if h.status != nil {
		for _, l := range h.status() {
			w.Write([]byte(l + "\n"))
		}
	}
}
