package parse

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// BenchmarkSmallMessage parses the 2 KiB message of bench/smtp.sh
// (smtp-source -l 2048) through the spool, as the SMTP gateway does;
// allocs/op and B/op are what each message of a burst costs the collector:
// go test ./mailgw/parse -run '^$' -bench SmallMessage
func BenchmarkSmallMessage(b *testing.B) {
	var msg strings.Builder
	msg.WriteString("From: <customer@example.com>\r\nTo: <support@localhost>\r\n" +
		"Date: Tue,  1 Dec 2026 10:35:38 +0000 (UTC)\r\nMessage-Id: <6fb3.0003.0000@vm>\r\n\r\n")
	for i := 1; msg.Len() < 2200; i++ {
		msg.WriteString(strings.Repeat("X", 78) + "\r\n")
	}
	data := []byte(msg.String())
	sp := NewSpool(SpoolConfig{Dir: b.TempDir()})
	lim := DefaultLimits()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_, release, err := sp.Parse(context.Background(), bytes.NewReader(data), lim)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}
