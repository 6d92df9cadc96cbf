package compose_test

import (
	"bytes"
	"testing"

	"trivialtickets/mailgw/compose"
	"trivialtickets/mailgw/parse"
)

// TestPersonalMailNotAutoSubmitted: an agent's answer goes out without
// Auto-Submitted (RFC 3834 §5 keeps it for automatic mail), but with
// X-Auto-Response-Suppress and the loop header; an automatic notice keeps
// all three.
func TestPersonalMailNotAutoSubmitted(t *testing.T) {
	for _, personal := range []bool{false, true} {
		m := baseMail()
		m.Personal = personal
		raw, err := compose.Build(m, date, "tickets.example.com")
		if err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(raw, []byte("Auto-Submitted:")); has == personal {
			t.Errorf("personal %v: Auto-Submitted present %v:\n%s", personal, has, raw)
		}
		got, err := parse.Parse(bytes.NewReader(raw), parse.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if !got.LoopMarker || got.AutoResponseSuppress != "All" {
			t.Errorf("personal %v: loop signals %v %q", personal, got.LoopMarker, got.AutoResponseSuppress)
		}
	}
}
