package webui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"trivialtickets/core"
)

// saveForm is one of the agent's forms on the ticket page: the answer,
// the status change or the merge.
type saveForm struct {
	Status  string
	Reply   string // "internal" or "external"; chosen with the button
	Comment string
	Merge   string
	// AssignToMe takes an unassigned ticket with the answer.
	AssignToMe bool
}

// ticketPage is the data of the ticket page. It repeats the fields of
// core.TicketView rather than embedding it: the templates look fields up by
// name, and a promoted field costs reflect a search through the embedded
// structs on every lookup.
type ticketPage struct {
	Ticket core.Ticket
	// Entries are newest first.
	Entries         []core.Entry
	CanEdit         bool
	MergeCandidates []core.Ticket
	Assignee        *core.Agent
	// Agent is set for logged-in agents, who see every entry.
	Agent bool
	// Me is the viewing agent's username.
	Me string
	// Mine: the ticket is assigned to the viewing agent.
	Mine bool
	// CanTake: the ticket is unassigned and can be taken with "Assign to
	// me", alone or with the answer.
	CanTake bool
	// CanRelease: the ticket is the viewer's and not Closed.
	CanRelease bool
	// MergeTarget is the ticket this one lives on in, for merged tickets.
	MergeTarget core.Ticket
	Statuses    []core.Status
	Form        saveForm
	Errors      formErrors
	// Comment refills the customer's comment form.
	Comment string
	// MailboxName names the support address the ticket came in on.
	MailboxName string
	// OtherTickets are the customer's other tickets, for agents.
	OtherTickets []core.Ticket
	// ReplyAddress is where the customer can write to add to the ticket,
	// with ReplySubject.
	ReplyAddress, ReplySubject string
	Clock                      clock
}

// viewTicket shows a ticket: GET /ticket?id=. Customers see the external
// entries, agents all of them. It is the one page that checks the session
// cookie itself (not in loadSession): it reads the session with the
// ticket, in one transaction, and like loadSession it clears the cookie
// of a session that ended and then serves the customer's page.
func (h *handler) viewTicket(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if token := sessionToken(r); token != "" {
		v, me, err := h.svc.ViewTicketAs(r.Context(), token, id)
		if me != nil {
			r = withAgent(r, me)
		} else if errors.Is(err, core.ErrNoSession) || errors.Is(err, core.ErrNotFound) {
			h.clearSessionCookie(w)
		}
		switch {
		case errors.Is(err, core.ErrNoSession):
			// A customer: the customer's page below.
		case err != nil:
			h.fail(w, r, err)
			return
		default:
			h.renderView(w, r, http.StatusOK, v, nil, nil)
			return
		}
	}
	if h.pages != nil && cacheableRequest(r) {
		if body, ok := h.cachedTicket(r, id); ok {
			writeBody(w, http.StatusOK, body)
			return
		}
	}
	h.renderTicket(w, r, http.StatusOK, id, nil, nil)
}

// renderTicket renders the page of ticket id with status; form, when not
// nil, refills the agent's form that was sent, and errs say what was wrong
// with it.
func (h *handler) renderTicket(w http.ResponseWriter, r *http.Request, status int, id string, form *saveForm, errs formErrors) {
	v, err := h.svc.ViewTicket(r.Context(), currentAgent(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderView(w, r, status, v, form, errs)
}

// renderView renders the ticket page of view v for the request's viewer
// (renderTicket).
func (h *handler) renderView(w http.ResponseWriter, r *http.Request, status int, v core.TicketView, form *saveForm, errs formErrors) {
	me := currentAgent(r)
	entries := slices.Clone(v.Entries)
	slices.Reverse(entries)
	p := ticketPage{Ticket: v.Ticket, Entries: entries, CanEdit: v.CanEdit, MergeCandidates: v.MergeCandidates,
		Assignee: v.Assignee, Agent: me != nil, Statuses: core.Statuses, Errors: errs, Clock: h.clock(r),
		ReplyAddress: v.ReplyAddress, ReplySubject: v.ReplySubject, OtherTickets: v.CustomerTickets,
		MailboxName: v.MailboxName}
	if v.MergedInto != nil {
		p.MergeTarget = *v.MergedInto
	} else if v.Ticket.Merged() {
		p.MergeTarget = core.Ticket{ID: v.Ticket.MergedInto, Subject: "ticket"}
	}
	if me != nil {
		p.Me = me.Username
		p.Mine = v.Ticket.Assignee == me.Username
		open := !v.Ticket.Merged()
		p.CanTake = open && v.Ticket.Assignee == "" && !me.Vacation
		p.CanRelease = open && p.Mine && v.Ticket.Status != core.StatusClosed
		// Opening the ticket clears its unread marker; a failure only
		// leaves the marker. The view already tells whether there is one
		// to clear, so an ordinary view takes no write transaction.
		if p.Mine && r.Method == http.MethodGet && (v.Ticket.SeenAt.IsZero() || v.Ticket.UnreadFor(me.Username)) {
			if err := h.svc.MarkSeen(r.Context(), me.Username, v.Ticket.ID); err != nil {
				h.log.Warn("could not mark ticket seen", "username", me.Username, "err", err)
			}
		}
	}
	if form != nil {
		p.Form, p.Comment = *form, form.Comment
	} else {
		p.Form.Status = string(v.Ticket.Status)
		p.Form.AssignToMe = true
	}
	if h.pages != nil && me == nil && status == http.StatusOK && form == nil && errs == nil &&
		!v.Ticket.Merged() && cacheableRequest(r) {
		h.renderCachedTicket(w, r, &p, v.Version)
		return
	}
	nav := ""
	if me != nil {
		nav = "tickets"
	}
	h.renderComponents(w, r, status, page{Nav: nav}, ticketTitle(&p), ticketContent(&p))
}

// ticketURL is the address of a ticket's page.
func ticketURL(id string) string {
	return "/ticket?id=" + url.QueryEscape(id)
}

// LastActivity is the time of the ticket's latest entry.
func (p ticketPage) LastActivity() time.Time { return ticketRow{Ticket: p.Ticket}.LastActivity() }

// WaitingOn says whose turn it is: "us", "customer", or "" when closed.
func (p ticketPage) WaitingOn() string { return ticketRow{Ticket: p.Ticket}.WaitingOn() }
