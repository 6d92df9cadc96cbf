package webui

import (
	"cmp"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"trivialtickets/core"
)

// listPage is one page of a ticket list with its position and links to
// the previous and next pages.
type listPage struct {
	Tickets []ticketRow
	Total   int
	More    bool   // more than Total tickets match
	Next    string // URL of the next page; empty on the last
	Prev    string // URL of the previous page; empty on the first
	Back    string // URL of this page, where forms return to
	// From and To are the positions of the first and last row, counted
	// from 1 ("51–100 of 1,234").
	From, To int
	Clock    clock
	// Caption names the table for screen readers.
	Caption string
	// AssignForms offers an agent choice on unassigned rows, from Agents
	// (those not in vacation mode).
	AssignForms bool
	Agents      []core.Agent
	// ReleaseButtons offers Open and Release on each row (the dashboard).
	ReleaseButtons bool
	// Search is set on search results: the rows show their snippets.
	Search bool
}

// Position says where the page is: "51–100 of 1,234".
func (l listPage) Position() string {
	if len(l.Tickets) == 0 {
		return ""
	}
	of := thousands(l.Total)
	if l.More {
		of = "more than " + of
	}
	return thousands(l.From) + "–" + thousands(l.To) + " of " + of
}

// ticketRow is one line of a ticket list.
type ticketRow struct {
	core.Ticket
	AssigneeName string
	// Unread: the customer wrote since the viewing assignee last opened
	// the ticket.
	Unread  bool
	Snippet core.Snippet
}

// CustomerLabel is the customer's name, or the bare address.
func (t ticketRow) CustomerLabel() string { return cmp.Or(t.CustomerName, t.Customer) }

// WaitingOn says whose turn it is: "us", "customer", or "" for closed
// tickets.
func (t ticketRow) WaitingOn() string {
	switch {
	case t.Status == core.StatusClosed:
		return ""
	case t.WaitingOnUs():
		return "us"
	}
	return "customer"
}

// LastActivity is the time of the latest entry (the update time for
// tickets from before it was recorded).
func (t ticketRow) LastActivity() time.Time {
	if t.ActivityAt.IsZero() {
		return t.UpdatedAt
	}
	return t.ActivityAt
}

// SnippetHTML is the search snippet with the match in <mark>.
func (t ticketRow) SnippetHTML() template.HTML {
	s := t.Snippet
	if s.Text == "" {
		return ""
	}
	esc := template.HTMLEscapeString
	if s.Start < 0 || s.End > len(s.Text) || s.Start >= s.End {
		return template.HTML(esc(s.Text))
	}
	return template.HTML(esc(s.Text[:s.Start]) + "<mark>" + esc(s.Text[s.Start:s.End]) + "</mark>" + esc(s.Text[s.End:]))
}

// listTab is one choice of a list's views or filters, with its count.
type listTab struct {
	Label, Count, URL string
	Active            bool
}

// sortOption is one entry of the sort menu.
type sortOption struct {
	Value, Label string
	Selected     bool
}

// listState is what a list shows: the view, the status filter, the order,
// the search and the page; each is a URL parameter.
type listState struct {
	View   core.View
	Status core.Status
	Sort   core.Sort
	Search string
	Page   int // from 1
	// Path is the list's address; "/tickets" when empty.
	Path string
}

