// Package webui is the server-rendered web interface of Trivial Tickets:
// the start page with the "Create ticket" form, the ticket page for
// customers and agents, the agents' dashboard and ticket list, login and
// logout.
//
// Pages are html/template files embedded in the binary and parsed once in
// New. Every state change is a POST protected by http.CrossOriginProtection
// and answered with a redirect (post/redirect/get) and a flash message, or
// with the form rendered again and a message. No page needs JavaScript.
//
// The package holds no domain rules: every decision (who may edit, what a
// customer sees, which tickets can be merged) is core.Service's. Errors from
// core are turned into responses in one place, errors.go.
package webui
