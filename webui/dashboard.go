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
	// Zone is the agent's own time zone ("" for the default), Default
	// the daemon's, Zones common choices for the form.
	Zone, Default string
	Zones         []string
	Errors        formErrors
}

// closedOnDashboard is how many closed tickets the dashboard's collapsed
// list shows before it links to the full list.
const closedOnDashboard = 10

// dashboard shows the agent's open and in-progress tickets first, the
// closed ones collapsed below, then the settings: GET /dashboard.
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) {
	h.renderDashboard(w, r, http.StatusOK, currentAgent(r).TimeZone, nil)
}

// renderDashboard renders the dashboard with status; zone refills the
// time zone field and errs say what was wrong with a settings form.
func (h *handler) renderDashboard(w http.ResponseWriter, r *http.Request, status int, zone string, errs formErrors) {
	me := currentAgent(r)
	st := parseListState(r.URL.Query())
	st.View, st.Status, st.Search, st.Path = core.ViewMine, "", "", "/dashboard"
	ws, err := h.svc.Workspace(r.Context(), core.WorkspaceQuery{Lists: []core.TicketQuery{
		st.query(me.Username),
		{Assignee: me.Username, Status: core.StatusClosed, Sort: core.SortActivity, Limit: closedOnDashboard},
	}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	active, closed := h.listPage(r, st, ws.Lists[0]), ws.Lists[1]
	p := dashboardPage{Active: active, Vacation: me.Vacation, Zone: zone, Default: h.svc.Config().DefaultTimeZone, Zones: commonZones, Errors: errs}
	p.Active.Caption, p.Active.ReleaseButtons = "My open and in-progress tickets", true
	p.Closed = listPage{Total: closed.Total, More: closed.More, Clock: p.Active.Clock, Caption: "My closed tickets"}
	if closed.HasNext {
		p.Closed.Next = "/tickets?view=mine&status=closed"
	}
	for _, t := range closed.Tickets {
		p.Closed.Tickets = append(p.Closed.Tickets, ticketRow{Ticket: t})
	}
	for _, l := range []*listPage{&p.Active, &p.Closed} {
		nameAssignees(ws.Agents, l, nil)
	}
	h.render(w, r, status, pageDashboard, page{Nav: "dashboard", Data: p})
}

// commonZones are offered in the time zone field; any IANA name works.
var commonZones = []string{
	"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Rome", "Europe/Vienna", "Europe/Zurich",
	"Europe/Warsaw", "Europe/Helsinki", "Europe/Istanbul", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore",
	"Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "America/New_York",
	"America/Chicago", "America/Denver", "America/Los_Angeles",
}
