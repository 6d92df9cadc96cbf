package webui_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestCommentOnMergedTicket: a comment sent from the page of a ticket that
// was merged in the meantime lands on the ticket it was merged into, and the
// customer is taken there.
func TestCommentOnMergedTicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "Alice")
	customer := e.browser()
	target := customer.create("carol@example.com", "Original request", "First message.")
	source := customer.create("carol@example.com", "Oops, again", "Second message.")
	a := e.browser()
	a.login("alice")
	for _, id := range []string{target, source} {
		expectCode(t, a.post("/ticket/assign", url.Values{"id": {id}, "agent": {"alice"}}), http.StatusSeeOther)
	}
	expectCode(t, a.post("/ticket/save", url.Values{"id": {source}, "form": {"merge"}, "reply": {"internal"}, "merge": {target}}), http.StatusSeeOther)

	r := customer.post("/ticket/comment", url.Values{"id": {source}, "comment": {"Written on the old page."}})
	if r.Code != http.StatusSeeOther || r.Location != "/ticket?id="+target {
		t.Fatalf("comment on the merged ticket: %d %q, want a redirect to the target %s", r.Code, r.Location, target)
	}
	r = customer.follow(r)
	expectContains(t, r.Body, "Written on the old page.", "Your comment was added to ticket “Original request”.")
	expectLacks(t, customer.get("/ticket?id="+source).Body, "Written on the old page.")
}
