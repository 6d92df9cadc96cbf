package storetest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"trivialtickets/core"
)

// The agents' workspace (issue 10): search, views and counts, orders and
// paging, last activity and the unread marker, and the rules of the
// ticket page, end to end on the store under test.

// search lists the ids that a search by bob finds, in order.
func (e *env) search(q string) []string {
	e.t.Helper()
	l, err := e.svc.ListTickets(e.t.Context(), core.TicketQuery{Search: q, Viewer: "bob", Limit: 100})
	if err != nil {
		e.t.Fatalf("search %q: %v", q, err)
	}
	return ids(l.Tickets)
}

func svcSearch(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	ja := mail("請求書について", "先月の請求書が届きません。確認していただけますか。")
	ja.From, ja.FromName = "tanaka@example.jp", "田中 太郎"
	jaID := e.receive(ja).TicketID
	de := mail("Rückerstattung für Bestellung 4711", "Guten Tag, die Überweisung ist nicht angekommen. Grüße")
	de.From, de.FromName = "ops@bigclient.com", "Jürgen Groß"
	deID := e.receive(de).TicketID
	plain := e.newTicket("Printer on fire")

	for _, c := range []struct {
		q    string
		want []string
	}{
		{"請求", []string{jaID}},          // a two-character word inside a sentence
		{"届きません", []string{jaID}},       // a longer one
		{"確認", []string{jaID}},          // from the text, not the subject
		{"田中", []string{jaID}},          // the customer's name
		{"Überweisung", []string{deID}}, // umlaut, capital
		{"überweisung", []string{deID}}, // any case
		{"GRÜSSE", nil},                 // ß is no ss: not found, and no error
		{"rückerstattung 4711", []string{deID}},
		{"ops@bigclient.com", []string{deID}},
		{"bigclient", []string{deID}},
		{"Jürgen", []string{deID}},
		{jaID, []string{jaID}},
		{strings.ToUpper(plain), []string{plain}},
		{"fire printer", []string{plain}},
		{"printer nothing", nil},
		{"請求 printer", nil},
	} {
		if got := e.search(c.q); !slices.Equal(got, c.want) {
			t.Errorf("search %q = %v, want %v", c.q, got, c.want)
		}
	}

	// A word of a later entry, internal ones included; the daemon's own
	// lines are not searched.
	e.must("internal note", e.svc.Save(ctx, "bob", plain, core.Change{Comment: "Call the Feuerwehr first."}))
	e.must("answer", e.svc.Save(ctx, "bob", plain, core.Change{Comment: "Extinguisher is on its way.", External: true}))
	e.receive(mail(`Re: [Ticket "`+plain+`"] Printer on fire`, "Thanks, the smoke is gone."))
	for _, q := range []string{"feuerwehr", "extinguisher", "smoke"} {
		if got := e.search(q); !slices.Equal(got, []string{plain}) {
			t.Errorf("search %q after later entries = %v, want [%s]", q, got, plain)
		}
	}
	e.must("take", e.svc.Assign(ctx, "bob", jaID, "bob"))
	if got := e.search("assigned"); len(got) != 0 {
		t.Errorf("search finds the daemon's line \"Assigned to…\": %v", got)
	}

	// Snippets: the text around the match, which Text[Start:End] is.
	l, err := e.svc.ListTickets(ctx, core.TicketQuery{Search: "請求", Viewer: "bob"})
	e.must("search", err)
	if len(l.Items) != 1 {
		t.Fatalf("items of the search: %+v", l.Items)
	}
	sn := l.Items[0].Snippet
	if sn.Text[sn.Start:sn.End] != "請求" || !strings.Contains(sn.Text, "先月の請求書") {
		t.Errorf("snippet %+v", sn)
	}
	l, err = e.svc.ListTickets(ctx, core.TicketQuery{Search: "überweisung", Viewer: "bob"})
	e.must("search", err)
	if sn := l.Items[0].Snippet; len(l.Items) != 1 || sn.Text[sn.Start:sn.End] != "Überweisung" {
		t.Errorf("snippet of überweisung: %+v", l.Items)
	}

	// Ordered by last activity: the ticket that just got a reply first.
	a := e.newTicket("Toner low")
	b := e.newTicket("Toner empty")
	if got := e.search("toner"); !slices.Equal(got, []string{b, a}) {
		t.Errorf("search toner = %v, want newest activity first [%s %s]", got, b, a)
	}
	e.receive(mail(`[Ticket "`+a+`"]`, "still low"))
	if got := e.search("toner"); !slices.Equal(got, []string{a, b}) {
		t.Errorf("search toner after a reply to %s = %v", a, got)
	}
	// Within a customer's tickets, and in order of creation.
	for _, c := range []struct {
		q     core.TicketQuery
		want  []string
		total int
	}{
		{core.TicketQuery{Customer: "alice@example.com"}, []string{a, b}, 2},
		{core.TicketQuery{Customer: "eve@example.com"}, nil, 0},
		{core.TicketQuery{Sort: core.SortCreated}, []string{b, a}, 2},
		{core.TicketQuery{Customer: "alice@example.com", Sort: core.SortCreated, Offset: 1}, []string{a}, 2},
	} {
		c.q.Search, c.q.Viewer = "toner", "bob"
		l, err := e.svc.ListTickets(ctx, c.q)
		e.must("search toner", err)
		if got := ids(l.Tickets); !slices.Equal(got, c.want) || l.Total != c.total {
			t.Errorf("search %+v = %v (Total %d), want %v (Total %d)", c.q, got, l.Total, c.want, c.total)
		}
	}

	// Merged away: the old ticket is not found, the target is, by the
	// words of the old one too.
	e.must("take a", e.svc.Assign(ctx, "bob", a, "bob"))
	e.must("take b", e.svc.Assign(ctx, "bob", b, "bob"))
	e.must("merge", e.svc.Save(ctx, "bob", a, core.Change{MergeInto: b}))
	if got := e.search("toner"); !slices.Equal(got, []string{b}) {
		t.Errorf("search toner after the merge = %v, want [%s]", got, b)
	}
	if got := e.search("still low"); !slices.Equal(got, []string{b}) {
		t.Errorf("search for the merged ticket's words = %v, want [%s]", got, b)
	}
	if got := e.search(a); len(got) != 0 {
		t.Errorf("search for the merged ticket's id = %v", got)
	}

	// Customers never search; hostile input is refused or finds nothing.
	_, err = e.svc.ListTickets(ctx, core.TicketQuery{Search: "printer"})
	wantErr(t, "search without an agent", err, core.ErrForbidden)
	_, err = e.svc.ListTickets(ctx, core.TicketQuery{Search: "printer", Viewer: "mallory"})
	wantErr(t, "search by an unknown agent", err, core.ErrNotFound)
	_, err = e.svc.ListTickets(ctx, core.TicketQuery{Search: strings.Repeat("x", core.MaxSearchLength+1), Viewer: "bob"})
	wantErr(t, "a huge search", err, core.ErrInvalid)
	_, err = e.svc.ListTickets(ctx, core.TicketQuery{Search: `"*()'\:`, Viewer: "bob"})
	wantErr(t, "a search of punctuation only", err, core.ErrInvalid)
	for _, q := range []string{`printer"`, `printer OR toner`, `NEAR(printer)`, `printer*`, `-printer`, `printer & !x`, `'; DROP TABLE tickets; --`} {
		if _, err := e.svc.ListTickets(ctx, core.TicketQuery{Search: q, Viewer: "bob"}); err != nil {
			t.Errorf("search %q: %v", q, err)
		}
	}
	if got := e.search(`printer OR toner`); len(got) != 0 {
		t.Errorf("OR is a word, not an operator: %v", got)
	}
	if got := e.search(`printer*`); !slices.Equal(got, []string{plain}) {
		t.Errorf("search printer* = %v", got)
	}
}