// parseListState reads the list's parameters; unknown values mean the
// defaults.
func parseListState(q url.Values) listState {
	st := listState{View: core.ViewAll, Sort: core.SortActivity, Page: 1, Search: strings.TrimSpace(q.Get("q"))}
	if v, err := core.ParseView(q.Get("view")); err == nil {
		st.View = v
	}
	if s, err := core.ParseStatus(q.Get("status")); err == nil {
		st.Status = s
	}
	if s, err := core.ParseSort(q.Get("sort")); err == nil {
		st.Sort = s
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && n <= core.MaxOffset/core.DefaultPageSize+1 {
		st.Page = n
	}
	return st
}

// query is the store query of the state for agent me.
func (s listState) query(me string) core.TicketQuery {
	q := s.View.Query(me)
	q.Status, q.Sort, q.Search, q.Viewer = s.Status, s.Sort, s.Search, me
	if s.Status == core.StatusClosed {
		// Mine and Unassigned hold open tickets; their Closed filter
		// shows the closed ones that would belong to them.
		q.NotClosed = false
	}
	q.Offset = (s.Page - 1) * core.DefaultPageSize
	return q
}

// url is the list's address for the state.
func (s listState) url() string {
	v := url.Values{}
	if s.View != core.ViewAll {
		v.Set("view", string(s.View))
	}
	if s.Status != "" {
		v.Set("status", string(s.Status))
	}
	if s.Sort != core.SortActivity {
		v.Set("sort", string(s.Sort))
	}
	if s.Search != "" {
		v.Set("q", s.Search)
	}
	if s.Page > 1 {
		v.Set("page", strconv.Itoa(s.Page))
	}
	path := cmp.Or(s.Path, "/tickets")
	if e := v.Encode(); e != "" {
		return path + "?" + e
	}
	return path
}

// viewHeadings name the views in headings.
var viewHeadings = map[core.View]string{core.ViewMine: "My tickets", core.ViewUnassigned: "Unassigned tickets", core.ViewAll: "All tickets"}

// ticketsPage is the data of the ticket list and of search results.
type ticketsPage struct {
	List    listPage
	Views   []listTab
	Filters []listTab
	Sorts   []sortOption
	State   listState
	// Heading names the view or the search.
	Heading string
}

// listTickets shows the tickets of one view (mine, unassigned, all),
// status and search, by last activity or creation, one page at a time,
// with a count on every view and filter: GET
// /tickets?view=&status=&sort=&q=&page=.
func (h *handler) listTickets(w http.ResponseWriter, r *http.Request) {
	me := currentAgent(r)
	st := parseListState(r.URL.Query())
	q := st.query(me.Username)
	// The statuses the view cannot hold (Mine's closed tickets) are
	// counted on their own, as their filters list them.
	wq := core.WorkspaceQuery{Lists: []core.TicketQuery{q}, ViewCounts: true, Viewer: me.Username, Search: st.Search}
	extra := map[core.Status]int{}
	for _, status := range core.Statuses {
		if !slices.Contains(st.View.Statuses(), status) {
			s := listState{View: st.View, Status: status, Sort: st.Sort, Search: st.Search, Page: 1}
			extra[status] = len(wq.Counts)
			wq.Counts = append(wq.Counts, s.query(me.Username))
		}
	}
	ws, err := h.svc.Workspace(r.Context(), wq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := h.listPage(r, st, ws.Lists[0])
	p := ticketsPage{State: st, Heading: viewHeadings[st.View]}
	if st.Search != "" {
		p.Heading = "Search results for “" + st.Search + "”"
		l.Search = true
	}
	for _, vc := range ws.ViewCounts {
		s := listState{View: vc.View, Sort: st.Sort, Search: st.Search, Page: 1}
		p.Views = append(p.Views, listTab{Label: vc.View.Label(), Count: countLabel(vc.Total), URL: s.url(), Active: vc.View == st.View})
		if vc.View != st.View {
			continue
		}
		p.Filters = append(p.Filters, listTab{Label: "Any status", Count: countLabel(vc.Total), URL: s.url(), Active: st.Status == ""})
		for _, status := range core.Statuses {
			s.Status = status
			c, ok := vc.ByStatus[status]
			if i, more := extra[status]; !ok && more {
				c = ws.Counts[i]
			}
			p.Filters = append(p.Filters, listTab{Label: status.Label(), Count: countLabel(c), URL: s.url(), Active: status == st.Status})
		}
	}
	for _, o := range []struct {
		v     core.Sort
		label string
	}{{core.SortActivity, "Last activity"}, {core.SortCreated, "Created"}} {
		p.Sorts = append(p.Sorts, sortOption{Value: string(o.v), Label: o.label, Selected: o.v == st.Sort})
	}
	l.AssignForms, l.Caption = true, p.Heading
	nameAssignees(ws.Agents, &l, &l.Agents)
	p.List = l
	h.render(w, r, http.StatusOK, pageTickets, page{Nav: "tickets", Search: st.Search, Data: p})
}

// nameAssignees fills in the assignees' display names from all agents
// and, when agents is not nil, the agents who can take tickets (not in
// vacation mode).
func nameAssignees(all []core.Agent, l *listPage, agents *[]core.Agent) {
	names := make(map[string]string, len(all))
	for _, a := range all {
		names[a.Username] = a.DisplayName()
		if agents != nil && !a.Vacation {
			*agents = append(*agents, a)
		}
	}
	for i := range l.Tickets {
		if u := l.Tickets[i].Assignee; u != "" {
			l.Tickets[i].AssigneeName = cmp.Or(names[u], u)
		}
	}
}

// countLabel writes a count as "1,234", or "10,000+" where counting
// stopped.
func countLabel(c core.Count) string {
	if c.More {
		return thousands(c.N) + "+"
	}
	return thousands(c.N)
}

// listPage is the page l of the list that st asks for, with links to the
// pages beside it.
func (h *handler) listPage(r *http.Request, st listState, l core.TicketList) listPage {
	me := currentAgent(r)
	p := listPage{Total: l.Total, More: l.More, Back: st.url(), From: l.Offset + 1, To: l.Offset + len(l.Tickets), Clock: h.clock(r)}
	if st.Page > 1 {
		prev := st
		prev.Page--
		p.Prev = prev.url()
	}
	if l.HasNext {
		next := st
		next.Page++
		p.Next = next.url()
	}
	if !l.More && p.To > p.Total {
		// Tickets came in since the count: never say "51–60 of 55".
		p.Total = p.To
	}
	for i, t := range l.Tickets {
		row := ticketRow{Ticket: t, Unread: me != nil && t.UnreadFor(me.Username)}
		if i < len(l.Items) {
			row.Snippet = l.Items[i].Snippet
		}
		p.Tickets = append(p.Tickets, row)
	}
	return p
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
