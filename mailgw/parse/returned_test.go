package parse

import (
	"slices"
	"testing"
)

// TestBounceReturnedHeader: a bounce hands core the Subject and the
// addresses of the message it returns, from text/rfc822-headers as from
// message/rfc822, so that core can thread it by tag or plus-address.
func TestBounceReturnedHeader(t *testing.T) {
	tests := []struct {
		file    string
		subject string
		addrs   []string
	}{
		{"bounce_dsn.eml", `[Ticket "abcdefghijklmnop"] Printer on fire`, []string{"support@tickets.example.com", "gone@example.net"}},
		{"bounce_returned_message.eml", "Re: Drucker brännt",
			[]string{"smith@agents.example.com", "gone@example.net", "support+abcdefghijklmnop@tickets.example.com"}},
	}
	for _, tt := range tests {
		m := parseFile(t, tt.file)
		if m.ReturnedSubject != tt.subject || !slices.Equal(m.ReturnedAddresses, tt.addrs) {
			t.Errorf("%s: returned subject %q, addresses %q; want %q, %q", tt.file, m.ReturnedSubject, m.ReturnedAddresses, tt.subject, tt.addrs)
		}
	}
	// Only a bounce has a returned message: a forwarded mail does not.
	if m := parseFile(t, "reply_inreplyto.eml"); m.ReturnedSubject != "" || m.ReturnedAddresses != nil {
		t.Errorf("not a bounce: returned %q %q", m.ReturnedSubject, m.ReturnedAddresses)
	}
}
