package webui

import (
	"cmp"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"trivialtickets/core"
)

// listPage is one page of a ticket list with links to the next and first
// pages.
type listPage struct {
	Tickets []ticketRow
	Total   int
	More    bool   // more than Total tickets match
	Next    string // URL of the next page; empty on the last
	First   string // URL of the first page; empty on it
	Back    string // URL of this page, where forms return to
}

// ticketRow is one line of a ticket list.
type ticketRow struct {
	core.Ticket
	AssigneeName string
}

// filterOption is one choice of the status filter.
type filterOption struct {
	Value, Label, URL string
	Active            bool
}

// ticketsPage is the data of "All tickets".
type ticketsPage struct {
	listPage
	Filters []filterOption
	// Agents can be chosen for unassigned tickets: those not in vacation
	// mode.
	Agents []core.Agent
}

// listTickets shows every ticket that was not merged, newest first, one
// page at a time: GET /tickets?status=&after=.
func (h *handler) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, err := core.ParseStatus(q.Get("status"))
	if err != nil {
		status = ""
	}
	l, err := h.listPage(r, "/tickets", core.TicketQuery{Status: status})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	agents, err := h.svc.Agents(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := make(map[string]string, len(agents))
	p := ticketsPage{}
	for _, a := range agents {
		names[a.Username] = a.DisplayName()
		if !a.Vacation {
			p.Agents = append(p.Agents, a)
		}
	}
	for i := range l.Tickets {
		if u := l.Tickets[i].Assignee; u != "" {
			l.Tickets[i].AssigneeName = cmp.Or(names[u], u)
		}
	}
	p.listPage = l
	p.Filters = append(p.Filters, filterOption{Label: "All", URL: "/tickets", Active: status == ""})
	for _, st := range core.Statuses {
		p.Filters = append(p.Filters, filterOption{Value: string(st), Label: st.Label(),
			URL: "/tickets?status=" + string(st), Active: st == status})
	}
	h.render(w, r, http.StatusOK, pageTickets, page{Nav: "tickets", Data: p})
}

// listPage loads the page of q that the request's "after" parameter asks
// for; path is the list's address, other parameters are kept in links.
func (h *handler) listPage(r *http.Request, path string, q core.TicketQuery) (listPage, error) {
	params := r.URL.Query()
	q.After = parseCursor(params.Get("after"))
	l, err := h.svc.ListTickets(r.Context(), q)
	if err != nil {
		return listPage{}, err
	}
	params.Del("after")
	if q.Status == "" {
		params.Del("status")
	} else {
		params.Set("status", string(q.Status))
	}
	link := func(p url.Values) string {
		if e := p.Encode(); e != "" {
			return path + "?" + e
		}
		return path
	}
	p := listPage{Total: l.Total, More: l.More, First: link(params), Back: link(params)}
	if q.After == nil {
		p.First = ""
	} else {
		after := url.Values{}
		for k, v := range params {
			after[k] = v
		}
		after.Set("after", formatCursor(*q.After))
		p.Back = link(after)
	}
	if l.Next != nil {
		next := url.Values{}
		for k, v := range params {
			next[k] = v
		}
		next.Set("after", formatCursor(*l.Next))
		p.Next = link(next)
	}
	for _, t := range l.Tickets {
		p.Tickets = append(p.Tickets, ticketRow{Ticket: t})
	}
	return p, nil
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
