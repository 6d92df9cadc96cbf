package mailapi

import (
	"net/http"
	"strconv"
	"time"
)

// LimitInFlight lets at most n requests into h at once, so that large
// bodies in flight cannot use unbounded memory. A request past the limit
// waits for a turn, its body unread, for up to retryAfter; when none comes
// it is answered with 503, a Retry-After of retryAfter and the usual JSON
// error. Waiting instead of refusing at once keeps many small requests
// (64 connections posting customer messages) free of errors, while memory
// stays bounded by n bodies.
func LimitInFlight(h http.Handler, n int, retryAfter time.Duration) http.Handler {
	slots := make(chan struct{}, n)
	secs := strconv.Itoa(max(1, int(retryAfter.Round(time.Second)/time.Second)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			wait := time.NewTimer(retryAfter)
			defer wait.Stop()
			select {
			case slots <- struct{}{}:
			case <-r.Context().Done():
				return // the client went away
			case <-wait.C:
				w.Header().Set("Retry-After", secs)
				// The unread body is not worth keeping the connection for.
				w.Header().Set("Connection", "close")
				writeError(w, http.StatusServiceUnavailable, "too many Mail API requests at once; try again after "+secs+" s")
				return
			}
		}
		defer func() { <-slots }()
		h.ServeHTTP(w, r)
	})
}
