package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"trivialtickets/core"
)

// BenchmarkPendingMails20k reads 20,000 pending mails the way GET
// /api/fetchMails does, page by page:
// go test ./store/sqlite -run '^$' -bench PendingMails20k
func BenchmarkPendingMails20k(b *testing.B) {
	st, err := Open(context.Background(), filepath.Join(b.TempDir(), "pending.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	const n = 20_000
	if err := queueBenchMails(ctx, st, n); err != nil {
		b.Fatal(err)
	}
	for _, page := range []int{500, 2000} {
		b.Run(fmt.Sprintf("page%d", page), func(b *testing.B) {
			benchPending(b, st, page, n)
		})
	}
}

// BenchmarkPendingListings20k is BenchmarkPendingMails20k with the mails
// queued with their listings, as the daemon queues them:
// go test ./store/sqlite -run '^$' -bench PendingListings20k
func BenchmarkPendingListings20k(b *testing.B) {
	st, err := Open(context.Background(), filepath.Join(b.TempDir(), "pending.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	const n = 20_000
	if err := queueBenchMails(ctx, st, n, withBenchListing); err != nil {
		b.Fatal(err)
	}
	b.Run("page500", func(b *testing.B) { benchPending(b, st, 500, n) })
}

// withBenchListing gives m a listing of the length the Mail API makes of
// such a mail.
func withBenchListing(m *core.OutMail) {
	m.Listing = `,"from":"` + m.From + `","to":"` + m.To + `","subject":"` + m.Subject + `","message":"` +
		strings.ReplaceAll(m.Body, "\n", `\n`) + `","ticketId":"` + m.TicketID + `","replyTo":"` + m.ReplyTo +
		`","messageId":"` + m.MessageID + `","inReplyTo":"` + m.InReplyTo + `","references":["` + m.InReplyTo +
		`"],"createdAt":"2026-12-01T03:10:41.516008086Z"}` + strings.Repeat(" ", 200)
}

// benchPending reads all n pending mails of st page by page.
func benchPending(b *testing.B, st core.Store, page, n int) {
	ctx := context.Background()
	{
		{
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				got, after := 0, int64(0)
				for {
					var ms []core.OutMail
					err := st.View(ctx, func(tx core.Tx) error {
						var err error
						ms, err = tx.PendingMails(ctx, after, page)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
					got += len(ms)
					if len(ms) < page {
						break
					}
					after = ms[len(ms)-1].ID
				}
				if got != n {
					b.Fatalf("%d mails, want %d", got, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/mail")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/mail")
		}
	}
}

// cpuTime is the CPU time the process has used, user and system: on a
// machine shared with other work it varies less than the elapsed time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// queueBenchMails queues n confirmation-like mails, each to its own
// ticket; mod, if given, changes each before it is queued.
func queueBenchMails(ctx context.Context, st core.Store, n int, mod ...func(*core.OutMail)) error {
	now := time.Now()
	return st.Update(ctx, func(tx core.Tx) error {
		for i := range n {
			id := fmt.Sprintf("t%015d", i)
			if err := tx.CreateTicket(ctx, core.Ticket{ID: id, Subject: "load", Customer: fmt.Sprintf("s%d@example.com", i),
				Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			m := core.OutMail{TicketID: id, From: "support@help.example", To: fmt.Sprintf("s%d@example.com", i),
				ReplyTo: "support+" + id + "@help.example", Subject: fmt.Sprintf(`[Ticket "%s"] load %d`, id, i),
				Body:      "Hello,\n\nwe have received your request and opened a ticket for it.\n\nFollow the ticket and add comments here:\nhttps://help.example/ticket?id=" + id + "\n\n-- \nTrivial Tickets helpdesk\n",
				MessageID: fmt.Sprintf("%d.tt@help.example", i), InReplyTo: fmt.Sprintf("in%d.tt@help.example", i),
				References: []string{fmt.Sprintf("in%d.tt@help.example", i)}, Automatic: true, CreatedAt: now}
			for _, f := range mod {
				f(&m)
			}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
}
