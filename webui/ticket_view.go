package webui

import (
	"net/http"
	"net/url"

	"trivialtickets/core"
)

// saveForm is the agent's form on the ticket page.
type saveForm struct {
	Status  string
	Reply   string // "internal" or "external"; must be chosen
	Comment string
	Merge   string
}

// ticketPage is the data of the ticket page. It repeats the fields of
// core.TicketView rather than embedding it: the templates look fields up by
// name, and a promoted field costs reflect a search through the embedded
// structs on every lookup.
type ticketPage struct {
	Ticket          core.Ticket
	Entries         []core.Entry
	CanEdit         bool
	MergeCandidates []core.Ticket
	Assignee        *core.Agent
	// Agent is set for logged-in agents, who see every entry.
	Agent bool
	// Mine: the ticket is assigned to the viewing agent.
	Mine bool
	// MergeTarget is the ticket this one lives on in, for merged tickets.
	MergeTarget core.Ticket
	Statuses    []core.Status
	Form        saveForm
	// Comment refills the customer's comment form.
	Comment string
	// MailboxName names the support address the ticket came in on.
	MailboxName string
}

// viewTicket shows a ticket: GET /ticket?id=. Customers see the external
// entries, agents all of them.
func (h *handler) viewTicket(w http.ResponseWriter, r *http.Request) {
	h.renderTicket(w, r, http.StatusOK, r.URL.Query().Get("id"), nil, "")
}

// renderTicket renders the page of ticket id with status; form, when not
// nil, refills the agent's form that was sent, and alert says what was
// wrong with it.
func (h *handler) renderTicket(w http.ResponseWriter, r *http.Request, status int, id string, form *saveForm, alert string) {
	me := currentAgent(r)
	v, err := h.svc.ViewTicket(r.Context(), me, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := ticketPage{Ticket: v.Ticket, Entries: v.Entries, CanEdit: v.CanEdit, MergeCandidates: v.MergeCandidates,
		Assignee: v.Assignee, Agent: me != nil, Statuses: core.Statuses, MailboxName: v.MailboxName}
	if v.MergedInto != nil {
		p.MergeTarget = *v.MergedInto
	} else if v.Ticket.Merged() {
		p.MergeTarget = core.Ticket{ID: v.Ticket.MergedInto, Subject: "ticket"}
	}
	if me != nil {
		p.Mine = v.Ticket.Assignee == me.Username
	}
	if form != nil {
		p.Form = *form
	} else {
		p.Form.Status = string(v.Ticket.Status)
	}
	nav := ""
	if me != nil {
		nav = "tickets"
	}
	h.render(w, r, status, pageTicket, page{Nav: nav, Alert: alert, Data: p})
}

// ticketURL is the address of a ticket's page.
func ticketURL(id string) string {
	return "/ticket?id=" + url.QueryEscape(id)
}
