package webui

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	"trivialtickets/core"
)

// clock shows times in one time zone, relative to now: "2 h ago", with the
// exact time and the zone's name in the title.
type clock struct {
	Loc *time.Location
	Now time.Time
	// until, when set, receives the earliest instant at which a relative
	// time this clock wrote (Rel) would read differently: a page rendered
	// with it is the same page until then (see pageCache).
	until *time.Time
}

// exactLayout is the exact form of a time, with its zone's abbreviation.
const exactLayout = "Mon 2 Jan 2006, 15:04 MST"

// Exact is t in the clock's zone with the zone named.
func (c clock) Exact(t time.Time) string {
	return t.In(c.loc()).Format(exactLayout) + c.zoneSuffix()
}

// zoneSuffix names the zone when its abbreviation is a bare offset such as
// "+09".
func (c clock) zoneSuffix() string {
	name := c.loc().String()
	if name == "UTC" || name == "Local" {
		return ""
	}
	return " (" + name + ")"
}

func (c clock) loc() *time.Location {
	if c.Loc == nil {
		return time.UTC
	}
	return c.Loc
}

// Zone is the clock's zone name, for notes such as "times in Europe/Berlin".
func (c clock) Zone() string { return c.loc().String() }

// Rel is how long ago (or ahead) t is, in the short form people read at a
// glance; beyond a week the date.
func (c clock) Rel(t time.Time) string {
	if c.until != nil {
		if ch := c.relChange(t); c.until.IsZero() || ch.Before(*c.until) {
			*c.until = ch
		}
	}
	d := c.Now.Sub(t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 7*24*time.Hour:
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "yesterday"
		}
		return fmt.Sprintf("%d days ago", n)
	}
	lt := t.In(c.loc())
	if lt.Year() == c.Now.In(c.loc()).Year() {
		return lt.Format("2 Jan")
	}
	return lt.Format("2 Jan 2006")
}

// relChange is the first instant after c.Now at which Rel(t) reads
// differently: the next whole minute, hour or day since t, the end of
// the week after which Rel gives the date, or for a date the next new
// year in the clock's zone (when "2 Jan" becomes "2 Jan 2006").
func (c clock) relChange(t time.Time) time.Time {
	d := c.Now.Sub(t)
	switch {
	case d < time.Minute:
		return t.Add(time.Minute)
	case d < time.Hour:
		return t.Add((d/time.Minute + 1) * time.Minute)
	case d < 24*time.Hour:
		return t.Add((d/time.Hour + 1) * time.Hour)
	case d < 7*24*time.Hour:
		return t.Add((d/(24*time.Hour) + 1) * 24 * time.Hour)
	}
	return time.Date(c.Now.In(c.loc()).Year()+1, 1, 1, 0, 0, 0, 0, c.loc())
}

// Tag is t as a <time> element: the relative form as text, the exact one
// in the title and the machine-readable one in datetime.
func (c clock) Tag(t time.Time) template.HTML {
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		t.UTC().Format(time.RFC3339),
		template.HTMLEscapeString(c.Exact(t)),
		template.HTMLEscapeString(c.Rel(t))))
}

// clock is the clock of the request's viewer: the agent's time zone, or
// for customers and agents without one the daemon's.
func (h *handler) clock(r *http.Request) clock {
	return clock{Loc: h.location(currentAgent(r)), Now: h.svc.Config().Now()}
}

// location is the time zone the agent's pages show, as core's Location
// says, kept by zone name: loading a zone reads and parses its zoneinfo
// file every time, and every page an agent opens needs it. A zone name
// always means the same zone, so the cache holds at most one entry per
// zone name that agents chose.
func (h *handler) location(a *core.Agent) *time.Location {
	if a == nil || a.TimeZone == "" {
		return h.svc.Location(a)
	}
	if loc, ok := h.zones.Load(a.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc := h.svc.Location(a)
	h.zones.Store(a.TimeZone, loc)
	return loc
}
