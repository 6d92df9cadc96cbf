package webui

import "net/http"

// vacation switches the agent's vacation mode: POST /vacation with on=1
// or on=0.
func (h *handler) vacation(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me := currentAgent(r)
	on := r.PostFormValue("on") == "1"
	if err := h.svc.SetVacation(r.Context(), me.Username, on); err != nil {
		h.failBack(w, r, err, "/dashboard")
		return
	}
	text := "Vacation mode deactivated: tickets can be assigned to you again."
	if on {
		text = "Vacation mode activated: no new tickets can be assigned to you."
	}
	h.redirectFlash(w, r, "/dashboard", flash{Text: text})
}
