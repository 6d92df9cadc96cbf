package webui

import (
	"testing"
	"time"

	"trivialtickets/core"
)

func TestClockRelative(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	now := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
	c := clock{Loc: tokyo, Now: now}
	for _, tt := range []struct {
		ago  time.Duration
		want string
	}{
		{-time.Minute, "just now"}, // clocks of two daemons differ a little
		{0, "just now"},
		{59 * time.Second, "just now"},
		{time.Minute, "1 min ago"},
		{59 * time.Minute, "59 min ago"},
		{2*time.Hour + 59*time.Minute, "2 h ago"},
		{25 * time.Hour, "yesterday"},
		{3 * 24 * time.Hour, "3 days ago"},
		{10 * 24 * time.Hour, "21 Nov"},
		{400 * 24 * time.Hour, "27 Oct 2025"},
	} {
		if got := c.Rel(now.Add(-tt.ago)); got != tt.want {
			t.Errorf("%v ago: %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got, want := string(c.Tag(now)), `<time datetime="2026-11-30T20:00:00Z" title="Tue 1 Dec 2026, 05:00 JST (Asia/Tokyo)">just now</time>`; got != want {
		t.Errorf("Tag = %s, want %s", got, want)
	}
	if got := (clock{Now: now}).Exact(now); got != "Mon 30 Nov 2026, 20:00 UTC" {
		t.Errorf("Exact in the default zone = %q", got)
	}
}

func TestListNumbers(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1234: "1,234", 10000: "10,000", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	if got := countLabel(core.Count{N: core.MaxListCount, More: true}); got != "10,000+" {
		t.Errorf("capped count %q", got)
	}
	rows := make([]ticketRow, 50)
	l := listPage{Tickets: rows, From: 51, To: 100, Total: 1234}
	if got := l.Position(); got != "51–100 of 1,234" {
		t.Errorf("Position = %q", got)
	}
	l.Total, l.More = core.MaxListCount, true
	if got := l.Position(); got != "51–100 of more than 10,000" {
		t.Errorf("capped Position = %q", got)
	}
}

func TestSnippetMarked(t *testing.T) {
	for _, tt := range []struct {
		s    core.Snippet
		want string
	}{
		{core.Snippet{Text: "…der <b>Drucker</b> klemmt", Start: 10, End: 17}, "…der &lt;b&gt;<mark>Drucker</mark>&lt;/b&gt; klemmt"},
		{core.Snippet{Text: "no match marked", Start: 3, End: 3}, "no match marked"},
		{core.Snippet{Text: "bad offsets", Start: 5, End: 99}, "bad offsets"},
		{core.Snippet{}, ""},
	} {
		if got := string(ticketRow{Snippet: tt.s}.SnippetHTML()); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestAgentLocation(t *testing.T) {
	if _, err := time.LoadLocation("Asia/Tokyo"); err != nil {
		t.Skip("no time zone database:", err)
	}
	h := &handler{svc: core.NewService(nil, core.Config{})}
	for range 2 { // the second round comes from the cache
		for _, tt := range []struct {
			agent *core.Agent
			want  string
		}{
			{nil, "UTC"},
			{&core.Agent{Username: "a"}, "UTC"},
			{&core.Agent{Username: "b", TimeZone: "Asia/Tokyo"}, "Asia/Tokyo"},
			{&core.Agent{Username: "c", TimeZone: "Europe/Berlin"}, "Europe/Berlin"},
			{&core.Agent{Username: "d", TimeZone: "No/Such_Zone"}, "UTC"},
		} {
			if got := h.location(tt.agent).String(); got != tt.want {
				t.Errorf("%+v: zone %s, want %s", tt.agent, got, tt.want)
			}
		}
	}
}
