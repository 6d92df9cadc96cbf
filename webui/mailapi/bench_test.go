package mailapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"trivialtickets/webui/mailapi"
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
			req, _ := http.NewRequest(http.MethodPost, srv.URL+mailapi.PathReceive, strings.NewReader(body))
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
