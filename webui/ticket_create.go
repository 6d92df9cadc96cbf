package webui

import (
	"net/http"
	"strings"

	"trivialtickets/core"
)

// validate checks the form before core does; it returns a message for the
// user or "".
func (f createForm) validate() string {
	switch {
	case f.Email == "":
		return "Enter your e-mail address: answers go there."
	case strings.TrimSpace(f.Message) == "":
		return "Write a message: what can we do for you?"
	}
	return ""
}

// createTicket opens a ticket from the start page form: POST /ticket/new.
func (h *handler) createTicket(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := createForm{
		Email:   strings.TrimSpace(r.PostFormValue("email")),
		Subject: strings.TrimSpace(r.PostFormValue("subject")),
		Message: r.PostFormValue("message"),
	}
	if msg := f.validate(); msg != "" {
		h.startPage(w, r, http.StatusBadRequest, f, msg, "")
		return
	}
	res, err := h.svc.Receive(r.Context(), core.InboundMessage{
		Door:    core.DoorWeb,
		From:    f.Email,
		Subject: f.Subject,
		Text:    strings.ReplaceAll(f.Message, "\r\n", "\n"),
	})
	if err != nil {
		if status, text, ok := userError(err); ok && correctable(err) {
			h.startPage(w, r, status, f, text, "")
			return
		}
		h.fail(w, r, err)
		return
	}
	h.log.Info("ticket created on the web", "ticket", res.TicketID)
	h.redirectFlash(w, r, "/ticket?id="+res.TicketID, flash{Text: "Your ticket was created. Keep this page's address: it is your link to the ticket."})
}
