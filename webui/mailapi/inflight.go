package mailapi

import (
	"net/http"
	"strconv"
	"time"
)

// Small requests (a declared body of at most smallBody bytes, as a customer
// message posted to /api/receive) have smallSlots turns of their own, so
// that they are committed together in large groups: at most 16 MiB.
const (
	smallBody  = 64 << 10
	smallSlots = 256
)

// LimitInFlight lets at most n requests into h at once, so that large
// bodies in flight cannot use unbounded memory; requests with a small
// declared body (Content-Length, which net/http enforces) have smallSlots
// turns besides. A request past the limit waits for a turn, its body
// unread, for up to retryAfter; when none comes it is answered with 503, a
// Retry-After of retryAfter and the usual JSON error. Waiting instead of
// refusing at once keeps many small requests (64 connections posting
// customer messages) free of errors, while memory stays bounded.
func LimitInFlight(h http.Handler, n int, retryAfter time.Duration) http.Handler {
	large := make(chan struct{}, n)
	small := make(chan struct{}, smallSlots)
	secs := strconv.Itoa(max(1, int(retryAfter.Round(time.Second)/time.Second)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slots := large
		if r.ContentLength >= 0 && r.ContentLength <= smallBody {
			slots = small
		}
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
				writeError(w, http.StatusServiceUnavailable, "too many Mail API requests at once; the request was not stored, try again after "+secs+" s")
				return
			}
		}
		defer func() { <-slots }()
		h.ServeHTTP(w, r)
	})
}
