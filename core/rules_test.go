package core

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"alice@example.com", "alice@example.com", ""},
		{" Alice@Example.COM ", "Alice@example.com", ""},
		{"a.b+tag@sub.example.org", "a.b+tag@sub.example.org", ""},
		{"x@localhost", "x@localhost", ""},
		{"", "", "empty"},
		{"x@", "", `"x@" is not a valid e-mail address`},
		{"@example.com", "", "not a valid"},
		{"no-at-sign", "", "not a valid"},
		{"Alice <alice@example.com>", "", "not a valid"},
		{"a@b.com, c@d.com", "", "not a valid"},
		{"evil@example.com\r\nBcc: x@y", "", "not a valid"},
		{"a@-bad-.com", "", "not a valid"},
		{"a@exa mple.com", "", "not a valid"},
		{strings.Repeat("a", 250) + "@example.com", "", "longer than"},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAddress(%q) error = %v, want it to say %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTag(t *testing.T) {
	id := "abcdefghijklmnop"
	tests := []struct {
		subject string
		want    string
	}{
		{`[Ticket "abcdefghijklmnop"] Printer`, id},
		{`Re: [Ticket "abcdefghijklmnop"] Printer`, id},
		{`AW: Fwd: [ticket "ABCDEFGHIJKLMNOP"] Printer`, id},
		{`[ Ticket  " abcdefghijklmnop " ]`, id},
		{`[Ticket "short"] Printer`, ""},
		{`[Ticket "abcdefghijklmno1"]`, ""}, // 1 is not in the alphabet
		{`Ticket abcdefghijklmnop`, ""},
		{``, ""},
		{`Re: [Ticket "aabcabcdefghijklmnop"] Printer`, "aabcabcdefghijklmnop"}, // 20 characters, as made now
		{`[Ticket "AABCABCDEFGHIJKLMNOP"]`, "aabcabcdefghijklmnop"},
		{`[Ticket "abcdefghijklmnopq"]`, ""},     // 17
		{`[Ticket "abcdefghijklmnopqrs"]`, ""},   // 19
		{`[Ticket "abcdefghijklmnopqrstu"]`, ""}, // 21
	}
	for _, tt := range tests {
		got, ok := ParseTag(tt.subject)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ParseTag(%q) = %q, %v; want %q", tt.subject, got, ok, tt.want)
		}
	}
	if got := StripTag(`Re: [Ticket "abcdefghijklmnop"]  Printer`); got != "Re: Printer" {
		t.Errorf("StripTag = %q", got)
	}
}

func TestNewTicketID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewTicketID()
		if len(id) != TicketIDLength || !ValidTicketID(id) {
			t.Fatalf("NewTicketID() = %q is not valid", id)
		}
		if seen[id] {
			t.Fatalf("NewTicketID() repeated %q", id)
		}
		seen[id] = true
		if got, _ := ParseTag("Re: " + Tag(id)); got != id {
			t.Fatalf("tag of %q parses as %q", id, got)
		}
	}
}

// TestTicketIDsOfOneMomentLieTogether checks what the clock part of an id
// is for: ids made close together in time share their first characters, so
// that they lie side by side in an index, whatever their random part.
func TestTicketIDsOfOneMomentLieTogether(t *testing.T) {
	at := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	a, b := newTicketID(at), newTicketID(at.Add(time.Millisecond))
	if a[:3] != b[:3] || a[3] == b[3] {
		t.Errorf("ids one millisecond apart %q and %q: want the first three characters shared and the fourth apart", a, b)
	}
	if c := newTicketID(at); c[:4] != a[:4] || c[4:] == a[4:] {
		t.Errorf("ids of one millisecond %q and %q: want the clock part shared and the random part apart", a, c)
	}
	wrapped := newTicketID(at.Add(1 << ticketIDClockBits * time.Millisecond))
	if wrapped[:4] != a[:4] {
		t.Errorf("the clock part wraps after %d ms: %q against %q", 1<<ticketIDClockBits, wrapped, a)
	}
}

