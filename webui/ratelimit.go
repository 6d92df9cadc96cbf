package webui

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a rate limit per client address: N requests per Per, as a token
// bucket that holds N and refills evenly over Per. The zero Rate is no
// limit.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate reads a rate such as "20/1h" or "600/1m"; "0" is no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	r := Rate{}
	var err error
	r.N, err = strconv.Atoi(n)
	if ok && err == nil {
		r.Per, err = time.ParseDuration(per)
	}
	if !ok || err != nil || r.N < 1 || r.Per <= 0 {
		return Rate{}, fmt.Errorf("%q is not a rate such as 20/1h (requests per duration), or 0 for no limit", s)
	}
	return r, nil
}

// String is the rate as ParseRate reads it.
func (r Rate) String() string {
	if r.N == 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%v", r.N, r.Per)
}

// maxBuckets bounds the memory of a limiter: when it tracks this many
// addresses, the buckets that have refilled are dropped, and if that is not
// enough, all of them (a flood from that many addresses is the listener's
// to stop).
const maxBuckets = 100_000

// limiter is a token bucket per client address. It lives in one daemon's
// memory: with several daemons behind a load balancer each limits on its
// own, so a client gets up to the rate times the number of daemons, which
// is acceptable for what it is for (stopping floods of forms).
type limiter struct {
	rate    Rate
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(r Rate, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{rate: r, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for key; when none is left it returns false and how
// long until the next one.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	perToken := l.rate.Per / time.Duration(l.rate.N)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(l.rate.N), last: now}
		l.buckets[key] = b
	}
	b.tokens = min(float64(l.rate.N), b.tokens+float64(now.Sub(b.last))/float64(perToken))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(perToken))
}

// sweep drops the buckets that are full again; l.mu is held.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.last) >= l.rate.Per {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}

// retryText says when to try again, for people.
func retryText(wait time.Duration) string {
	if wait < time.Minute {
		n := max(1, int(math.Ceil(wait.Seconds())))
		return fmt.Sprintf("%d second%s", n, plural(n))
	}
	n := int(math.Ceil(wait.Minutes()))
	return fmt.Sprintf("%d minute%s", n, plural(n))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// limitForms limits the anonymous forms (a new ticket, a customer's
// comment) per client address; logged-in agents are not limited. It must
// run after loadSession.
func (h *handler) limitForms(l *limiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if currentAgent(r) != nil {
				next.ServeHTTP(w, r)
				return
			}
			ok, wait := l.allow(clientKey(r.RemoteAddr))
			if ok {
				next.ServeHTTP(w, r)
				return
			}
			h.log.Info("form rate limited", "path", r.URL.Path, "client", clientKey(r.RemoteAddr))
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			text := fmt.Sprintf("Too many forms sent from your address; please try again in %s.", retryText(wait))
			h.render(w, r, http.StatusTooManyRequests, pageMessage, page{Data: message{Title: "Too many requests", Text: text}})
		})
	}
}

// limitAPI limits the Mail API per client address, answering in its JSON
// error format.
func (h *handler) limitAPI(l *limiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := l.allow(clientKey(r.RemoteAddr))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		h.log.Info("mail api rate limited", "path", r.URL.Path, "client", clientKey(r.RemoteAddr))
		secs := int(math.Ceil(wait.Seconds()))
		b, _ := json.Marshal(map[string]any{"status": http.StatusTooManyRequests,
			"message": fmt.Sprintf("too many requests from your address; try again in %s", retryText(wait))})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(append(b, '\n'))
	})
}
