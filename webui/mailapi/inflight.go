package mailapi

import (
	"net/http"
	"strconv"
	"time"
)

// LimitInFlight lets at most n requests into h at once, so that large
// bodies in flight cannot use unbounded memory; a request past the limit is
// answered at once with 503, a Retry-After of retryAfter and the usual JSON
// error, before its body is read.
func LimitInFlight(h http.Handler, n int, retryAfter time.Duration) http.Handler {
	slots := make(chan struct{}, n)
	secs := strconv.Itoa(max(1, int(retryAfter.Round(time.Second)/time.Second)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			h.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", secs)
			// The unread body is not worth keeping the connection for.
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusServiceUnavailable, "too many Mail API requests at once; the request was not stored, try again after "+secs+" s")
		}
	})
}
