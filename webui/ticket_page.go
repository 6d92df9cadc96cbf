package webui

import (
	"fmt"
	"net/url"

	"github.com/a-h/templ"

	"trivialtickets/core"
)

// The ticket page is rendered by templ components (ticket.templ, compiled
// to ticket_templ.go by `templ generate`): it is the page customers and
// agents open most, and html/template's reflection was a third of its
// time. templ escapes by context as html/template does.

// orText is s, or def when s is empty.
func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// attachmentURL is the address of an attachment of a ticket.
func attachmentURL(ticketID string, attID int64) string {
	return fmt.Sprintf("/ticket/attachment?id=%s&att=%d", url.QueryEscape(ticketID), attID)
}

// invalidAttrs marks a form control whose field has the mistake e, and
// links it to the message; none when e is nil.
func invalidAttrs(e *fieldError) templ.Attributer {
	if e == nil {
		return templ.OrderedAttributes{}
	}
	return templ.OrderedAttributes{{Key: "aria-invalid", Value: "true"}, {Key: "aria-describedby", Value: e.Field + "-error"}}
}

// assigneeName is the assigned agent's display name, else def.
func (p *ticketPage) assigneeName(def string) string {
	if p.Assignee != nil {
		return p.Assignee.DisplayName()
	}
	return def
}

// otherSender reports whether a customer's entry came from an address
// other than the ticket's customer.
func otherSender(e core.Entry, customer string) bool {
	return e.AuthorKind == core.AuthorCustomer && e.Author != "" && !core.SameAddress(e.Author, customer)
}

// title is the page's title: the subject, marked when the form sent had
// mistakes.
func (p *ticketPage) title() string {
	t := orText(p.Ticket.Subject, "Ticket")
	if len(p.Errors) > 0 {
		return "Error: " + t
	}
	return t
}