func svcViewsAndCounts(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.agent("carol", false)
	var tickets []string
	for i := range 12 {
		tickets = append(tickets, e.newTicket(fmt.Sprintf("Ticket %d", i)))
	}
	// bob: 0-3 (0 closed), carol: 4-5, unassigned: 6-11 (6 closed).
	for i, id := range tickets[:6] {
		who := "bob"
		if i >= 4 {
			who = "carol"
		}
		e.must("assign", e.svc.Assign(ctx, who, id, who))
	}
	e.must("close 0", e.svc.Save(ctx, "bob", tickets[0], core.Change{Status: core.StatusClosed}))
	e.must("close 6", e.svc.Save(ctx, "bob", tickets[6], core.Change{Status: core.StatusClosed}))

	vcs, err := e.svc.ViewCounts(ctx, "bob", "")
	e.must("ViewCounts", err)
	want := map[core.View][4]int{ // total, open, in progress, closed
		core.ViewMine:       {3, 0, 3, 0},
		core.ViewUnassigned: {5, 5, 0, 0},
		core.ViewAll:        {12, 5, 5, 2},
	}
	if len(vcs) != len(core.Views) {
		t.Fatalf("ViewCounts = %+v", vcs)
	}
	for i, vc := range vcs {
		w := want[vc.View]
		if vc.View != core.Views[i] || vc.Total.N != w[0] || vc.Total.More || vc.ByStatus[core.StatusOpen].N != w[1] ||
			vc.ByStatus[core.StatusInProgress].N != w[2] || vc.ByStatus[core.StatusClosed].N != w[3] {
			t.Errorf("count of %s = %+v, want %v", vc.View, vc, w)
		}
	}
	// Each view lists what it counts.
	for _, v := range core.Views {
		q := v.Query("bob")
		q.Limit = 100
		l, err := e.svc.ListTickets(ctx, q)
		e.must("ListTickets "+string(v), err)
		if len(l.Tickets) != want[v][0] || l.Total != want[v][0] {
			t.Errorf("view %s lists %d (Total %d), want %d", v, len(l.Tickets), l.Total, want[v][0])
		}
		for _, tk := range l.Tickets {
			if v != core.ViewAll && tk.Status == core.StatusClosed {
				t.Errorf("view %s lists the closed ticket %s", v, tk.ID)
			}
		}
	}
	// Counts of a search.
	vcs, err = e.svc.ViewCounts(ctx, "bob", "ticket 3")
	e.must("ViewCounts(search)", err)
	if vcs[0].Total.N != 1 || vcs[1].Total.N != 0 || vcs[2].Total.N != 1 {
		t.Errorf("counts of a search: %+v", vcs)
	}
	_, err = e.svc.ViewCounts(ctx, "", "ticket")
	wantErr(t, "counts of a search without an agent", err, core.ErrForbidden)

	// Orders: by last activity (default), or by creation.
	e.receive(mail(`[Ticket "`+tickets[8]+`"]`, "any news?"))
	l, err := e.svc.ListTickets(ctx, core.TicketQuery{Limit: 3})
	e.must("ListTickets", err)
	if got := ids(l.Tickets); !slices.Equal(got, []string{tickets[8], tickets[6], tickets[0]}) {
		// 6 and 0 were closed after the assignments: later activity.
		t.Errorf("by activity = %v, want [%s %s %s]", got, tickets[8], tickets[6], tickets[0])
	}
	l, err = e.svc.ListTickets(ctx, core.TicketQuery{Sort: core.SortCreated, Limit: 3})
	e.must("ListTickets", err)
	if got := ids(l.Tickets); !slices.Equal(got, []string{tickets[11], tickets[10], tickets[9]}) {
		t.Errorf("by creation = %v", got)
	}

	// Paging by offset: positions, no gaps, no repeats.
	var paged []string
	for off := 0; ; off += 5 {
		l, err := e.svc.ListTickets(ctx, core.TicketQuery{Sort: core.SortCreated, Limit: 5, Offset: off})
		e.must("page", err)
		if l.Offset != off || l.Total != 12 {
			t.Errorf("page at %d: Offset %d, Total %d", off, l.Offset, l.Total)
		}
		paged = append(paged, ids(l.Tickets)...)
		if !l.HasNext {
			if off != 10 || len(l.Tickets) != 2 {
				t.Errorf("last page at %d with %d tickets", off, len(l.Tickets))
			}
			break
		}
		if off > 20 {
			t.Fatal("paging does not end")
		}
	}
	all := slices.Clone(tickets)
	slices.Reverse(all)
	if !slices.Equal(paged, all) {
		t.Errorf("paged = %v, want %v", paged, all)
	}
	l, err = e.svc.ListTickets(ctx, core.TicketQuery{Limit: 5, Offset: core.MaxOffset + 500})
	e.must("far page", err)
	if l.Offset != core.MaxOffset || len(l.Tickets) != 0 || l.HasNext {
		t.Errorf("page beyond the cap: %+v", l)
	}
}

