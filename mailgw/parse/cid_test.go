package parse

import (
	"reflect"
	"strings"
	"testing"
)

func TestCIDRefs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"none", "plain text without references", nil},
		{"html img", `<img src="cid:shot1@example.com">`, []string{"shot1@example.com"}},
		{"upper case scheme", `<img src=CID:Shot@x>`, []string{"Shot@x"}},
		{"unquoted, ends at >", `<img src=cid:d><a href="x">`, []string{"d"}},
		{"several", "cid:a cid:b\ncid:c(", []string{"a", "b", "c"}},
		{"empty reference", `cid:"x"`, nil},
		{"at the very end", "see cid:", nil},
		{"ends at tab and quote", "cid:a\tcid:b'", []string{"a", "b"}},
		{"non-ASCII kept", "cid:bild-ü@x ", []string{"bild-ü@x"}},
		{"inside a word", "acid:x", []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cidRefs(tt.in, 1000); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cidRefs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := cidRefs(strings.Repeat("cid:x ", 50), 3); len(got) != 3 {
		t.Errorf("max 3: got %d references", len(got))
	}
}

// BenchmarkParsePlain is the parse of one small plain-text message, the
// gateway's common case.
func BenchmarkParsePlain(b *testing.B) {
	msg := []byte("From: customer@example.com\r\nTo: support@localhost\r\nSubject: Printer\r\n" +
		"Message-ID: <1@example.com>\r\n\r\n" + strings.Repeat("The printer on floor 3 is out of paper again.\r\n", 40))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBytes(msg, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
