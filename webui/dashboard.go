package webui

import (
	"net/http"

	"trivialtickets/core"
)

// dashboardPage is the data of the dashboard.
type dashboardPage struct {
	// Active are the agent's tickets that are not closed, Closed the
	// first page of the closed ones, out of the way.
	Active, Closed listPage
	Vacation       bool
	Zone           string
}

// closedOnDashboard is how many closed tickets the dashboard's collapsed
// list shows before it links to the full list.
const closedOnDashboard = 10

// dashboard shows the agent's open and in-progress tickets first, the
// closed ones collapsed below, then the settings: GET /dashboard.
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) {
	me := currentAgent(r)
	active, err := h.listPage(r, "/dashboard", core.TicketQuery{Assignee: me.Username, Status: core.StatusInProgress})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	closed, err := h.svc.ListTickets(r.Context(), core.TicketQuery{Assignee: me.Username, Status: core.StatusClosed, Limit: closedOnDashboard})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := dashboardPage{Active: active, Vacation: me.Vacation, Zone: h.clock(r).Zone()}
	p.Active.Caption, p.Active.ReleaseButtons = "My open and in-progress tickets", true
	p.Closed = listPage{Total: closed.Total, More: closed.More, Clock: p.Active.Clock, Caption: "My closed tickets"}
	if closed.Next != nil {
		p.Closed.Next = "/tickets?view=mine&status=closed"
	}
	for _, t := range closed.Tickets {
		p.Closed.Tickets = append(p.Closed.Tickets, ticketRow{Ticket: t})
	}
	for _, l := range []*listPage{&p.Active, &p.Closed} {
		if err := h.nameAssignees(r.Context(), l, nil); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusOK, pageDashboard, page{Nav: "dashboard", Data: p})
}