func svcActivityUnread(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	id := e.newTicket("Printer")
	tk := e.ticket(id)
	if !tk.ActivityAt.Equal(tk.CustomerAt) || tk.CustomerAt.IsZero() || !tk.RepliedAt.IsZero() || !tk.WaitingOnUs() {
		t.Errorf("new ticket: activity %v, customer %v, replied %v", tk.ActivityAt, tk.CustomerAt, tk.RepliedAt)
	}
	e.must("assign", e.svc.Assign(ctx, "bob", id, "bob"))
	if tk := e.ticket(id); !tk.UnreadFor("bob") || tk.UnreadFor("carol") {
		t.Errorf("a ticket never opened by its assignee is unread: %+v", tk)
	}
	e.must("MarkSeen", e.svc.MarkSeen(ctx, "bob", id))
	if tk := e.ticket(id); tk.UnreadFor("bob") || tk.SeenAt.IsZero() {
		t.Errorf("after MarkSeen: %+v", tk)
	}
	// Opening it again with nothing new writes nothing.
	seen := e.ticket(id).SeenAt
	e.must("MarkSeen again", e.svc.MarkSeen(ctx, "bob", id))
	if tk := e.ticket(id); !tk.SeenAt.Equal(seen) {
		t.Errorf("MarkSeen with nothing new moved SeenAt from %v to %v", seen, tk.SeenAt)
	}
	e.must("internal", e.svc.Save(ctx, "bob", id, core.Change{Comment: "note"}))
	tk = e.ticket(id)
	if !tk.WaitingOnUs() || !tk.ActivityAt.After(tk.CustomerAt) {
		t.Errorf("an internal note answers nobody: %+v", tk)
	}
	e.must("answer", e.svc.Save(ctx, "bob", id, core.Change{Comment: "Fixed?", External: true}))
	tk = e.ticket(id)
	if tk.WaitingOnUs() || !tk.RepliedAt.Equal(tk.ActivityAt) {
		t.Errorf("after our answer the ticket waits on the customer: %+v", tk)
	}
	e.clock.Advance(time.Minute)
	e.receive(mail(`[Ticket "`+id+`"]`, "No."))
	tk = e.ticket(id)
	if !tk.WaitingOnUs() || !tk.UnreadFor("bob") || !tk.CustomerAt.Equal(tk.ActivityAt) {
		t.Errorf("the customer wrote again: %+v", tk)
	}
	e.must("MarkSeen after the reply", e.svc.MarkSeen(ctx, "bob", id))
	if tk := e.ticket(id); tk.UnreadFor("bob") || !tk.SeenAt.After(seen) {
		t.Errorf("MarkSeen after the customer's reply: %+v", tk)
	}
	e.receive(mail(`[Ticket "`+id+`"]`, "Still no."))
	// Others opening the ticket do not clear bob's marker.
	e.agent("carol", false)
	e.must("MarkSeen carol", e.svc.MarkSeen(ctx, "carol", id))
	if tk := e.ticket(id); !tk.UnreadFor("bob") {
		t.Errorf("carol's visit cleared bob's marker")
	}
	wantErr(t, "MarkSeen unknown", e.svc.MarkSeen(ctx, "bob", "aaaaaaaaaaaaaaaa"), core.ErrNotFound)
	e.must("close", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusClosed}))
	if tk := e.ticket(id); tk.WaitingOnUs() {
		t.Errorf("a closed ticket waits on us")
	}
}

