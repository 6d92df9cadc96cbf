package webui_test

import (
	"context"
	"strings"
	"testing"

	"trivialtickets/core"
)

// TestQuotedTextBehindToggle: a reply that quotes earlier mail shows its new
// text on the ticket page and the quoted rest inside a closed <details>.
func TestQuotedTextBehindToggle(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	id := b.create("alice@example.com", "Printer", "It is on fire.")
	_, err := e.svc.Receive(context.Background(), core.InboundMessage{Door: core.DoorSMTP, From: "alice@example.com",
		Subject: core.Tag(id) + " Printer", MessageID: "reply-1@example.com",
		Text: "Now it smokes.\n\nOn Monday, Support wrote:\n> We are on it.\n"})
	if err != nil {
		t.Fatal(err)
	}
	body := b.get("/ticket?id=" + id).Body
	expectContains(t, body, `<div class="text">Now it smokes.</div>`,
		`<details class="quoted"><summary>Quoted text</summary><div class="text">On Monday, Support wrote:`+"\n&gt; We are on it.")
	if strings.Count(body, "<details") != 1 {
		t.Errorf("want one quoted block:\n%s", excerpt(body))
	}
}
