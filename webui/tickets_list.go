package webui

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"trivialtickets/core"
)

// listPage is one page of a ticket list with its position and links to
// the next and first pages.
type listPage struct {
	Tickets []ticketRow
	Total   int
	More    bool   // more than Total tickets match
	Next    string // URL of the next page; empty on the last
	First   string // URL of the first page; empty on it
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
}

// CustomerLabel is the customer's name, or the bare address.
func (t ticketRow) CustomerLabel() string { return cmp.Or(t.CustomerName, t.Customer) }

// listTab is one choice of a list's views or filters, with its count.
type listTab struct {
	Label, Count, URL string
	Active            bool
}

// listState is what a list shows: the view, the status filter and the
// sort; each is a URL parameter.
type listState struct {
	View   string // "all", "mine" or "unassigned"
	Status core.Status
	Sort   string // "created"
}

// Views of the ticket list, in tab order.
var listViews = []struct{ Value, Label string }{
	{"mine", "Mine"}, {"unassigned", "Unassigned"}, {"all", "All"},
}

// query is the store query of the state for agent me.
func (s listState) query(me string) core.TicketQuery {
	q := core.TicketQuery{Status: s.Status}
	switch s.View {
	case "mine":
		q.Assignee = me
	case "unassigned":
		q.Unassigned = true
	}
	return q
}

// url is the list's address for the state.
func (s listState) url() string {
	v := url.Values{}
	if s.View != "all" {
		v.Set("view", s.View)
	}
	if s.Status != "" {
		v.Set("status", string(s.Status))
	}
	if e := v.Encode(); e != "" {
		return "/tickets?" + e
	}
	return "/tickets"
}

// ticketsPage is the data of "All tickets".
type ticketsPage struct {
	List    listPage
	Views   []listTab
	Filters []listTab
	// Heading names the view.
	Heading string
}

// listTickets shows the tickets of one view (mine, unassigned, all) and
// status, newest first, one page at a time, with a count on every view and
// filter: GET /tickets?view=&status=&after=&n=.
func (h *handler) listTickets(w http.ResponseWriter, r *http.Request) {
	me := currentAgent(r)
	q := r.URL.Query()
	st := listState{View: "all"}
	for _, v := range listViews {
		if q.Get("view") == v.Value {
			st.View = v.Value
		}
	}
	if s, err := core.ParseStatus(q.Get("status")); err == nil {
		st.Status = s
	}
	l, err := h.listPage(r, st.url(), st.query(me.Username))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := ticketsPage{}
	for _, v := range listViews {
		s := st
		s.View, s.Status = v.Value, ""
		n, err := h.count(r.Context(), s.query(me.Username))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Views = append(p.Views, listTab{Label: v.Label, Count: n, URL: s.url(), Active: v.Value == st.View})
		if v.Value == st.View {
			p.Filters = append(p.Filters, listTab{Label: "Any status", Count: n, URL: s.url(), Active: st.Status == ""})
			p.Heading = v.Label
		}
	}
	for _, status := range core.Statuses {
		s := st
		s.Status = status
		n, err := h.count(r.Context(), s.query(me.Username))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Filters = append(p.Filters, listTab{Label: status.Label(), Count: n, URL: s.url(), Active: status == st.Status})
	}
	l.AssignForms, l.Caption = true, p.Heading+" tickets"
	if err := h.nameAssignees(r.Context(), &l, &l.Agents); err != nil {
		h.fail(w, r, err)
		return
	}
	p.List = l
	h.render(w, r, http.StatusOK, pageTickets, page{Nav: "tickets", Data: p})
}

// nameAssignees fills in the assignees' display names and, when agents is
// not nil, the agents who can take tickets (not in vacation mode).
func (h *handler) nameAssignees(ctx context.Context, l *listPage, agents *[]core.Agent) error {
	all, err := h.svc.Agents(ctx)
	if err != nil {
		return err
	}
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
	return nil
}

// count is the number of tickets q matches, as a list's badge shows it:
// "1,234", or "10,000+" where counting stopped.
func (h *handler) count(ctx context.Context, q core.TicketQuery) (string, error) {
	q.Limit = 1
	l, err := h.svc.ListTickets(ctx, q)
	if err != nil {
		return "", err
	}
	if l.More {
		return thousands(l.Total) + "+", nil
	}
	return thousands(l.Total), nil
}

// listPage loads the page of q that the request's "after" and "n"
// parameters ask for; path is the list's address with its parameters.
func (h *handler) listPage(r *http.Request, path string, q core.TicketQuery) (listPage, error) {
	params := r.URL.Query()
	q.After = parseCursor(params.Get("after"))
	from := 1
	if q.After != nil {
		if n, err := strconv.Atoi(params.Get("n")); err == nil && n > 1 && n <= core.MaxListCount*10 {
			from = n
		}
	}
	l, err := h.svc.ListTickets(r.Context(), q)
	if err != nil {
		return listPage{}, err
	}
	p := listPage{Total: l.Total, More: l.More, First: path, Back: path, From: from, To: from + len(l.Tickets) - 1, Clock: h.clock(r)}
	if q.After == nil {
		p.First = ""
	} else {
		p.Back = withParams(path, "after", formatCursor(*q.After), "n", strconv.Itoa(from))
	}
	if l.Next != nil {
		p.Next = withParams(path, "after", formatCursor(*l.Next), "n", strconv.Itoa(p.To+1))
	}
	if !l.More && p.To > p.Total {
		// Tickets came in since the count: never say "51–60 of 55".
		p.Total = p.To
	}
	for _, t := range l.Tickets {
		p.Tickets = append(p.Tickets, ticketRow{Ticket: t})
	}
	return p, nil
}

// withParams adds parameters (name, value pairs) to a local URL.
func withParams(path string, kv ...string) string {
	base, query, _ := strings.Cut(path, "?")
	v, _ := url.ParseQuery(query)
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return base + "?" + v.Encode()
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatCursor writes a list position as "<created unix nanoseconds>.<id>".
func formatCursor(c core.Cursor) string {
	return strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + "." + c.ID
}

// parseCursor reads a position written by formatCursor; anything else
// means the first page.
func parseCursor(s string) *core.Cursor {
	ns, id, ok := strings.Cut(s, ".")
	if !ok || !core.ValidTicketID(id) {
		return nil
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return nil
	}
	return &core.Cursor{CreatedAt: time.Unix(0, n).UTC(), ID: id}
}