func svcWorkspaceRules(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.agent("vera", true)

	// Taking and answering: one Save, one mail, In Progress.
	id := e.newTicket("Printer")
	mails := len(e.pending())
	err := e.svc.Save(ctx, "vera", id, core.Change{AssignToMe: true, Comment: "x", External: true})
	wantErr(t, "taking on vacation", err, core.ErrOnVacation)
	e.must("take and answer", e.svc.Save(ctx, "bob", id, core.Change{AssignToMe: true, Comment: "On it.", External: true}))
	tk := e.ticket(id)
	if tk.Assignee != "bob" || tk.Status != core.StatusInProgress {
		t.Errorf("after take and answer: %+v", tk)
	}
	ms := e.pending()
	if len(ms) != mails+1 || !strings.Contains(ms[len(ms)-1].Body, "On it.") {
		t.Errorf("take and answer queued %d mails", len(ms)-mails)
	}
	mails = len(ms)
	// AssignToMe on one's own ticket changes nothing by itself.
	wantErr(t, "AssignToMe alone on one's own ticket", e.svc.Save(ctx, "bob", id, core.Change{AssignToMe: true}), core.ErrInvalid)

	// Taking alone mails who handles it, like Assign.
	id2 := e.newTicket("Scanner")
	mails = len(e.pending())
	e.must("take", e.svc.Save(ctx, "bob", id2, core.Change{AssignToMe: true}))
	if tk := e.ticket(id2); tk.Assignee != "bob" || tk.Status != core.StatusInProgress {
		t.Errorf("after take: %+v", tk)
	}
	if ms := e.pending(); len(ms) != mails+1 || !strings.Contains(ms[len(ms)-1].Body, "Bob") {
		t.Errorf("take queued %d mails", len(ms)-mails)
	}
	mails = len(e.pending())

	// A status change without a comment needs no reply type and mails nobody.
	e.must("close", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusClosed}))
	if tk := e.ticket(id); tk.Status != core.StatusClosed {
		t.Errorf("after close: %s", tk.Status)
	}
	if n := len(e.pending()); n != mails {
		t.Errorf("a status change alone queued %d mails", n-mails)
	}
	// An internal comment on a closed ticket keeps it closed; an external
	// one reopens it (In Progress: it is assigned).
	e.must("internal on closed", e.svc.Save(ctx, "bob", id, core.Change{Comment: "for the record"}))
	if tk := e.ticket(id); tk.Status != core.StatusClosed {
		t.Errorf("an internal note reopened the ticket: %s", tk.Status)
	}
	e.must("external on closed", e.svc.Save(ctx, "bob", id, core.Change{Comment: "One more thing.", External: true}))
	if tk := e.ticket(id); tk.Status != core.StatusInProgress {
		t.Errorf("an external comment on a closed ticket: %s, want in_progress", tk.Status)
	}
	mails = len(e.pending())

	// Release of a closed ticket: unassigned, still closed, no mail.
	e.must("close again", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusClosed}))
	e.must("release closed", e.svc.Release(ctx, "bob", id))
	if tk := e.ticket(id); tk.Assignee != "" || tk.Status != core.StatusClosed {
		t.Errorf("after releasing a closed ticket: %+v", tk)
	}
	if n := len(e.pending()); n != mails {
		t.Errorf("releasing a closed ticket queued %d mails", n-mails)
	}
	// An agent's external comment on the unassigned closed ticket: Open.
	e.must("external on unassigned closed", e.svc.Save(ctx, "bob", id, core.Change{Comment: "Reopening.", External: true}))
	if tk := e.ticket(id); tk.Status != core.StatusOpen || tk.Assignee != "" {
		t.Errorf("external comment on an unassigned closed ticket: %+v", tk)
	}
	// Release of an open ticket still sets it Open and mails.
	mails = len(e.pending())
	e.must("release", e.svc.Release(ctx, "bob", id2))
	if tk := e.ticket(id2); tk.Status != core.StatusOpen || len(e.pending()) != mails+1 {
		t.Errorf("release of an in-progress ticket: %+v, %d mails", tk, len(e.pending())-mails)
	}
}

