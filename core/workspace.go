package core

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// View is one of the agents' ticket lists.
type View string

// The views of the ticket list. The string values appear in URLs.
const (
	ViewMine       View = "mine"       // assigned to me, not closed
	ViewUnassigned View = "unassigned" // nobody's, not closed
	ViewAll        View = "all"        // every ticket
)

// Views lists the views in display order.
var Views = []View{ViewMine, ViewUnassigned, ViewAll}

// ParseView returns the view named s; "" is ViewAll.
func ParseView(s string) (View, error) {
	if s == "" {
		return ViewAll, nil
	}
	for _, v := range Views {
		if string(v) == s {
			return v, nil
		}
	}
	return "", Invalid(fmt.Sprintf("unknown view %q: use mine, unassigned or all", s))
}

// Label is the human name of the view.
func (v View) Label() string {
	switch v {
	case ViewMine:
		return "Mine"
	case ViewUnassigned:
		return "Unassigned"
	}
	return "All"
}

// Query returns the ticket query of the view for agent me.
func (v View) Query(me string) TicketQuery {
	switch v {
	case ViewMine:
		return TicketQuery{Assignee: me, NotClosed: true}
	case ViewUnassigned:
		return TicketQuery{Unassigned: true, NotClosed: true}
	}
	return TicketQuery{}
}

// Statuses are the statuses a view can hold, those ViewCount.ByStatus
// counts.
func (v View) Statuses() []Status {
	if v == ViewAll {
		return Statuses
	}
	return []Status{StatusOpen, StatusInProgress}
}

// Sort is the order of a ticket list.
type Sort string

// Orders of ticket lists.
const (
	SortActivity Sort = "activity" // newest activity first (also for "")
	SortCreated  Sort = "created"  // newest ticket first
)

// ParseSort returns the order named s; "" is SortActivity.
func ParseSort(s string) (Sort, error) {
	switch Sort(s) {
	case "", SortActivity:
		return SortActivity, nil
	case SortCreated:
		return SortCreated, nil
	}
	return "", Invalid(fmt.Sprintf("unknown order %q: use activity or created", s))
}

// MaxOffset is the furthest a list pages: the counts stop at MaxListCount.
const MaxOffset = MaxListCount

// Count is a number of tickets counted up to MaxListCount.
type Count struct {
	N    int
	More bool // more than N match (N is MaxListCount, or MaxSearchCount)
}

// String is the count for people: "10000+" (or "1000+" for a search)
// when counting stopped.
func (c Count) String() string {
	if c.More {
		return strconv.Itoa(c.N) + "+"
	}
	return strconv.Itoa(c.N)
}

// ViewCount is the number of tickets in a view, in all and per status.
type ViewCount struct {
	View     View
	Total    Count
	ByStatus map[Status]Count // the statuses the view can hold
}

// TicketSummary is one ticket of a list, with the text around the first
// match of a search.
type TicketSummary struct {
	Ticket
	Snippet Snippet
}

// MaxSearchCount is where counting the tickets a search finds stops:
// each match is looked up in the index, so a common word's count costs
// more than a view's.
const MaxSearchCount = 1000

// countTickets counts up to MaxListCount, or MaxSearchCount for a search.
func countTickets(ctx context.Context, tx Tx, q TicketQuery) (Count, error) {
	limit := MaxListCount
	if q.Search != "" {
		limit = MaxSearchCount
	}
	q.CountMax = limit + 1
	n, err := tx.CountTickets(ctx, q)
	if err != nil {
		return Count{}, err
	}
	if n > limit {
		return Count{N: limit, More: true}, nil
	}
	return Count{N: n}, nil
}

// cleanSearch trims a query and checks who may search.
func (s *Service) cleanSearch(ctx context.Context, tx Tx, q *TicketQuery) error {
	q.Search = strings.TrimSpace(q.Search)
	if q.Search == "" {
		return nil
	}
	if len(q.Search) > MaxSearchLength {
		return Invalid(fmt.Sprintf("the search is longer than %d characters: use fewer words", MaxSearchLength))
	}
	if q.Viewer == "" {
		return fmt.Errorf("log in as an agent to search: %w", ErrForbidden)
	}
	if _, err := tx.Agent(ctx, q.Viewer); err != nil {
		return fmt.Errorf("search as %s: %w", q.Viewer, err)
	}
	if len(QueryWords(q.Search)) == 0 && !ValidTicketID(strings.ToLower(q.Search)) {
		return Invalid("search for a word, an address or a ticket id")
	}
	return nil
}

// ViewCounts counts the tickets of every view for agent viewer, and per
// status within each view; with search, only the tickets it finds.
func (s *Service) ViewCounts(ctx context.Context, viewer, search string) ([]ViewCount, error) {
	var out []ViewCount
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		out, err = s.viewCounts(ctx, tx, viewer, search)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count tickets: %w", err)
	}
	return out, nil
}

