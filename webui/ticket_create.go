package webui

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"trivialtickets/core"
)

// validate checks the form before core does and returns every mistake.
func (f createForm) validate() formErrors {
	var errs formErrors
	switch {
	case f.Email == "":
		errs.add("email", "Enter your e-mail address: answers go there.")
	case utf8.RuneCountInString(f.Email) > core.MaxAddressLength:
		errs.add("email", fmt.Sprintf("Shorten the e-mail address to %d characters or fewer.", core.MaxAddressLength))
	case !strings.Contains(f.Email, "@") || strings.ContainsAny(f.Email, " <>,;"):
		errs.add("email", "Enter the e-mail address in the form name@example.com.")
	}
	if utf8.RuneCountInString(f.Subject) > core.MaxSubjectLength {
		errs.add("subject", fmt.Sprintf("Shorten the subject to %d characters or fewer.", core.MaxSubjectLength))
	}
	switch {
	case strings.TrimSpace(f.Message) == "":
		errs.add("message", "Write a message: what can we do for you?")
	case len(f.Message) > core.MaxTextLength:
		errs.add("message", fmt.Sprintf("Shorten the message to %d KiB or less, or send long logs by e-mail as an attachment.", core.MaxTextLength>>10))
	}
	return errs
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
	if f.Errors = f.validate(); f.Errors != nil {
		h.startPage(w, r, http.StatusBadRequest, f, "", "")
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
			f.Errors.add(createField(err), text)
			h.startPage(w, r, status, f, "", "")
			return
		}
		h.fail(w, r, err)
		return
	}
	h.log.Info("ticket created on the web", "ticket", res.TicketID)
	h.redirectFlash(w, r, "/ticket?id="+res.TicketID, flash{Text: "Your ticket was created. Keep this page's address: it is your link to the ticket."})
}

// createField is the field of the start page that core's objection to a
// new ticket is about: the address, unless it names the text.
func createField(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "subject"):
		return "subject"
	case strings.Contains(msg, "text") || strings.Contains(msg, "message") && !strings.Contains(msg, "address"):
		return "message"
	}
	return "email"
}
