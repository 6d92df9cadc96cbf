package mailapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trivialtickets/core"
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

// BenchmarkFetch20k measures GET /api/fetchMails with 20,000 pending mails
// (budget: under 150 ms, memory bounded by the page size):
// go test ./webui/mailapi -run '^$' -bench Fetch20k -benchtime 10x
func BenchmarkFetch20k(b *testing.B) {
	h, _, st := newAPI(b, nil)
	ctx := context.Background()
	const n = 20_000
	err := st.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateTicket(ctx, core.Ticket{ID: "aaaaaaaaaaaaaaaa", Subject: "s", Customer: "c@example.com",
			Status: core.StatusOpen, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			return err
		}
		for i := range n {
			m := core.OutMail{TicketID: "aaaaaaaaaaaaaaaa", From: "support@help.example", To: fmt.Sprintf("c%d@example.com", i),
				ReplyTo: "support+aaaaaaaaaaaaaaaa@help.example", Subject: `[Ticket "aaaaaaaaaaaaaaaa"] Printer`,
				Body:      "Hello,\n\nwe received your message and opened ticket aaaaaaaaaaaaaaaa.\nFollow it here: https://help.example/ticket?id=aaaaaaaaaaaaaaaa\n\nYour support team",
				MessageID: fmt.Sprintf("m%d.tt@help.example", i), InReplyTo: "x@example.com", References: []string{"x@example.com"},
				CreatedAt: time.Now()}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
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