func svcTicketPageData(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.must("time zone", e.svc.SetTimeZone(ctx, "bob", "Asia/Tokyo"))
	wantErr(t, "unknown time zone", e.svc.SetTimeZone(ctx, "bob", "Mars/Olympus"), core.ErrInvalid)
	bob, err := e.svc.Agent(ctx, "bob")
	e.must("Agent", err)
	if bob.TimeZone != "Asia/Tokyo" || e.svc.Location(&bob).String() != "Asia/Tokyo" || e.svc.Location(nil) != time.UTC {
		t.Errorf("time zone %q, location %v", bob.TimeZone, e.svc.Location(&bob))
	}

	var mine []string
	for i := range 12 {
		mine = append(mine, e.newTicket(fmt.Sprintf("Issue %d", i)))
	}
	other := mail("Other customer", "x")
	other.From = "eve@example.com"
	e.receive(other)
	id := mine[0]
	e.must("assign", e.svc.Assign(ctx, "bob", id, "bob"))
	e.must("answer", e.svc.Save(ctx, "bob", id, core.Change{Comment: "public", External: true, Status: core.StatusClosed}))
	e.must("note", e.svc.Save(ctx, "bob", id, core.Change{Comment: "private"}))

	v, err := e.svc.ViewTicket(ctx, &bob, id)
	e.must("ViewTicket", err)
	if len(v.CustomerTickets) != core.MaxCustomerTickets || slices.Contains(ids(v.CustomerTickets), id) ||
		v.CustomerTickets[0].ID != mine[11] {
		t.Errorf("customer's other tickets = %v", ids(v.CustomerTickets))
	}
	if v.ReplyAddress != "support+"+id+"@help.example" || !strings.Contains(v.ReplySubject, `[Ticket "`+id+`"]`) {
		t.Errorf("reply address %q, subject %q", v.ReplyAddress, v.ReplySubject)
	}
	// The customer sees their messages and our answers, no system lines.
	cv, err := e.svc.ViewTicket(ctx, nil, id)
	e.must("ViewTicket(customer)", err)
	if got := texts(cv.Entries); !slices.Equal(got, []string{"Text of Issue 0", "public"}) {
		t.Errorf("the customer sees %q", got)
	}
	if cv.CustomerTickets != nil {
		t.Errorf("the customer is shown other tickets: %v", ids(cv.CustomerTickets))
	}

	// A merge copies no system lines; the customer sees the merge notice.
	src, dst := mine[1], mine[2]
	e.must("take src", e.svc.Assign(ctx, "bob", src, "bob"))
	e.must("take dst", e.svc.Assign(ctx, "bob", dst, "bob"))
	e.must("merge", e.svc.Save(ctx, "bob", src, core.Change{MergeInto: dst, Comment: "Same thing.", External: true}))
	for _, x := range e.entries(dst, true) {
		if x.FromTicket == src && x.AuthorKind == core.AuthorSystem {
			t.Errorf("the merge copied the system line %q", x.Text)
		}
	}
	cv, err = e.svc.ViewTicket(ctx, nil, dst)
	e.must("ViewTicket(customer, target)", err)
	var notices int
	for _, x := range cv.Entries {
		if x.AuthorKind == core.AuthorSystem {
			notices++
			if !strings.Contains(x.Text, "merged into this ticket") {
				t.Errorf("the customer sees the system line %q", x.Text)
			}
		}
	}
	if notices != 1 {
		t.Errorf("the customer sees %d merge notices, want 1", notices)
	}
}
