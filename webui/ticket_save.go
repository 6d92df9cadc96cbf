package webui

import (
	"net/http"
	"strings"

	"trivialtickets/core"
)

// saveTicket applies an agent's change from the ticket page: POST
// /ticket/save. The reply type must be chosen; a form with mistakes is
// shown again with the values kept.
func (h *handler) saveTicket(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me := currentAgent(r)
	id := r.PostFormValue("id")
	f := saveForm{
		Status:  r.PostFormValue("status"),
		Reply:   r.PostFormValue("reply"),
		Comment: strings.ReplaceAll(r.PostFormValue("comment"), "\r\n", "\n"),
		Merge:   strings.TrimSpace(r.PostFormValue("merge")),
	}
	var c core.Change
	switch f.Reply {
	case "internal":
	case "external":
		c.External = true
	default:
		h.renderTicket(w, r, http.StatusBadRequest, id, &f, "Choose a reply type: Internal (agents only) or External (the customer sees it and gets a mail).")
		return
	}
	if f.Status != "" {
		st, err := core.ParseStatus(f.Status)
		if err != nil {
			h.renderTicket(w, r, http.StatusBadRequest, id, &f, "Choose a status: Open, In Progress or Closed.")
			return
		}
		c.Status = st
	}
	c.Comment, c.MergeInto = f.Comment, f.Merge
	if err := h.svc.Save(r.Context(), me.Username, id, c); err != nil {
		if status, text, ok := userError(err); ok && correctable(err) {
			h.renderTicket(w, r, status, id, &f, text)
			return
		}
		h.fail(w, r, err)
		return
	}
	h.redirectFlash(w, r, ticketURL(id), flash{Text: "Saved."})
}
