package core

import (
	"strings"
	"testing"
)

var plainAddressCases = []string{
	"c@example.com", "s1234@example.com", "support+abcdefghijklmnop@help.example", "a.b.c@x-y.example",
	"!#$%&'*+-/=?^_`{|}~@example.com", "x@localhost", "x@127.0.0.1", "x@[127.0.0.1]", "x@a", "x@1-a.b2",
	"", "@", "@example.com", "x@", "x@@example.com", "a@b@example.com", ".x@example.com", "x.@example.com",
	"x..y@example.com", "x@.example.com", "x@example.com.", "x@example..com", "x@-example.com", "x@example-.com",
	"x@Example.com", "X@example.com", "x@exa_mple.com", "x y@example.com", " x@example.com", "x@example.com ",
	`"x"@example.com`, "x(c)@example.com", "<x@example.com>", "x@example.com,y@example.com", "Name <x@example.com>",
	"x\n@example.com", "x@example.com\r\n", "grüße@example.com", "x@bücher.example", "x@xn--bcher-kva.example",
	"x\x00@example.com", "x@" + strings.Repeat("a", 63) + ".com", "x@" + strings.Repeat("a", 64) + ".com",
	strings.Repeat("a", 240) + "@example.com", strings.Repeat("a", 243) + "@example.com",
}

// TestPlainAddress holds the fast path to ParseAddress: what it accepts,
// ParseAddress returns unchanged.
func TestPlainAddress(t *testing.T) {
	accepted := 0
	for _, s := range plainAddressCases {
		a, err := ParseAddress(s)
		single := err == nil && a == s
		if plainAddress(s) {
			accepted++
			if !single {
				t.Errorf("plainAddress(%q) = true, but ParseAddress gives %q, %v", s, a, err)
			}
		}
		if SingleAddress(s) != single {
			t.Errorf("SingleAddress(%q) = %v, want %v", s, !single, single)
		}
	}
	if accepted < 8 {
		t.Errorf("plainAddress accepted only %d of the common forms", accepted)
	}
}

func FuzzPlainAddress(f *testing.F) {
	for _, s := range plainAddressCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainAddress(s) {
			if a, err := ParseAddress(s); err != nil || a != s {
				t.Fatalf("plainAddress(%q) = true, but ParseAddress gives %q, %v", s, a, err)
			}
		}
	})
}

// BenchmarkSingleAddress: the check core makes of every mail it hands to
// GET /api/fetchMails.
func BenchmarkSingleAddress(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !SingleAddress("customer.name+tag@mail.example.com") {
			b.Fatal("not single")
		}
	}
}
