package core

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSearchWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello, World!", []string{"hello", "world"}},
		{"先月の請求書が届きません", []string{"先月", "月の", "の請", "請求", "求書", "書が", "が届", "届き", "きま", "ませ", "せん"}},
		{"請求", []string{"請求"}},
		{"猫", []string{"猫"}},
		{"Rechnung請求書", []string{"rechnung", "請求", "求書"}},
		{"ÜBERWEISUNG Grüße", []string{"überweisung", "grüße"}},
		{"U\u0308berweisung", []string{"überweisung"}}, // decomposed umlaut: NFC first
		{"ops@bigclient.com", []string{"ops", "bigclient", "com"}},
		{"한국어 텍스트", []string{"한국", "국어", "텍스", "스트"}},
		{"Заказ №42", []string{"заказ", "42"}},
		{`"*()'\:  `, nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := SearchWords(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("SearchWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A query finds the text it is part of: its words are a subset.
	text := SearchWords("Guten Tag, mein Drucker (HP LaserJet 4000) 印刷できません。")
	for _, q := range []string{"drucker", "LASERJET", "4000", "印刷", "できません", "Tag"} {
		for _, w := range QueryWords(q) {
			if !slices.Contains(text, w) {
				t.Errorf("query %q: word %q is not in the text's words", q, w)
			}
		}
	}
	if n := len(QueryWords(strings.Repeat("w ", 100) + strings.Repeat("x", 3))); n != 2 {
		t.Errorf("QueryWords keeps duplicates: %d words", n)
	}
	many := strings.Fields(strings.Repeat("a b c d e f g h i j k l m n o p q r s t ", 2))
	if n := len(QueryWords(strings.Join(many, " "))); n != MaxSearchWords {
		t.Errorf("QueryWords of 20 words = %d, want %d", n, MaxSearchWords)
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("Vorher kommt viel Text. ", 20) + "Die Überweisung\nist nicht angekommen. " + strings.Repeat("Danach auch. ", 20)
	tests := []struct {
		query string
		texts []string
		match string // Text[Start:End]
		has   string // also in Text
		cut   bool   // "…" at both ends
	}{
		{"請求", []string{"先月の請求書が届きません。"}, "請求", "先月の請求書が届きません。", false},
		{"請求書", []string{"先月の請求書が届きません。"}, "請求書", "", false},
		{"überweisung", []string{"nothing here", long}, "Überweisung", "Die Überweisung ist nicht", true},
		{"printer", []string{"The printers are fine.", "My printer burns."}, "printer", "My printer burns.", false},
		{"nothing", []string{"a", "b"}, "", "", false},
	}
	for _, tt := range tests {
		sn, ok := makeSnippet(tt.query, tt.texts)
		if tt.match == "" {
			if ok {
				t.Errorf("snippet of %q found %+v", tt.query, sn)
			}
			continue
		}
		if !ok || sn.Text[sn.Start:sn.End] != tt.match || !strings.Contains(sn.Text, tt.has) {
			t.Errorf("snippet of %q = %+v, %v; want the match %q", tt.query, sn, ok, tt.match)
		}
		if cut := strings.HasPrefix(sn.Text, "…") && strings.HasSuffix(sn.Text, "…"); cut != tt.cut {
			t.Errorf("snippet of %q = %q: cut %v, want %v", tt.query, sn.Text, cut, tt.cut)
		}
		if strings.ContainsAny(sn.Text, "\n\t") || len(sn.Text) > snippetBefore+snippetAfter+len(tt.match)+8 {
			t.Errorf("snippet of %q is not one short line: %q", tt.query, sn.Text)
		}
	}
}

func TestWaitingAndUnread(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 1, 1, 0, m, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		t       Ticket
		waiting bool
		unread  bool // for bob
	}{
		{"new, nobody answered", Ticket{Status: StatusOpen, CustomerAt: at(1)}, true, false},
		{"answered", Ticket{Status: StatusInProgress, Assignee: "bob", CustomerAt: at(1), RepliedAt: at(2), SeenAt: at(2)}, false, false},
		{"customer wrote again", Ticket{Status: StatusInProgress, Assignee: "bob", CustomerAt: at(3), RepliedAt: at(2), SeenAt: at(2)}, true, true},
		{"seen since", Ticket{Status: StatusInProgress, Assignee: "bob", CustomerAt: at(3), RepliedAt: at(2), SeenAt: at(4)}, true, false},
		{"never opened", Ticket{Status: StatusInProgress, Assignee: "bob", CustomerAt: at(3)}, true, true},
		{"someone else's", Ticket{Status: StatusInProgress, Assignee: "carol", CustomerAt: at(3)}, true, false},
		{"closed", Ticket{Status: StatusClosed, Assignee: "bob", CustomerAt: at(3), RepliedAt: at(2)}, false, true},
	}
	for _, tt := range tests {
		if got := tt.t.WaitingOnUs(); got != tt.waiting {
			t.Errorf("%s: WaitingOnUs = %v", tt.name, got)
		}
		if got := tt.t.UnreadFor("bob"); got != tt.unread {
			t.Errorf("%s: UnreadFor(bob) = %v", tt.name, got)
		}
		if tt.t.UnreadFor("") {
			t.Errorf("%s: unread for nobody", tt.name)
		}
	}
}

func TestViewsSortsCounts(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want View
		q    TicketQuery
	}{
		{"", ViewAll, TicketQuery{}},
		{"all", ViewAll, TicketQuery{}},
		{"mine", ViewMine, TicketQuery{Assignee: "bob", NotClosed: true}},
		{"unassigned", ViewUnassigned, TicketQuery{Unassigned: true, NotClosed: true}},
	} {
		v, err := ParseView(tt.in)
		if err != nil || v != tt.want || v.Query("bob") != tt.q {
			t.Errorf("ParseView(%q) = %v, %v; query %+v", tt.in, v, err, v.Query("bob"))
		}
	}
	for _, bad := range []string{"Mine", "x", "<script>"} {
		if _, err := ParseView(bad); err == nil || !strings.Contains(err.Error(), "use mine, unassigned or all") {
			t.Errorf("ParseView(%q): %v", bad, err)
		}
		if _, err := ParseSort(bad); err == nil || !strings.Contains(err.Error(), "use activity or created") {
			t.Errorf("ParseSort(%q): %v", bad, err)
		}
	}
	if s, err := ParseSort(""); s != SortActivity || err != nil {
		t.Errorf("ParseSort(\"\") = %v, %v", s, err)
	}
	if s, err := ParseSort("created"); s != SortCreated || err != nil {
		t.Errorf("ParseSort(created) = %v, %v", s, err)
	}
	if got := (Count{N: MaxListCount, More: true}).String(); got != "10000+" {
		t.Errorf("capped count = %q", got)
	}
	if got := (Count{N: 42}).String(); got != "42" {
		t.Errorf("count = %q", got)
	}
}

func TestTimeZone(t *testing.T) {
	for _, tz := range []string{"UTC", "Europe/Berlin", "Asia/Tokyo", "America/Argentina/Buenos_Aires"} {
		if err := CheckTimeZone(tz); err != nil {
			t.Errorf("CheckTimeZone(%q): %v", tz, err)
		}
	}
	for _, tz := range []string{"Mars/Olympus", "../../etc/passwd", strings.Repeat("A", 100), "Europe/Berlin\x00"} {
		if err := CheckTimeZone(tz); err == nil || !strings.Contains(err.Error(), "IANA name") {
			t.Errorf("CheckTimeZone(%q): %v", tz, err)
		}
	}
	s := NewService(nil, Config{DefaultTimeZone: "Europe/Berlin"})
	if got := s.Location(nil).String(); got != "Europe/Berlin" {
		t.Errorf("default location %s", got)
	}
	if got := s.Location(&Agent{TimeZone: "Asia/Tokyo"}).String(); got != "Asia/Tokyo" {
		t.Errorf("agent's location %s", got)
	}
	if got := NewService(nil, Config{DefaultTimeZone: "Nowhere/Land"}).Location(nil); got != time.UTC {
		t.Errorf("unknown default zone gives %v, want UTC", got)
	}
}
