package webui

import (
	"net/http"
	"strings"
)

// assignTicket gives an unassigned ticket to an agent from the list of all
// tickets: POST /ticket/assign. Agents in vacation mode are refused by
// core, not only left out of the list.
func (h *handler) assignTicket(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me := currentAgent(r)
	id := r.PostFormValue("id")
	agent := strings.TrimSpace(r.PostFormValue("agent"))
	back := localPath(r.PostFormValue("back"), "/tickets")
	if agent == "" {
		h.redirectFlash(w, r, back, flash{Error: true, Text: "Choose an agent to assign the ticket to."})
		return
	}
	if err := h.svc.Assign(r.Context(), me.Username, id, agent); err != nil {
		h.failBack(w, r, err, back)
		return
	}
	name := agent
	if a, err := h.svc.Agent(r.Context(), agent); err == nil {
		name = a.DisplayName()
	}
	if agent == me.Username {
		name = "you"
	}
	h.redirectFlash(w, r, back, flash{Text: capitalize(h.ticketName(r.Context(), id)) + " assigned to " + name + "."})
}
