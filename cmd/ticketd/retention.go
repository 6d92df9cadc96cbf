package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"trivialtickets/core"
)

// parseRetention reads the retention setting: a number of days such as
// 730d, or a Go duration such as 17520h; empty or 0 keeps tickets forever.
func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 && n <= 100*366 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a retention time such as 730d (days) or 17520h; 0 or empty keeps tickets forever", v)
}

// retentionEvery is how often the retention job looks for expired
// tickets: hourly, or four times per retention time when that is shorter
// than four hours.
func retentionEvery(retention time.Duration) time.Duration {
	return min(time.Hour, max(retention/4, time.Second))
}

// retentionMetrics counts what the retention job deleted.
type retentionMetrics struct {
	deleted *prometheus.CounterVec
}

func (m *metrics) addRetention() *retentionMetrics {
	r := &retentionMetrics{deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketd_retention_deleted_total",
		Help: "Rows deleted by this daemon's retention job (setting retention), by kind: tickets, entries, attachments, mails.",
	}, []string{"kind"})}
	for _, k := range []string{"tickets", "entries", "attachments", "mails"} {
		r.deleted.WithLabelValues(k)
	}
	m.reg.MustRegister(r.deleted)
	return r
}

func (r *retentionMetrics) add(d core.Deleted) {
	r.deleted.WithLabelValues("tickets").Add(float64(d.Tickets))
	r.deleted.WithLabelValues("entries").Add(float64(d.Entries))
	r.deleted.WithLabelValues("attachments").Add(float64(d.Attachments))
	r.deleted.WithLabelValues("mails").Add(float64(d.Mails))
}

// retentionJob is the retention job: it deletes what is past retention
// now and then, under the lease "retention", so that of several daemons on
// one database one does it at a time. It returns when ctx ends.
func retentionJob(retention time.Duration, svc *core.Service, met *metrics, leases *leaser, log *slog.Logger) func(context.Context) {
	counts := met.addRetention()
	every := retentionEvery(retention)
	return func(ctx context.Context) {
		leases.run(ctx, "retention", func(bool) {}, func(ctx context.Context) {
			for {
				d, err := svc.DeleteExpired(ctx, retention)
				counts.add(d)
				if d.Tickets > 0 {
					log.Info("retention: deleted tickets closed for longer than the retention time",
						"retention", retention, "deleted", d.String())
				}
				if err != nil && ctx.Err() == nil {
					log.Warn("retention: could not delete expired tickets; trying again later", "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(every):
				}
			}
		})
	}
}
