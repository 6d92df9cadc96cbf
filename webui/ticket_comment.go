package webui

import (
	"net/http"
	"strings"
)

// commentTicket adds the customer's comment from the ticket page: POST
// /ticket/comment.
func (h *handler) commentTicket(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	id := r.PostFormValue("id")
	text := strings.ReplaceAll(r.PostFormValue("comment"), "\r\n", "\n")
	landedOn, err := h.svc.CustomerComment(r.Context(), id, text)
	if err != nil {
		if status, msg, ok := userError(err); ok && correctable(err) {
			var errs formErrors
			errs.add("comment", msg)
			h.renderTicket(w, r, status, id, &saveForm{Comment: text}, errs)
			return
		}
		h.fail(w, r, err)
		return
	}
	// A comment on a merged ticket lands on the ticket it was merged
	// into: the customer is shown that one.
	h.redirectFlash(w, r, ticketURL(landedOn), flash{Text: "Your comment was added to " + h.ticketName(r.Context(), landedOn) + "."})
}