func TestValidTicketID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"abcdefghijklmnop", true},     // 16, made by earlier versions
		{"aabcabcdefghijklmnop", true}, // 20, made now
		{"abcdefghijklmnopqrstu", false},
		{"abcdefghijklmnopq", false},
		{"abcdefghijklmno", false},
		{"ABCDEFGHIJKLMNOP", false},
		{"abcdefghijklmno1", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidTicketID(tt.id); got != tt.want {
			t.Errorf("ValidTicketID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestCleanSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello", "Hello"},
		{"  Hi\r\nBcc: evil@example.com ", "Hi Bcc: evil@example.com"},
		{"a\tb\x00c", "a b c"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := CleanSubject(tt.in); got != tt.want {
			t.Errorf("CleanSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := CleanSubject(strings.Repeat("ä", 10000))
	if n := utf8.RuneCountInString(long); n != MaxSubjectLength {
		t.Errorf("long subject kept %d characters, want %d", n, MaxSubjectLength)
	}
	// Cut at the limit right after a space: no trailing space, and cleaning
	// again changes nothing (found by FuzzBuild: the round trip through a
	// mail lost the space).
	for _, in := range []string{strings.Repeat("x", MaxSubjectLength-1) + " yz", strings.Repeat("x", MaxSubjectLength-2) + " yz"} {
		got := CleanSubject(in)
		if strings.HasSuffix(got, " ") || CleanSubject(got) != got {
			t.Errorf("CleanSubject(%d characters ending %q) = …%q, not stable", len(in), in[len(in)-4:], got[len(got)-4:])
		}
	}
}

func TestAutomaticReason(t *testing.T) {
	own := []string{"support@example.com"}
	person := InboundMessage{From: "alice@example.com"}
	tests := []struct {
		name      string
		m         InboundMessage
		automatic bool
	}{
		{"a person", person, false},
		{"Auto-Submitted: no", InboundMessage{From: "a@x.org", AutoSubmitted: "no"}, false},
		{"Auto-Submitted: auto-replied", InboundMessage{From: "a@x.org", AutoSubmitted: "auto-replied"}, true},
		{"Auto-Submitted: auto-generated with params", InboundMessage{From: "a@x.org", AutoSubmitted: "Auto-Generated; x=y"}, true},
		{"Auto-Submitted: anything else", InboundMessage{From: "a@x.org", AutoSubmitted: "auto-notified"}, true},
		{"Precedence: bulk", InboundMessage{From: "a@x.org", Precedence: "bulk"}, true},
		{"Precedence: junk", InboundMessage{From: "a@x.org", Precedence: "junk"}, true},
		{"Precedence: list", InboundMessage{From: "a@x.org", Precedence: "List"}, true},
		{"Precedence: auto_reply", InboundMessage{From: "a@x.org", Precedence: "auto_reply"}, true},
		{"Precedence: first-class", InboundMessage{From: "a@x.org", Precedence: "first-class"}, false},
		{"X-Auto-Response-Suppress", InboundMessage{From: "a@x.org", AutoResponseSuppress: "All"}, true},
		{"X-Autoreply", InboundMessage{From: "a@x.org", XAutoreply: "yes"}, true},
		{"X-Autorespond", InboundMessage{From: "a@x.org", XAutorespond: "yes"}, true},
		{"List-Id", InboundMessage{From: "a@x.org", ListID: "<list.x.org>"}, true},
		{"List-Unsubscribe", InboundMessage{From: "a@x.org", ListUnsubscribe: "<mailto:u@x.org>"}, true},
		{"bounce", InboundMessage{From: "a@x.org", Bounce: true}, true},
		{"our loop header", InboundMessage{From: "a@x.org", LoopMarker: true}, true},
		{"null sender", InboundMessage{From: "a@x.org", NullSender: true}, true},
		{"Return-Path <>", InboundMessage{From: "a@x.org", ReturnPath: "<>"}, true},
		{"no sender", InboundMessage{}, true},
		{"MAILER-DAEMON", InboundMessage{From: "MAILER-DAEMON@x.org"}, true},
		{"postmaster", InboundMessage{From: "postmaster@x.org"}, true},
		{"our own address", InboundMessage{From: "support@EXAMPLE.com"}, true},
		{"our own plus-address", InboundMessage{From: "support+abc@example.com"}, true},
	}
	for _, tt := range tests {
		got := AutomaticReason(tt.m, own)
		if (got != "") != tt.automatic {
			t.Errorf("%s: AutomaticReason = %q, want automatic=%v", tt.name, got, tt.automatic)
		}
	}
}

func TestPlusAddress(t *testing.T) {
	if got := PlusAddress("support@example.com", "abc"); got != "support+abc@example.com" {
		t.Errorf("PlusAddress = %q", got)
	}
	base, detail := splitPlus("support+abc@example.com")
	if base != "support@example.com" || detail != "abc" {
		t.Errorf("splitPlus = %q, %q", base, detail)
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"a@b.c", "x@", "A <a@b.c>", "a@b.c\r\nX: y", "\"q\"@b.c", "a@[1.2.3.4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseAddress(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(got, "\r\n<>, \"") {
			t.Fatalf("ParseAddress(%q) accepted %q", s, got)
		}
		if again, err := ParseAddress(got); err != nil || again != got {
			t.Fatalf("ParseAddress not idempotent: %q → %q → %q, %v", s, got, again, err)
		}
	})
}

func FuzzParseTag(f *testing.F) {
	for _, s := range []string{`[Ticket "abcdefghijklmnop"] x`, `Re: [ticket "ABCDEFGHIJKLMNOP"]`, `[Ticket ""]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := ParseTag(s)
		if ok && !ValidTicketID(id) {
			t.Fatalf("ParseTag(%q) = %q, not a ticket id", s, id)
		}
		if ok {
			if _, again := ParseTag(StripTag(s)); again {
				t.Fatalf("StripTag(%q) left a tag", s)
			}
		}
		if c := CleanSubject(s); strings.ContainsAny(c, "\r\n") || !utf8.ValidString(c) {
			t.Fatalf("CleanSubject(%q) = %q", s, c)
		}
	})
}

func TestIsSupportRecipient(t *testing.T) {
	s := NewService(nil, Config{SupportAddresses: []string{"support@example.com", "help@example.org"}})
	tests := []struct {
		addr string
		want bool
	}{
		{"support@example.com", true},
		{"support@EXAMPLE.com", true},
		{"support+abcdefghijklmnop@example.com", true},
		{"help+x@example.org", true},
		{"Support@example.com", true}, // our own mailboxes: no case (RFC 5321 §2.4 allows it)
		{"SUPPORT+abcdefghijklmnop@EXAMPLE.COM", true},
		{"support@example.org", false},
		{"someone@elsewhere.example", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := s.IsSupportRecipient(tt.addr); got != tt.want {
			t.Errorf("IsSupportRecipient(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// TestNewMessageIDOrder: the Message-IDs the daemon makes sort in the order
// they were made (so that their index entries are appended), are unique
// within one instant, and are recognised as the daemon's own.
func TestNewMessageIDOrder(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	s := NewService(nil, Config{Now: func() time.Time { return now }, SupportAddresses: []string{"support@help.example"}})
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		if i%10 == 0 {
			now = now.Add(time.Microsecond)
		}
		id := s.NewMessageID()
		if !s.IsOwnMessageID(id) {
			t.Fatalf("%q is not recognised as the daemon's own", id)
		}
		if seen[id] {
			t.Fatalf("%q made twice", id)
		}
		seen[id] = true
		if i%10 == 0 && id <= prev {
			t.Fatalf("%q made later sorts before %q", id, prev)
		}
		prev = id
	}
}
