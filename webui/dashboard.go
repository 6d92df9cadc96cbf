package webui

import (
	"net/http"

	"trivialtickets/core"
)

// dashboardPage is the data of the dashboard.
type dashboardPage struct {
	listPage
	Vacation bool
}

// dashboard shows the agent's settings and tickets: GET /dashboard.
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) {
	me := currentAgent(r)
	l, err := h.listPage(r, "/dashboard", core.TicketQuery{Assignee: me.Username})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pageDashboard, page{Nav: "dashboard", Data: dashboardPage{listPage: l, Vacation: me.Vacation}})
}
