package smtpin_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/parse"
)

// BenchmarkGateway delivers mails over loopback SMTP to the gateway on a
// real SQLite store, one connection per client (-cpu sets the clients),
// each message a new ticket: go test ./mailgw/smtpin -run '^$' -bench Gateway -cpu 10
func BenchmarkGateway(b *testing.B) {
	addr, _ := gateway(b, 25<<20)
	var n atomic.Int64
	body := strings.Repeat("Some text of a customer's mail, long enough to matter.\r\n", 30)
	b.RunParallel(func(pb *testing.PB) {
		c, err := smtp.Dial(addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			i := n.Add(1)
			msg := fmt.Sprintf("From: c%d@example.org\r\nTo: support@help.example\r\nSubject: Bench %d\r\nMessage-ID: <bench-%d@example.org>\r\n\r\n%s", i, i, i, body)
			if err := c.SendMail(fmt.Sprintf("c%d@example.org", i), []string{"support@help.example"}, strings.NewReader(msg)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkQueueForm compares what the inbound queue could store: the
// parsed message, encoded now and decoded by the worker (Encode, Decode),
// against the raw message, which the worker would parse again (Reparse):
// go test ./mailgw/smtpin -run '^$' -bench QueueForm
func BenchmarkQueueForm(b *testing.B) {
	raw := []byte("From: Customer <c1@example.org>\r\nTo: support@help.example\r\nSubject: Bench\r\n" +
		"Message-ID: <bench-1@example.org>\r\nDate: Tue, 1 Dec 2026 03:00:00 +0000\r\n\r\n" +
		strings.Repeat("Some text of a customer's mail, long enough to matter.\r\n", 36))
	m, err := parse.ParseBytes(raw, parse.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	enc, err := core.EncodeInbound(m)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := core.EncodeInbound(m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(enc)), "bytes")
	})
	b.Run("Decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := core.DecodeInbound(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Reparse", func(b *testing.B) {
		for b.Loop() {
			if _, err := parse.ParseBytes(raw, parse.DefaultLimits()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(raw)), "bytes")
	})
}
