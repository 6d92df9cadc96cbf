package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"trivialtickets/mailgw/smtpin"
)

// The durable inbound queue of the SMTP and LMTP doors: they answer 250
// once a message is a row of it, and its worker, which runs in every
// daemon (also without a mail door, to drain what a previous run left),
// turns the rows into tickets.

func init() {
	settings = append(settings, setting{name: "inbound-max-queued", def: "100000",
		help: "messages waiting in the inbound queue to become tickets before the SMTP and LMTP doors answer 451 (try again later)",
		set:  func(c *Config, v string) (err error) { c.InboundMaxQueued, err = positiveInt(v, 1); return }})
}

// addInboundQueue makes the queue and its worker, its metrics and its
// /healthz line.
func (d *daemon) addInboundQueue(context.Context) error {
	q := smtpin.NewQueue(smtpin.QueueConfig{Service: d.svc, Owner: d.id, MaxQueued: d.c.InboundMaxQueued,
		LargeBytes: int(d.c.Limits.SpoolThreshold),
		Logger:     d.log.With("part", "inbound-queue")})
	d.inq = q
	d.met.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ticketd_inbound_queue_depth",
			Help: "Accepted messages waiting in the inbound queue to become tickets."},
			func() float64 { return float64(q.Depth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ticketd_inbound_queue_oldest_age_seconds",
			Help: "How long the oldest message of the inbound queue has waited; 0 when it is empty."},
			func() float64 { return q.OldestAge().Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ticketd_inbound_queue_failing",
			Help: "Messages of the inbound queue whose processing failed at least once; they are tried again."},
			func() float64 { return float64(q.Failing()) }),
	)
	d.status.add(func() string {
		return fmt.Sprintf("inbound queue: %d waiting (limit %d), oldest %s, %d failing", q.Depth(), d.c.InboundMaxQueued,
			q.OldestAge().Round(100_000_000), q.Failing())
	})
	d.jobs = append(d.jobs, q.Run)
	return nil
}
