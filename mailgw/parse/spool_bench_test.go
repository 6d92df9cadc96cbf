package parse

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

// BenchmarkLargeMessage parses a 24 MiB message with a base64 attachment
// read from a stream, whole in memory (Parse) and through the spool; B/op
// is the memory one message costs:
// go test ./mailgw/parse -run '^$' -bench LargeMessage -benchtime 5x
func BenchmarkLargeMessage(b *testing.B) {
	var msg bytes.Buffer
	msg.WriteString("From: a@example.org\r\nSubject: Logs\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\nLogs attached.\r\n--B\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Disposition: attachment; filename=logs.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	raw := make([]byte, 18<<20)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 0 {
		k := min(76, len(enc))
		msg.WriteString(enc[:k] + "\r\n")
		enc = enc[k:]
	}
	msg.WriteString("--B--\r\n")
	data := msg.Bytes()
	b.Run("memory", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Parse(bytes.NewReader(data), Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("spool", func(b *testing.B) {
		sp := NewSpool(SpoolConfig{Dir: b.TempDir()})
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			_, release, err := sp.Parse(context.Background(), bytes.NewReader(data), Limits{})
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})
}

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
