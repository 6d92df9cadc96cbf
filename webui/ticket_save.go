package webui

import (
	"context"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"trivialtickets/core"
)

// saveTicket applies an agent's change from the ticket page: POST
// /ticket/save. Three forms post here: the answer (form=reply, the button
// chooses the reply type), the status change (form=status; the customer is
// mailed only when notify=1) and the merge. A form with mistakes is shown
// again with the values kept and every mistake beside its field.
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
		// Only the answer form offers taking the ticket.
		AssignToMe: r.PostFormValue("assign_to_me") == "1",
	}
	kind := r.PostFormValue("form")
	if kind == "status" && f.Reply == "" {
		f.Reply = "internal"
		if r.PostFormValue("notify") == "1" {
			f.Reply = "external"
		}
	}
	var errs formErrors
	var c core.Change
	switch f.Reply {
	case "internal":
	case "external":
		c.External = true
	default:
		errs.add("reply", "Choose a reply type: Internal note (agents only) or Reply to customer (the customer sees it and gets a mail).")
	}
	if f.Status != "" {
		st, err := core.ParseStatus(f.Status)
		if err != nil {
			errs.add(statusField(kind), "Choose a status: Open, In Progress or Closed.")
		}
		c.Status = st
	}
	if kind == "merge" && f.Merge == "" {
		errs.add("merge", "Choose the ticket to merge this one with.")
	}
	if errs != nil {
		h.renderTicket(w, r, http.StatusBadRequest, id, &f, errs)
		return
	}
	c.Comment, c.MergeInto, c.AssignToMe = f.Comment, f.Merge, f.AssignToMe
	if err := h.svc.Save(r.Context(), me.Username, id, c); err != nil {
		if status, text, ok := userError(err); ok && correctable(err) {
			field := "comment"
			switch {
			case f.Merge != "":
				field = "merge"
			case kind == "status":
				field = statusField(kind)
			}
			errs.add(field, text)
			h.renderTicket(w, r, status, id, &f, errs)
			return
		}
		h.fail(w, r, err)
		return
	}
	what := "Saved"
	switch {
	case f.Merge != "":
		what = "Merged"
	case strings.TrimSpace(f.Comment) != "" && c.External:
		what = "Reply sent to the customer on"
	case strings.TrimSpace(f.Comment) != "":
		what = "Internal note saved on"
	case c.Status != "":
		what = "Status set to " + c.Status.Label() + " on"
	}
	h.redirectFlash(w, r, ticketURL(id), flash{Text: what + " " + h.ticketName(r.Context(), id) + "."})
}

// ticketName names a ticket in flash messages: its subject in quotes,
// shortened, or its id.
func (h *handler) ticketName(ctx context.Context, id string) string {
	v, err := h.svc.ViewTicket(ctx, nil, id)
	if err != nil || strings.TrimSpace(v.Ticket.Subject) == "" {
		return "ticket " + id
	}
	s := strings.TrimSpace(v.Ticket.Subject)
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:59]) + "…"
	}
	return "ticket “" + s + "”"
}

// capitalize makes the first letter upper case, to start a sentence.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// statusField is the id of the status field of the form that was sent:
// the side column's status change or the answer's status.
func statusField(kind string) string {
	if kind == "status" {
		return "status-only"
	}
	return "status"
}
