package webui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestRenderPages executes every page with sample data, so that a
// template that parses but fails at run time is caught without a store;
// the ticket page is templ's.
func TestRenderPages(t *testing.T) {
	tpl, err := parseTemplates(assets)
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{log: slog.New(slog.DiscardHandler), tpl: tpl}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tk := core.Ticket{ID: "abcdefghijklmnop", Subject: "Subject <b>", Customer: "c@example.com", Status: core.StatusInProgress, Assignee: "alice", CreatedAt: now}
	alice := &core.Agent{Username: "alice", Name: "Alice"}
	entries := []core.Entry{
		{AuthorKind: core.AuthorCustomer, Author: "c@example.com", Text: "hello", CreatedAt: now,
			Attachments: []core.Attachment{{ID: 7, Filename: "a.png", Size: 2048}}},
		{AuthorKind: core.AuthorSystem, Internal: true, Text: "assigned", CreatedAt: now, FromTicket: "bbbbbbbbbbbbbbbb"},
	}
	merged := tk
	merged.MergedInto = "bbbbbbbbbbbbbbbb"
	list := listPage{Tickets: []ticketRow{{Ticket: tk, AssigneeName: "Alice"}, {Ticket: core.Ticket{ID: "cccccccccccccccc", Status: core.StatusOpen}}}, Total: 2, Next: "/tickets?page=2", Prev: "/tickets", Back: "/tickets"}
	list.From, list.To = 1, 2
	withRelease, withAgents := list, list
	withRelease.ReleaseButtons = true
	withAgents.AssignForms, withAgents.Agents = true, []core.Agent{*alice}
	tests := []struct {
		name  string
		agent *core.Agent
		page  page
		want  []string
	}{
		{pageStart, nil, page{Data: createForm{Email: "x@y"}, Alert: "bad"}, []string{"Create ticket", `value="x@y"`, "bad"}},
		{pageStart, nil, page{Data: createForm{Errors: formErrors{{"email", "Enter it."}, {"message", "Write it."}}}},
			[]string{`<a href="#email">Enter it.</a>`, `<a href="#message">Write it.</a>`, `id="email-error"`, `aria-describedby="email-hint email-error" aria-invalid="true"`, `aria-invalid="true" aria-describedby="message-error"`}},
		{pageLogin, nil, page{Data: loginForm{Username: "al", Errors: formErrors{{"username", "Wrong username or password."}}}},
			[]string{"Agent login", `value="al"`, `<a href="#username">Wrong username or password.</a>`, `id="username-error"`}},
		{"ticket", nil, page{Data: ticketPage{Ticket: tk, Entries: entries[:1], Statuses: core.Statuses}}, []string{"Add comment", "a.png", "2.0 KiB", "/ticket/attachment?id=abcdefghijklmnop&amp;att=7"}},
		{"ticket", alice, page{Data: ticketPage{Ticket: tk, Entries: entries, CanEdit: true, Assignee: alice,
			MergeCandidates: []core.Ticket{{ID: "dddddddddddddddd", Subject: "Other", CreatedAt: now}}, Agent: true, Mine: true, CanRelease: true, Statuses: core.Statuses, Form: saveForm{Status: "in_progress"}}},
			[]string{"Reply to customer", "Internal note", "Save status", "Release ticket", "entry from-system internal", "dddddddddddddddd", `<time datetime="2026-03-04T05:06:07Z" title="Wed 4 Mar 2026, 05:06 UTC">`, "Subject &lt;b&gt;"}},
		{"ticket", alice, page{Data: ticketPage{Ticket: tk, Entries: entries, Assignee: &core.Agent{Username: "bob"}, Agent: true, Statuses: core.Statuses}}, []string{"Assigned to bob: read-only."}},
		{"ticket", nil, page{Data: ticketPage{Ticket: merged, Entries: entries[:1], MergeTarget: core.Ticket{ID: "bbbbbbbbbbbbbbbb", Subject: "Target"}}}, []string{"This ticket was merged into", "Target"}},
		{pageDashboard, alice, page{Data: dashboardPage{Active: withRelease, Closed: list, Vacation: true}}, []string{"Deactivate vacation mode", "Release ticket", "Next page", "1–2 of 2"}},
		{pageTickets, alice, page{Data: ticketsPage{List: withAgents, Filters: []listTab{{Label: "Any status", URL: "/tickets", Active: true}}}}, []string{"Assign", "Previous page", `<option value="alice">Alice</option>`}},
		{pageNotFound, nil, page{}, []string{"Page not found"}},
		{pageMessage, alice, page{Data: message{Title: "T", Text: "x"}}, []string{"Logout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.agent != nil {
				r = r.WithContext(context.WithValue(r.Context(), agentKey{}, tt.agent))
			}
			w := httptest.NewRecorder()
			if d, ok := tt.page.Data.(ticketPage); ok {
				h.renderComponents(w, r, http.StatusOK, tt.page, ticketTitle(&d), ticketContent(&d))
			} else {
				h.render(w, r, http.StatusOK, tt.name, tt.page)
			}
			body, _ := io.ReadAll(w.Result().Body)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, body)
			}
			for _, want := range tt.want {
				if !strings.Contains(string(body), want) {
					t.Errorf("lacks %q:\n%s", want, body)
				}
			}
		})
	}
}
