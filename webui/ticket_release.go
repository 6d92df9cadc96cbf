package webui

import "net/http"

// releaseTicket gives up the agent's own ticket; it becomes Open and
// unassigned: POST /ticket/release.
func (h *handler) releaseTicket(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me := currentAgent(r)
	back := localPath(r.PostFormValue("back"), "/dashboard")
	id := r.PostFormValue("id")
	if err := h.svc.Release(r.Context(), me.Username, id); err != nil {
		h.failBack(w, r, err, back)
		return
	}
	h.redirectFlash(w, r, back, flash{Text: capitalize(h.ticketName(r.Context(), id)) + " released: it is Open and waits for an agent."})
}
