package webui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
)

// BenchmarkTicketPageRender renders the ticket page of a ticket with four
// entries, one with an attachment, as the customer and as its agent: the
// templates alone, without store or network (go test ./webui -run '^$'
// -bench TicketPageRender -benchmem).
func BenchmarkTicketPageRender(b *testing.B) {
	tpl, err := parseTemplates(assets)
	if err != nil {
		b.Fatal(err)
	}
	h := &handler{log: slog.New(slog.DiscardHandler), tpl: tpl}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tk := core.Ticket{ID: "abcdefghijklmnop", Subject: "Der Drucker im Erdgeschoss druckt nur leere Seiten", Customer: "c@example.com",
		Status: core.StatusInProgress, Assignee: "alice", CreatedAt: now, UpdatedAt: now.Add(time.Hour)}
	alice := &core.Agent{Username: "alice", Name: "Alice Agent"}
	text := strings.Repeat("Sehr geehrte Damen und Herren, der Drucker druckt seit Montag nur noch leere Seiten. ", 4)
	entries := []core.Entry{
		{AuthorKind: core.AuthorCustomer, Author: "c@example.com", AuthorName: "Carol", Text: text + "\n\nOn Mon, Alice wrote:\n> earlier", CreatedAt: now.Add(3 * time.Hour)},
		{AuthorKind: core.AuthorAgent, Author: "alice", AuthorName: "Alice Agent", Text: text, CreatedAt: now.Add(2 * time.Hour)},
		{AuthorKind: core.AuthorAgent, Author: "alice", AuthorName: "Alice Agent", Internal: true, Text: "Called the customer.", CreatedAt: now.Add(time.Hour)},
		{AuthorKind: core.AuthorCustomer, Author: "c@example.com", AuthorName: "Carol", Text: text, CreatedAt: now,
			Attachments: []core.Attachment{{ID: 7, Filename: "printer.jpg", Size: 204800}}},
	}
	others := []core.Ticket{{ID: "bbbbbbbbbbbbbbbb", Subject: "Toner", Status: core.StatusClosed}, {ID: "cccccccccccccccc", Subject: "Scanner", Status: core.StatusOpen}}
	for _, bc := range []struct {
		name  string
		agent *core.Agent
		data  ticketPage
	}{
		{"customer", nil, ticketPage{Ticket: tk, Entries: []core.Entry{entries[0], entries[1], entries[3]}, Statuses: core.Statuses,
			ReplyAddress: "support+abcdefghijklmnop@example.com", ReplySubject: `Re: [Ticket "abcdefghijklmnop"] Der Drucker`}},
		{"agent", alice, ticketPage{Ticket: tk, Entries: entries, CanEdit: true, Assignee: alice, Agent: true, Me: "alice", Mine: true,
			CanRelease: true, Statuses: core.Statuses, Form: saveForm{Status: "in_progress"}, OtherTickets: others, MergeCandidates: others[1:]}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/ticket?id="+tk.ID, nil)
			if bc.agent != nil {
				r = r.WithContext(context.WithValue(r.Context(), agentKey{}, bc.agent))
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				d := bc.data
				h.renderComponents(w, r, http.StatusOK, page{}, ticketTitle(&d), ticketContent(&d))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
