package mailapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi"
	"trivialtickets/webui/mailapi/wire"
)

// BenchmarkReceive measures POST /api/receive over HTTP, in parallel, on a
// real SQLite store: every request opens a ticket and queues its
// confirmation in one transaction.
func BenchmarkReceive(b *testing.B) {
	h, _, _ := newAPI(b, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	hc := srv.Client()
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// A new address each time keeps the hourly cap on
			// confirmations out of the measurement.
			i := n.Add(1)
			body := fmt.Sprintf(`{"from":"bench%d@example.com","subject":"benchmark %d","message":"Hello from the benchmark."}`, i, i)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.PathReceive, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkFetch measures GET /api/fetchMails with 20,000 and 80,000
// pending mails (budget: under 150 ms for 20,000), reporting the time per
// mail and the peak of the live heap during the fetch above the level
// before it, which the paging keeps bounded: it must not grow with the
// queue.
// go test ./webui/mailapi -run '^$' -bench Fetch -benchtime 10x
//
// The mails have listings, as the daemon queues them; "unlisted" are mails
// queued before the outbox kept listings, encoded at every fetch.
func BenchmarkFetch(b *testing.B) {
	for _, c := range []struct {
		n      int
		listed bool
	}{{20_000, true}, {80_000, true}, {20_000, false}} {
		name := fmt.Sprintf("%dk", c.n/1000)
		if !c.listed {
			name += "-unlisted"
		}
		n := c.n
		b.Run(name, func(b *testing.B) {
			h, _, st := newAPI(b, nil)
			queueMails(b, st, n, func(_ int, m *core.OutMail) {
				if c.listed {
					m.Listing = mailapi.ListMail(m)
				}
			})
			runtime.GC()
			base := liveHeap()
			peak := watchHeap()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, wire.PathFetchMails, nil)
				req.Header.Set("Authorization", "Bearer "+testToken)
				w := &countingWriter{header: http.Header{}}
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK || w.n < n*100 {
					b.Fatalf("status %d, %d bytes", w.code, w.n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/mail")
			p := peak()
			b.ReportMetric(float64(p-min(base, p))/(1<<20), "peak-live-MiB")
		})
	}
}

// liveHeap is the live heap as the last collection marked it.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchHeap samples liveHeap every millisecond until the returned function
// is called, which returns the largest sample.
func watchHeap() func() uint64 {
	stop := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, liveHeap())
			select {
			case <-t.C:
			case <-stop:
				result <- peak
				return
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return <-result
	}
}

// countingWriter is a ResponseWriter that only counts, like a client that
// reads as fast as it can; httptest's recorder would measure its own
// buffer growing.
type countingWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *countingWriter) Header() http.Header  { return w.header }
func (w *countingWriter) WriteHeader(code int) { w.code = code }
func (w *countingWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
