package storetest

import (
	"context"
	"slices"
	"strings"

	"trivialtickets/core"
)

// svcCustomerCommentMerged: a comment on the page of a merged ticket takes
// the path of the customer's answer by mail: it lands on the ticket the
// merged one lives on in, reopens it when it is closed, tells the assignee
// with the same notice a mail answer gives, and mails the customer nothing.
func svcCustomerCommentMerged(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agentsByMail()
	src := e.newTicket("Old printer")
	dst := e.newTicket("New printer")
	for _, id := range []string{src, dst} {
		e.must("assign", e.svc.Assign(ctx, "bob", id, "bob"))
	}
	e.must("merge", e.svc.Save(ctx, "bob", src, core.Change{MergeInto: dst}))
	e.must("close the target", e.svc.Save(ctx, "bob", dst, core.Change{Status: core.StatusClosed}))
	srcEntries := len(e.entries(src, true))
	before := len(e.pending())

	e.must("comment on the merged ticket", comment(ctx, e, src, "  Still broken.  "))
	if n := len(e.entries(src, true)); n != srcEntries {
		t.Errorf("the merged ticket got %d entries, want none", n-srcEntries)
	}
	es := e.entries(dst, true)
	last := es[len(es)-1]
	if last.Text != "Still broken." || last.AuthorKind != core.AuthorCustomer || last.Author != "alice@example.com" ||
		last.AuthorName != "Alice" || last.Internal {
		t.Errorf("the target's last entry = %+v, want the customer's comment", last)
	}
	if !slices.Contains(texts(es), "Reopened: the customer commented on the closed ticket.") {
		t.Errorf("no note that the comment reopened the target: %q", texts(es))
	}
	if tk := e.ticket(dst); tk.Status != core.StatusOpen || tk.Assignee != "bob" {
		t.Errorf("target after the comment: status %s, assignee %q; want Open, bob", tk.Status, tk.Assignee)
	}
	if tk := e.ticket(src); tk.Status != core.StatusClosed || tk.MergedInto != dst {
		t.Errorf("merged ticket after the comment: status %s, merged into %q", tk.Status, tk.MergedInto)
	}
	ms := e.pending()
	commentNotice := mailsTo(ms, before, "bob@agents.example")
	if len(ms) != before+1 || len(commentNotice) != 1 {
		t.Fatalf("the comment queued %d mails (%d to bob), want one notice to bob", len(ms)-before, len(commentNotice))
	}
	n := commentNotice[0]
	if n.TicketID != dst || !strings.Contains(n.Subject, core.Tag(dst)) || !strings.Contains(n.Body, "Still broken.") ||
		!strings.Contains(n.Body, "answered on the ticket") || !strings.HasPrefix(n.ReplyTo, "support+"+dst+".bob.") {
		t.Errorf("notice of the comment = %+v", n)
	}

	// The same words by mail, answering the merged ticket, take the same
	// way: onto the target, and the same notice to bob.
	e.receive(mail(core.Tag(src)+" Old printer", "Still broken."))
	ms2 := e.pending()
	mailNotice := mailsTo(ms2, len(ms), "bob@agents.example")
	if len(ms2) != len(ms)+1 || len(mailNotice) != 1 {
		t.Fatalf("the answer by mail queued %d mails (%d to bob), want one notice to bob", len(ms2)-len(ms), len(mailNotice))
	}
	if m := mailNotice[0]; m.TicketID != n.TicketID || m.Subject != n.Subject || m.ReplyTo != n.ReplyTo || m.Body != n.Body {
		t.Errorf("notice of the mail answer differs from the comment's:\n%+v\n%+v", m, n)
	}
	for _, m := range ms2[before:] {
		if m.To == "alice@example.com" {
			t.Errorf("a customer's words mailed the customer: %+v", m)
		}
	}

	wantErr(t, "a comment too long", comment(ctx, e, src, strings.Repeat("x", core.MaxCommentLength+1)), core.ErrInvalid)
	wantErr(t, "a comment on no ticket id", comment(ctx, e, "../etc/passwd", "x"), core.ErrNotFound)
}

// comment adds the customer's comment text to ticket id and returns only
// the error.
func comment(ctx context.Context, e *env, id, text string) error {
	_, err := e.svc.CustomerComment(ctx, id, text)
	return err
}
