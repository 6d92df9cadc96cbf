package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// hostile are strings that need every kind of escaping encoding/json does.
var hostile = []string{
	"",
	"plain ascii",
	`quote " backslash \ slash /`,
	"<script>alert('x')</script> & more",
	"\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f",
	"Grüße, 日本語, emoji 🎫",
	"line\u2028separator\u2029paragraph",
	"invalid \xff\xfe utf-8 \xc3 cut \xe2\x82 and \xed\xa0\x80 surrogate",
	"\xf4\x90\x80\x80 above U+10FFFF",
	"ends in a lone \xc3",
	"\ufffd a real replacement character",
	strings.Repeat("long line of text ", 1000),
}

// marshal is what AppendJSON must write: json.Marshal by reflection.
func marshal(t testing.TB, m Mail) []byte {
	t.Helper()
	type plain Mail // no methods: plain struct marshaling
	want, err := json.Marshal(plain(m))
	if err != nil {
		t.Fatal(err)
	}
	return want
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	created := time.Date(2026, 11, 30, 21, 58, 21, 336326220, time.UTC)
	cases := map[string]Mail{
		"contract fields only": {ID: "1", From: "support@help.example", To: "c@example.com", Subject: "s", Message: "m"},
		"all empty":            {},
		"everything": {ID: "42", From: "support@help.example", To: "c@example.com",
			Subject: `[Ticket "abcdefghijklmnop"] Printer`, Message: "Hello,\n\nfollow it here: https://help.example/ticket?id=abcdefghijklmnop&x=<y>\n",
			TicketID: "abcdefghijklmnop", ReplyTo: "support+abcdefghijklmnop@help.example", MessageID: "m1.tt@help.example",
			InReplyTo: "in@example.com", References: []string{"a@example.com", "b@example.com"}, CreatedAt: created},
		"empty references":    {ID: "2", References: []string{}},
		"one empty reference": {ID: "3", References: []string{""}},
		"whole second":        {ID: "4", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		"other zone":          {ID: "5", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", -5*3600-30*60))},
		"before 1970":         {ID: "6", CreatedAt: time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC)},
	}
	for i, s := range hostile {
		cases["hostile "+string(rune('a'+i))] = Mail{ID: s, From: s, To: s, Subject: s, Message: s, TicketID: s,
			ReplyTo: s, MessageID: s, InReplyTo: s, References: []string{s, s}, CreatedAt: created}
	}
	for name, m := range cases {
		got := m.AppendJSON([]byte("prefix"))
		want := append([]byte("prefix"), marshal(t, m)...)
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got  %s\n want %s", name, got, want)
		}
	}
}

// TestAppendJSONEveryByte checks every single byte value and every
// two-byte sequence starting with a non-ASCII byte.
func TestAppendJSONEveryByte(t *testing.T) {
	for c := range 256 {
		for d := range 256 {
			if c < 0x80 && d > 0 {
				break
			}
			s := string([]byte{byte(c)})
			if c >= 0x80 {
				s += string([]byte{byte(d)})
			}
			// Alone, and among plain text read eight bytes at a time.
			for _, s := range []string{s, "plain text " + s + " more plain text", "12345678" + s} {
				m := Mail{Subject: s}
				if got, want := m.AppendJSON(nil), marshal(t, m); !bytes.Equal(got, want) {
					t.Fatalf("%q: got %s, want %s", s, got, want)
				}
			}
		}
	}
}

// TestMayNeedEscape tries every pair of byte values in every pair of
// places among safe bytes: a byte that needs a look is never missed.
func TestMayNeedEscape(t *testing.T) {
	needs := func(c byte) bool {
		return c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&'
	}
	for i := range 8 {
		for j := i + 1; j < 8; j++ {
			for c := range 256 {
				for d := range 256 {
					w := []byte("a~ =_}!(")
					w[i], w[j] = byte(c), byte(d)
					x := uint64(0)
					for k := 7; k >= 0; k-- {
						x = x<<8 | uint64(w[k])
					}
					if (needs(byte(c)) || needs(byte(d))) && !mayNeedEscape(x) {
						t.Fatalf("%q: missed", w)
					}
				}
			}
		}
	}
	if mayNeedEscape(load64("plain ok")) {
		t.Error("plain text needs a look")
	}
}

func FuzzAppendJSON(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s, int64(1764539901336326220))
	}
	f.Fuzz(func(t *testing.T, a, b string, nanos int64) {
		m := Mail{ID: a, From: b, To: a + b, Subject: b + a, Message: a, TicketID: b, ReplyTo: a,
			References: []string{a, b}, CreatedAt: time.Unix(0, nanos).UTC()}
		if got, want := m.AppendJSON(nil), marshal(t, m); !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
		// The id and what follows it, encoded apart, are the same.
		noID := m
		noID.ID = b
		if got, want := noID.AppendAfterID(appendString([]byte(`{"id":`), m.ID)), m.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("id and AppendAfterID: got  %s\nwant %s", got, want)
		}
		// The result is valid JSON that reads back as the mail.
		var back Mail
		if err := json.Unmarshal(m.AppendJSON(nil), &back); err != nil {
			t.Fatalf("does not read back: %v", err)
		}
		if utf8.ValidString(a) && back.Message != a {
			t.Fatalf("message %q read back as %q", a, back.Message)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	m := Mail{ID: "12345", From: "support@help.example", To: "customer@example.com",
		Subject: `[Ticket "abcdefghijklmnop"] Printer on fire`, Message: strings.Repeat("Hello, the printer is on fire again.\n", 8),
		TicketID: "abcdefghijklmnop", ReplyTo: "support+abcdefghijklmnop@help.example", MessageID: "18ecf18428ca8b2380ce9ddcce502aa0.tt@help.example",
		InReplyTo: "18ecf18428b6222b4fc81f7f41c9865a.tt@help.example", References: []string{"18ecf18428b6222b4fc81f7f41c9865a.tt@help.example"},
		CreatedAt: time.Date(2026, 11, 30, 21, 58, 21, 336326220, time.UTC)}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = m.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := strings.Repeat("A plain line of text without anything to escape in it, long enough. ", 20)
	b.SetBytes(int64(len(s)))
	var buf []byte
	for b.Loop() {
		buf = appendString(buf[:0], s)
	}
}