// viewCounts is ViewCounts in transaction tx.
func (s *Service) viewCounts(ctx context.Context, tx Tx, viewer, search string) ([]ViewCount, error) {
	base := TicketQuery{Search: search, Viewer: viewer}
	if err := s.cleanSearch(ctx, tx, &base); err != nil {
		return nil, err
	}
	var out []ViewCount
	for _, v := range Views {
		q := v.Query(viewer)
		q.Search, q.Viewer = base.Search, base.Viewer
		vc := ViewCount{View: v, ByStatus: map[Status]Count{}}
		var err error
		if vc.Total, err = countTickets(ctx, tx, q); err != nil {
			return nil, err
		}
		for _, st := range v.Statuses() {
			sq := q
			sq.Status = st
			if vc.ByStatus[st], err = countTickets(ctx, tx, sq); err != nil {
				return nil, err
			}
		}
		out = append(out, vc)
	}
	return out, nil
}

// WorkspaceQuery says what one page of the agents' workspace shows.
type WorkspaceQuery struct {
	// Lists are the ticket lists of the page, each as ListTickets reads it.
	Lists []TicketQuery
	// Counts are further counts, each as a list's Total.
	Counts []TicketQuery
	// ViewCounts asks for the counts of every view for Viewer, narrowed by
	// Search (as ViewCounts).
	ViewCounts     bool
	Viewer, Search string
}

// Workspace is what WorkspaceQuery asked for, read from one snapshot,
// with every agent (for the assignees' names and the assign menu).
type Workspace struct {
	Lists      []TicketList // in the order of WorkspaceQuery.Lists
	Counts     []Count      // in the order of WorkspaceQuery.Counts
	ViewCounts []ViewCount  // when asked for
	Agents     []Agent
}

// Workspace reads the lists, counts and agents of one workspace page in
// one read transaction: each read of its own is a transaction, which
// costs round trips on PostgreSQL, and the page's numbers then agree.
func (s *Service) Workspace(ctx context.Context, wq WorkspaceQuery) (Workspace, error) {
	var w Workspace
	err := s.store.View(ctx, func(tx Tx) error {
		w = Workspace{}
		var err error
		if w.Agents, err = tx.Agents(ctx); err != nil {
			return err
		}
		for _, q := range wq.Lists {
			l, err := s.listTickets(ctx, tx, q)
			if err != nil {
				return err
			}
			w.Lists = append(w.Lists, l)
		}
		for _, q := range wq.Counts {
			if err := s.cleanSearch(ctx, tx, &q); err != nil {
				return err
			}
			c, err := countTickets(ctx, tx, q)
			if err != nil {
				return err
			}
			w.Counts = append(w.Counts, c)
		}
		if wq.ViewCounts {
			w.ViewCounts, err = s.viewCounts(ctx, tx, wq.Viewer, wq.Search)
		}
		return err
	})
	if err != nil {
		return Workspace{}, fmt.Errorf("read the workspace: %w", err)
	}
	return w, nil
}

// MarkSeen records that the assignee opened the ticket, which clears its
// unread marker. For anyone else, and when the customer has not written
// since the assignee last opened it, it writes nothing.
func (s *Service) MarkSeen(ctx context.Context, actor, id string) error {
	err := s.changeTicket(ctx, id, func(tx Tx, t Ticket, now time.Time) error {
		if t.Assignee != actor || actor == "" || (!t.SeenAt.IsZero() && !t.CustomerAt.After(t.SeenAt)) {
			return nil // not theirs, or nothing new: no write
		}
		return tx.MarkSeen(ctx, id, now)
	})
	if err != nil {
		return fmt.Errorf("mark ticket %s seen: %w", id, err)
	}
	return nil
}

// DefaultTimeZone is the zone times are shown in when neither the agent
// nor the configuration names one.
const DefaultTimeZone = "UTC"

// SetTimeZone sets the zone the actor reads times in: an IANA name such as
// "Europe/Berlin", or "" for the daemon's default.
func (s *Service) SetTimeZone(ctx context.Context, actor, tz string) error {
	tz = strings.TrimSpace(tz)
	if tz != "" {
		if _, err := loadLocation(tz); err != nil {
			return err
		}
	}
	return s.changeAgent(ctx, actor, "set time zone", func(a *Agent) { a.TimeZone = tz })
}

// loadLocation is time.LoadLocation with a message for the user.
func loadLocation(tz string) (*time.Location, error) {
	if len(tz) > 64 {
		return nil, Invalid("the time zone name is too long: use an IANA name such as Europe/Berlin")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, Invalid(fmt.Sprintf("unknown time zone %q: use an IANA name such as Europe/Berlin or Asia/Tokyo", tz))
	}
	return loc, nil
}

// CheckTimeZone reports whether tz names a time zone, with a message for
// the user when it does not.
func CheckTimeZone(tz string) error {
	_, err := loadLocation(tz)
	return err
}

// Location returns the zone agent a reads times in: theirs, or the
// configured default for nil or an agent without one.
func (s *Service) Location(a *Agent) *time.Location {
	if a != nil && a.TimeZone != "" {
		if loc, err := time.LoadLocation(a.TimeZone); err == nil {
			return loc
		}
	}
	return s.defaultLoc
}
