package parse

import "testing"

// FuzzCleanASCII checks that the single pass for plain ASCII text gives
// what the general path gives, whenever it takes the text.
func FuzzCleanASCII(f *testing.F) {
	for _, s := range []string{"", "Hello\r\nWorld\r\n", "a\rb", "tab\there\n", "x\r", "\r\n\r\n", "nul\x00", "del\x7f",
		"caf\xc3\xa9\r\n", "bad \xff byte", "\ufeffbom"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := cleanASCII(s)
		if !ok {
			return
		}
		if want := cleanAny(s); got != want {
			t.Errorf("cleanASCII(%q) = %q, the general path gives %q", s, got, want)
		}
	})
}
