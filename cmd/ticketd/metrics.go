package main

import (
	"context"
	"net/http"
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
}

func newMetrics(svc func() *core.Service) *metrics {
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
	}
	m.reg.MustRegister(m.received, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&outboxCollector{svc: svc})
	return m
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
	svc func() *core.Service
}

var outboxDesc = prometheus.NewDesc("ticketd_outbox_mails", "Outbox mails by state (pending, failed, bounced).", []string{"state"}, nil)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDesc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.svc().OutboxCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n.Bounced), "bounced")
}
