package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"trivialtickets/core"
	"trivialtickets/mailgw/outbound"
)

// metrics is the daemon's Prometheus registry, served at /metrics.
type metrics struct {
	reg      *prometheus.Registry
	received *prometheus.CounterVec
	requests *prometheus.HistogramVec
	pages    *prometheus.CounterVec
}

// newMetrics makes the registry with the counters that need nothing
// else; addOutbox, addDispatcher and the others add the rest.
func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticketd_messages_received_total",
			Help: "Inbound messages by door (web, api, smtp, imap) and outcome (created, entry, duplicate, automatic, error).",
		}, []string{"door", "outcome"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ticketd_http_request_duration_seconds",
			Help:    "HTTP requests by route pattern, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "code"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticketd_page_cache_lookups_total",
			Help: "Lookups of customers' ticket pages in this daemon's page cache, by result (hit: sent from the cache; miss: rendered).",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.received, m.requests, m.pages,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// addOutbox exports the outbox depth, read from svc at each scrape.
func (m *metrics) addOutbox(svc *core.Service) {
	m.reg.MustRegister(&outboxCollector{svc: svc})
}

// handler serves the registry.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observeReceive counts one Receive; it is core.Config.OnReceive.
func (m *metrics) observeReceive(door string, res core.ReceiveResult, err error) {
	outcome := "entry"
	switch {
	case err != nil:
		outcome = "error"
	case res.Duplicate:
		outcome = "duplicate"
	case res.Automatic != "":
		outcome = "automatic"
	case res.Created:
		outcome = "created"
	}
	m.received.WithLabelValues(door, outcome).Inc()
}

// observePageCache counts one page cache lookup; it is
// webui.Config.ObservePageCache.
func (m *metrics) observePageCache(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.pages.WithLabelValues(result).Inc()
}

// observeRequest records one HTTP request; it is webui.Config.ObserveRequest.
func (m *metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// addDispatcher exports the relay dispatcher's counters.
func (m *metrics) addDispatcher(d *outbound.Dispatcher) {
	for _, c := range []struct {
		result string
		get    func(outbound.Stats) int64
	}{
		{"sent", func(s outbound.Stats) int64 { return s.Sent }},
		{"deferred", func(s outbound.Stats) int64 { return s.Deferred }},
		{"failed", func(s outbound.Stats) int64 { return s.Failed }},
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "ticketd_relay_deliveries_total",
			Help:        "Delivery attempts through the SMTP relay by this daemon, by result.",
			ConstLabels: prometheus.Labels{"result": c.result},
		}, func() float64 { return float64(c.get(d.Stats())) }))
	}
}

// outboxCollector reports the outbox depth from the store at each scrape,
// so that it is right with several daemons on one database.
type outboxCollector struct {
	svc *core.Service
}

var outboxDesc = prometheus.NewDesc("ticketd_outbox_mails", "Outbox mails by state (pending, failed, bounced).", []string{"state"}, nil)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDesc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.svc.OutboxCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n.Bounced), "bounced")
}

// metricsOnWebPort decides where /metrics is served. With metrics-listen,
// on that listener only (nil for the web port). Otherwise on the web port
// behind a bearer token from metrics-token-file, or from metrics-token in
// the data directory, made on first start: Prometheus reads it with
// authorization.credentials_file.
func metricsOnWebPort(c Config, h http.Handler, log *slog.Logger) (http.Handler, string, error) {
	if c.MetricsListen != "" {
		return nil, "", nil
	}
	path := c.MetricsTokenFile
	if path == "" {
		path = filepath.Join(c.Data, metricsTokenFile)
	}
	token, created, err := loadOrCreateTokenFile(path, "metrics token")
	if err != nil {
		return nil, "", fmt.Errorf("setting metrics-token-file: %w", err)
	}
	if created {
		log.Info("made a metrics token", "file", path)
	}
	return h, token, nil
}

// metricsOnly serves h at GET /metrics and nothing else, for the metrics
// listener.
func metricsOnly(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return mux
}
