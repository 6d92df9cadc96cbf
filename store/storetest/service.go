package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"trivialtickets/core"
)

// clock is a fake core.Config.Now: every call is one millisecond later than
// the one before, so entries made in sequence have distinct, ordered times.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a core.Service on a fresh store under test.
type env struct {
	t     *testing.T
	st    core.Store
	svc   *core.Service
	clock *clock
}

const supportAddr = "support@help.example"

func newEnv(t *testing.T, open func(*testing.T) core.Store, cfg core.Config) *env {
	c := &clock{now: t0}
	cfg.PublicURL = "https://help.example"
	cfg.SupportAddresses = []string{supportAddr}
	cfg.Now = c.Now
	st := open(t)
	return &env{t: t, st: st, svc: core.NewService(st, cfg), clock: c}
}

// agent registers an agent directly in the store, with a cheap hash of
// "password-<username>".
func (e *env) agent(username string, vacation bool) {
	e.t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("password-"+username), bcrypt.MinCost)
	if err != nil {
		e.t.Fatal(err)
	}
	update(e.t, e.st, func(tx core.Tx) error {
		return tx.CreateAgent(e.t.Context(), core.Agent{Username: username, Name: strings.ToUpper(username[:1]) + username[1:],
			PasswordHash: hash, Vacation: vacation, CreatedAt: e.clock.Now()})
	})
}

var msgSeq struct {
	sync.Mutex
	n int
}

// mail is an inbound mail from alice with a fresh Message-ID.
func mail(subject, text string) core.InboundMessage {
	msgSeq.Lock()
	msgSeq.n++
	n := msgSeq.n
	msgSeq.Unlock()
	return core.InboundMessage{Door: core.DoorSMTP, From: "alice@example.com", FromName: "Alice",
		Recipients: []string{supportAddr}, Subject: subject, Text: text,
		MessageID: fmt.Sprintf("<in-%d@mail.example>", n)}
}

func (e *env) receive(m core.InboundMessage) core.ReceiveResult {
	e.t.Helper()
	res, err := e.svc.Receive(e.t.Context(), m)
	if err != nil {
		e.t.Fatalf("Receive(%q): %v", m.Subject, err)
	}
	return res
}

// newTicket opens a ticket by mail and returns its id.
func (e *env) newTicket(subject string) string {
	e.t.Helper()
	res := e.receive(mail(subject, "Text of "+subject))
	if !res.Created {
		e.t.Fatalf("Receive(%q) did not create a ticket: %+v", subject, res)
	}
	return res.TicketID
}

func (e *env) ticket(id string) core.Ticket {
	e.t.Helper()
	var t core.Ticket
	view(e.t, e.st, func(tx core.Tx) error {
		var err error
		t, err = tx.Ticket(e.t.Context(), id)
		return err
	})
	return t
}

func (e *env) entries(id string, withInternal bool) []core.Entry {
	e.t.Helper()
	var es []core.Entry
	view(e.t, e.st, func(tx core.Tx) error {
		var err error
		es, err = tx.Entries(e.t.Context(), id, withInternal)
		return err
	})
	return es
}

func (e *env) pending() []core.OutMail {
	e.t.Helper()
	ms, err := e.svc.PendingMails(e.t.Context(), 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

func (e *env) must(what string, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

func texts(es []core.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Text
	}
	return out
}

// runService runs core's rules end to end on stores made by open.
func runService(t *testing.T, open func(*testing.T) core.Store) {
	tests := []struct {
		name string
		cfg  core.Config
		fn   func(*env)
	}{
		{"ReceiveNewTicket", core.Config{}, svcReceiveNew},
		{"TagReplyReopens", core.Config{}, svcTagReply},
		{"DuplicateMessageID", core.Config{}, svcDuplicate},
		{"ConcurrentDuplicateReceive", core.Config{}, svcConcurrentDuplicate},
		{"AutomaticMail", core.Config{}, svcAutomatic},
		{"InReplyToThreading", core.Config{}, svcInReplyTo},
		{"PlusAddressThreading", core.Config{}, svcPlusAddress},
		{"AssignRelease", core.Config{}, svcAssignRelease},
		{"SaveInternalExternal", core.Config{}, svcSave},
		{"CustomerView", core.Config{}, svcCustomerView},
		{"CustomerComment", core.Config{}, svcCustomerComment},
		{"CustomerCommentMerged", core.Config{}, svcCustomerCommentMerged},
		{"Merge", core.Config{}, svcMerge},
		{"RemoveAgent", core.Config{}, svcRemoveAgent},
		{"LoginSessions", core.Config{}, svcLogin},
		{"AutoReplyLimit", core.Config{AutoReplyLimit: 3}, svcAutoReplyLimit},
		{"ListPaging", core.Config{}, svcListPaging},
		{"VerifyMail", core.Config{}, svcVerifyMail},
		{"Bounce", core.Config{}, svcBounce},
		{"BounceReturnedHeader", core.Config{}, svcBounceReturnedHeader},
		{"PersonalMail", core.Config{}, svcPersonalMail},
		{"LegacyTicketID", core.Config{}, svcLegacyTicketID},
		{"AgentNotifications", core.Config{}, svcAgentNotifications},
		{"AgentAnswerByMail", core.Config{}, svcAgentAnswerByMail},
		{"Mailboxes", core.Config{Mailboxes: []core.Mailbox{{Address: "sales@help.example", Name: "Sales"}}}, svcMailboxes},
		{"Dispatch", core.Config{RelayOutbound: true}, svcDispatch},
		{"Leases", core.Config{}, svcLeases},
		{"ConcurrentAssign", core.Config{}, svcConcurrentAssign},
		{"LoginThrottle", core.Config{}, svcLoginThrottle},
		{"Retention", core.Config{}, svcRetention},
		{"CustomerExport", core.Config{}, svcCustomerExport},
		{"CustomerErase", core.Config{}, svcCustomerErase},
		{"LoginThrottleParallel", core.Config{}, svcLoginThrottleParallel},
		{"UnanswerableSender", core.Config{}, svcUnanswerableSender},
		{"AutoReplyLimitVariants", core.Config{AutoReplyLimit: 3}, svcAutoReplyLimitVariants},
		{"Search", core.Config{}, svcSearch},
		{"ViewsAndCounts", core.Config{}, svcViewsAndCounts},
		{"ActivityUnread", core.Config{}, svcActivityUnread},
		{"WorkspaceRules", core.Config{}, svcWorkspaceRules},
		{"TicketPageData", core.Config{}, svcTicketPageData},
		{"TicketVersion", core.Config{}, svcTicketVersion},
		{"SearchAfterEveryChange", core.Config{}, svcSearchAfterEveryChange},
		{"ProcessInbound", core.Config{}, svcProcessInbound},
		{"SessionAgent", core.Config{}, svcSessionAgent},
		{"Workspace", core.Config{}, svcWorkspace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(newEnv(t, open, tc.cfg))
		})
	}
}

func svcReceiveNew(e *env) {
	t, ctx := e.t, e.t.Context()
	res := e.receive(core.InboundMessage{Door: core.DoorSMTP, From: "alice@Example.COM", FromName: "Alice",
		Recipients: []string{supportAddr}, Subject: "Printer\r\nBcc: evil@example.com", Text: "It is broken.",
		MessageID:   "<first@mail.example>",
		Attachments: []core.Attachment{{Filename: "log.txt", ContentType: "text/plain", Data: []byte("paper jam"), Size: 9}}})
	if !res.Created || res.Duplicate || res.Automatic != "" || !core.ValidTicketID(res.TicketID) {
		t.Fatalf("Receive = %+v, want a new ticket", res)
	}
	tk := e.ticket(res.TicketID)
	if tk.Customer != "alice@example.com" || tk.CustomerName != "Alice" || tk.Subject != "Printer Bcc: evil@example.com" ||
		tk.Status != core.StatusOpen || tk.Assignee != "" || tk.RootMessageID != "first@mail.example" ||
		tk.LastMessageID != "first@mail.example" {
		t.Errorf("ticket = %+v", tk)
	}
	es := e.entries(tk.ID, true)
	if len(es) != 1 || es[0].Text != "It is broken." || es[0].AuthorKind != core.AuthorCustomer || es[0].Internal ||
		es[0].MessageID != "first@mail.example" || len(es[0].Attachments) != 1 {
		t.Fatalf("entries = %+v", es)
	}
	// The customer can download the attachment of the ticket, not through
	// another ticket's link.
	att := es[0].Attachments[0]
	a, err := e.svc.Attachment(ctx, nil, tk.ID, att.ID)
	if err != nil || string(a.Data) != "paper jam" || a.Filename != "log.txt" {
		t.Errorf("Attachment = %+v, %v", a, err)
	}
	other := e.newTicket("other")
	_, err = e.svc.Attachment(ctx, nil, other, att.ID)
	wantErr(t, "Attachment through another ticket", err, core.ErrNotFound)

	ms := e.pending()
	if len(ms) != 2 {
		t.Fatalf("outbox: %d mails, want 2 confirmations", len(ms))
	}
	m := ms[0]
	if m.TicketID != tk.ID || m.To != "alice@example.com" || !m.Automatic || m.State != core.MailPending ||
		!strings.Contains(m.Subject, core.Tag(tk.ID)) || strings.ContainsAny(m.Subject, "\r\n") ||
		m.ReplyTo != core.PlusAddress(supportAddr, tk.ID) || m.InReplyTo != "first@mail.example" ||
		!strings.Contains(m.Body, "https://help.example/ticket?id="+tk.ID) || m.MessageID == "" {
		t.Errorf("confirmation = %+v", m)
	}
	view(t, e.st, func(tx core.Tx) error {
		if tid, inbound, err := tx.MessageIDTicket(ctx, m.MessageID); err != nil || tid != tk.ID || inbound {
			t.Errorf("Message-ID of the confirmation: %s, %v, %v", tid, inbound, err)
		}
		if tid, inbound, err := tx.MessageIDTicket(ctx, "first@mail.example"); err != nil || tid != tk.ID || !inbound {
			t.Errorf("Message-ID of the customer's mail: %s, %v, %v", tid, inbound, err)
		}
		return nil
	})
	// The web form needs a valid sender.
	_, err = e.svc.Receive(ctx, core.InboundMessage{Door: core.DoorWeb, From: "not an address", Subject: "x", Text: "y"})
	wantErr(t, "Receive from the web with a bad address", err, core.ErrInvalid)
}

func svcTagReply(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	id := e.newTicket("Printer")
	e.must("close", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusClosed}))
	if tk := e.ticket(id); tk.Status != core.StatusClosed {
		t.Fatalf("status after closing: %s", tk.Status)
	}
	before := len(e.pending())
	m := mail(`Re: [ ticket "`+strings.ToUpper(id)+`" ] Printer`, "Still broken!")
	m.MessageID = "<reply@mail.example>"
	res := e.receive(m)
	if res.Created || res.Duplicate || res.TicketID != id {
		t.Fatalf("reply: %+v, want ticket %s", res, id)
	}
	tk := e.ticket(id)
	if tk.Status != core.StatusOpen || tk.LastMessageID != "reply@mail.example" || tk.RootMessageID == "reply@mail.example" {
		t.Errorf("after reply: %+v", tk)
	}
	es := e.entries(id, true)
	last := es[len(es)-1]
	if last.Text != "Still broken!" || last.AuthorKind != core.AuthorCustomer {
		t.Errorf("last entry = %+v", last)
	}
	if !slices.ContainsFunc(es, func(x core.Entry) bool {
		return x.AuthorKind == core.AuthorSystem && x.Internal && strings.HasPrefix(x.Text, "Reopened")
	}) {
		t.Errorf("no internal reopen entry: %q", texts(es))
	}
	if n := len(e.pending()); n != before {
		t.Errorf("a reply queued %d mails", n-before)
	}
	// A reply from someone else keeps the thread's last Message-ID.
	m = mail(`[Ticket "`+id+`"]`, "me too")
	m.From = "carol@example.com"
	e.receive(m)
	if tk := e.ticket(id); tk.LastMessageID != "reply@mail.example" {
		t.Errorf("LastMessageID after a third party's reply = %s", tk.LastMessageID)
	}
}

func svcDuplicate(e *env) {
	t := e.t
	m := mail("Printer", "first copy")
	first := e.receive(m)
	m.Text = "second copy"
	m.Subject = "different subject"
	second := e.receive(m)
	if !second.Duplicate || second.Created || second.TicketID != first.TicketID {
		t.Errorf("second delivery: %+v, want duplicate of %s", second, first.TicketID)
	}
	if es := e.entries(first.TicketID, true); len(es) != 1 {
		t.Errorf("entries after duplicate: %q", texts(es))
	}
	if n := len(e.pending()); n != 1 {
		t.Errorf("outbox after duplicate: %d mails, want 1", n)
	}
	// A duplicate of a reply neither adds nor reopens.
	r := mail(`[Ticket "`+first.TicketID+`"]`, "reply")
	e.receive(r)
	if res := e.receive(r); !res.Duplicate || res.TicketID != first.TicketID {
		t.Errorf("duplicate reply: %+v", res)
	}
	if es := e.entries(first.TicketID, true); len(es) != 2 {
		t.Errorf("entries after duplicate reply: %q", texts(es))
	}
}

func svcConcurrentDuplicate(e *env) {
	t, ctx := e.t, e.t.Context()
	for round := range 5 {
		m := mail(fmt.Sprintf("race %d", round), "x")
		results := make([]core.ReceiveResult, 4)
		errs := make([]error, len(results))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range results {
			wg.Go(func() {
				<-start
				results[i], errs[i] = e.svc.Receive(ctx, m)
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("round %d: Receive: %v", round, errs[i])
			}
			if r.Created {
				created++
			} else if !r.Duplicate {
				t.Errorf("round %d: neither created nor duplicate: %+v", round, r)
			}
			if r.TicketID != results[0].TicketID {
				t.Errorf("round %d: tickets %s and %s", round, r.TicketID, results[0].TicketID)
			}
		}
		if created != 1 {
			t.Errorf("round %d: %d tickets created, want 1", round, created)
		}
	}
	l, err := e.svc.ListTickets(ctx, core.TicketQuery{})
	if err != nil || l.Total != 5 {
		t.Errorf("tickets: %d, %v; want 5", l.Total, err)
	}
}

func svcAutomatic(e *env) {
	t, ctx := e.t, e.t.Context()
	tests := []struct {
		name string
		mod  func(*core.InboundMessage)
	}{
		{"Auto-Submitted", func(m *core.InboundMessage) { m.AutoSubmitted = "auto-replied" }},
		{"Precedence bulk", func(m *core.InboundMessage) { m.Precedence = "bulk" }},
		{"X-Auto-Response-Suppress", func(m *core.InboundMessage) { m.AutoResponseSuppress = "All" }},
		{"List-Id", func(m *core.InboundMessage) { m.ListID = "<list.example.com>" }},
		{"bounce", func(m *core.InboundMessage) { m.Bounce = true }},
		{"null sender", func(m *core.InboundMessage) { m.From, m.NullSender = "", true }},
		{"MAILER-DAEMON", func(m *core.InboundMessage) { m.From = "MAILER-DAEMON@mx.example.com" }},
		{"own address", func(m *core.InboundMessage) { m.From = supportAddr }},
		{"own plus address", func(m *core.InboundMessage) { m.From = "support+abc@help.example" }},
		{"loop marker", func(m *core.InboundMessage) { m.LoopMarker = true }},
	}
	for _, tc := range tests {
		m := mail("Out of office: "+tc.name, "I am away.")
		tc.mod(&m)
		res := e.receive(m)
		if !res.Created || res.Automatic == "" {
			t.Errorf("%s: %+v, want a new ticket with a reason", tc.name, res)
			continue
		}
		es := e.entries(res.TicketID, true)
		if len(es) != 1 || !es[0].Automatic {
			t.Errorf("%s: entries %+v, want one automatic entry", tc.name, es)
		}
	}
	if ms := e.pending(); len(ms) != 0 {
		t.Errorf("automatic mail was answered: %d mails", len(ms))
	}
	// An out-of-office reply never reopens a closed ticket.
	e.agent("bob", false)
	id := e.newTicket("Printer")
	e.must("close", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusClosed}))
	m := mail(`Auto: [Ticket "`+id+`"]`, "away")
	m.AutoSubmitted = "auto-replied"
	if res := e.receive(m); res.TicketID != id || res.Created {
		t.Errorf("automatic reply: %+v", res)
	}
	if tk := e.ticket(id); tk.Status != core.StatusClosed {
		t.Errorf("automatic reply reopened the ticket: %s", tk.Status)
	}
}

func svcInReplyTo(e *env) {
	t := e.t
	id := e.newTicket("Printer")
	ms := e.pending()
	if len(ms) != 1 {
		t.Fatalf("outbox: %d", len(ms))
	}
	m := mail("Re: Printer", "answer through In-Reply-To")
	m.InReplyTo = []string{"<" + ms[0].MessageID + ">"}
	if res := e.receive(m); res.Created || res.TicketID != id {
		t.Errorf("In-Reply-To: %+v, want ticket %s", res, id)
	}
	m = mail("Re: Printer", "answer through References")
	m.References = []string{ms[0].MessageID, "unknown@mail.example"}
	if res := e.receive(m); res.Created || res.TicketID != id {
		t.Errorf("References: %+v, want ticket %s", res, id)
	}
	// The customer's own earlier mail threads as well.
	m = mail("Re: Printer", "answer to my own mail")
	m.InReplyTo = []string{e.ticket(id).RootMessageID}
	if res := e.receive(m); res.Created || res.TicketID != id {
		t.Errorf("In-Reply-To the first mail: %+v, want ticket %s", res, id)
	}
	m = mail("Re: Printer", "answer to a mail we do not know")
	m.InReplyTo = []string{"unknown@mail.example"}
	if res := e.receive(m); !res.Created {
		t.Errorf("unknown In-Reply-To: %+v, want a new ticket", res)
	}
}

func svcPlusAddress(e *env) {
	t := e.t
	id := e.newTicket("Printer")
	m := mail("no tag here", "by plus-address")
	// Ticket ids survive mail systems that upper-case the address; the
	// domain compares without case.
	m.Recipients = []string{"support+" + strings.ToUpper(id) + "@HELP.example"}
	if res := e.receive(m); res.Created || res.TicketID != id {
		t.Errorf("plus-address: %+v, want ticket %s", res, id)
	}
	m = mail("no tag here", "plus-address of someone else")
	m.Recipients = []string{"sales+" + id + "@help.example"}
	if res := e.receive(m); !res.Created {
		t.Errorf("plus-address of another mailbox: %+v, want a new ticket", res)
	}
	m = mail("no tag here", "plus-address of an unknown ticket")
	m.Recipients = []string{core.PlusAddress(supportAddr, "aaaaaaaaaaaaaaaa")}
	if res := e.receive(m); !res.Created {
		t.Errorf("plus-address of an unknown ticket: %+v, want a new ticket", res)
	}
}

func svcAssignRelease(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.agent("carol", false)
	e.agent("vera", true)
	id := e.newTicket("Printer")
	mails := len(e.pending())

	err := e.svc.Assign(ctx, "bob", id, "vera")
	wantErr(t, "Assign to an agent on vacation", err, core.ErrOnVacation)
	err = e.svc.Assign(ctx, "bob", id, "nobody")
	wantErr(t, "Assign to an unknown agent", err, core.ErrInvalid)
	err = e.svc.Assign(ctx, "bob", "aaaaaaaaaaaaaaaa", "bob")
	wantErr(t, "Assign an unknown ticket", err, core.ErrNotFound)
	if tk := e.ticket(id); tk.Assignee != "" || tk.Status != core.StatusOpen {
		t.Errorf("refused Assign changed the ticket: %+v", tk)
	}

	e.must("Assign", e.svc.Assign(ctx, "bob", id, "bob"))
	tk := e.ticket(id)
	if tk.Assignee != "bob" || tk.Status != core.StatusInProgress {
		t.Errorf("after Assign: %+v", tk)
	}
	ms := e.pending()
	if len(ms) != mails+1 || ms[len(ms)-1].Automatic || !strings.Contains(ms[len(ms)-1].Body, "Bob") {
		t.Errorf("Assign queued %d mails (last %+v)", len(ms)-mails, ms[len(ms)-1])
	}
	mails = len(ms)
	l, _ := e.svc.ListTickets(ctx, core.TicketQuery{Assignee: "bob"})
	if l.Total != 1 || len(l.Tickets) != 1 || l.Tickets[0].ID != id {
		t.Errorf("bob's tickets: %+v", l)
	}

	err = e.svc.Assign(ctx, "carol", id, "carol")
	wantErr(t, "Assign a ticket of another agent", err, core.ErrNotAssignee)
	err = e.svc.Save(ctx, "carol", id, core.Change{Comment: "mine now", External: true})
	wantErr(t, "Save on a ticket of another agent", err, core.ErrNotAssignee)
	err = e.svc.Release(ctx, "carol", id)
	wantErr(t, "Release a ticket of another agent", err, core.ErrNotAssignee)

	// The assignee hands it over.
	e.must("hand over", e.svc.Assign(ctx, "bob", id, "carol"))
	if tk := e.ticket(id); tk.Assignee != "carol" {
		t.Errorf("after hand-over: %+v", tk)
	}
	mails++
	e.must("Release", e.svc.Release(ctx, "carol", id))
	if tk := e.ticket(id); tk.Assignee != "" || tk.Status != core.StatusOpen {
		t.Errorf("after Release: %+v", tk)
	}
	if n := len(e.pending()); n != mails+1 {
		t.Errorf("Release queued %d mails, want 1", n-mails)
	}
	l, _ = e.svc.ListTickets(ctx, core.TicketQuery{Unassigned: true})
	if l.Total != 1 {
		t.Errorf("unassigned tickets after Release: %d", l.Total)
	}
}

func svcSave(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.agent("vera", true)
	id := e.newTicket("Printer")
	mails := len(e.pending())

	e.must("internal comment", e.svc.Save(ctx, "bob", id, core.Change{Comment: "Looks like the fuser."}))
	if n := len(e.pending()); n != mails {
		t.Errorf("an internal comment queued %d mails", n-mails)
	}
	es := e.entries(id, true)
	if last := es[len(es)-1]; last.Text != "Looks like the fuser." || !last.Internal || last.AuthorKind != core.AuthorAgent || last.Author != "bob" {
		t.Errorf("internal comment entry: %+v", last)
	}
	e.must("external comment", e.svc.Save(ctx, "bob", id, core.Change{Comment: "We sent a technician.", External: true}))
	ms := e.pending()
	if len(ms) != mails+1 {
		t.Fatalf("an external comment queued %d mails, want 1", len(ms)-mails)
	}
	if m := ms[len(ms)-1]; m.Automatic || !strings.Contains(m.Body, "We sent a technician.") || strings.Contains(m.Body, "fuser") {
		t.Errorf("mail of the external comment: %q", m.Body)
	}
	err := e.svc.Save(ctx, "bob", id, core.Change{})
	wantErr(t, "Save without a change", err, core.ErrInvalid)
	err = e.svc.Save(ctx, "vera", id, core.Change{Status: core.StatusInProgress})
	wantErr(t, "taking a ticket on vacation", err, core.ErrOnVacation)
	// Setting In Progress on an unassigned ticket takes it.
	e.must("take", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusInProgress}))
	if tk := e.ticket(id); tk.Assignee != "bob" || tk.Status != core.StatusInProgress {
		t.Errorf("after taking: %+v", tk)
	}
	e.must("close", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusClosed, External: true}))
	if tk := e.ticket(id); tk.Status != core.StatusClosed {
		t.Errorf("after closing: %+v", tk)
	}
	ms = e.pending()
	if len(ms) != mails+2 || !strings.Contains(ms[len(ms)-1].Body, "Closed") {
		t.Errorf("closing externally: %d mails, last %q", len(ms)-mails, ms[len(ms)-1].Body)
	}
}

func svcCustomerView(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	id := e.newTicket("Printer")
	e.must("internal", e.svc.Save(ctx, "bob", id, core.Change{Comment: "secret note"}))
	e.must("external", e.svc.Save(ctx, "bob", id, core.Change{Comment: "public answer", External: true}))
	e.must("internal status", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusInProgress}))

	v, err := e.svc.ViewTicket(ctx, nil, id)
	e.must("ViewTicket(customer)", err)
	for _, x := range v.Entries {
		if x.Internal {
			t.Errorf("the customer sees an internal entry: %q", x.Text)
		}
	}
	if got := texts(v.Entries); !slices.Equal(got, []string{"Text of Printer", "public answer"}) {
		t.Errorf("customer's entries = %q", got)
	}
	if v.CanEdit || v.Assignee != nil || v.MergeCandidates != nil {
		t.Errorf("customer's view: CanEdit %v, Assignee %v, candidates %v", v.CanEdit, v.Assignee, v.MergeCandidates)
	}
	bob, err := e.svc.Agent(ctx, "bob")
	e.must("Agent", err)
	v, err = e.svc.ViewTicket(ctx, &bob, id)
	e.must("ViewTicket(agent)", err)
	if !slices.Contains(texts(v.Entries), "secret note") || !v.CanEdit || v.Assignee == nil || v.Assignee.Username != "bob" {
		t.Errorf("agent's view: %q, CanEdit %v", texts(v.Entries), v.CanEdit)
	}
	_, err = e.svc.ViewTicket(ctx, nil, "aaaaaaaaaaaaaaaa")
	wantErr(t, "ViewTicket(unknown)", err, core.ErrNotFound)
	_, err = e.svc.ViewTicket(ctx, nil, "../etc/passwd")
	wantErr(t, "ViewTicket(malformed)", err, core.ErrNotFound)
}

func svcCustomerComment(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	id := e.newTicket("Printer")
	mails := len(e.pending())
	e.must("close", e.svc.Save(ctx, "bob", id, core.Change{Status: core.StatusClosed}))
	e.must("comment", comment(ctx, e, id, "  It broke again.  "))
	if tk := e.ticket(id); tk.Status != core.StatusOpen {
		t.Errorf("a customer comment did not reopen: %s", tk.Status)
	}
	es := e.entries(id, false)
	if last := es[len(es)-1]; last.Text != "It broke again." || last.AuthorKind != core.AuthorCustomer || last.Author != "alice@example.com" {
		t.Errorf("comment entry: %+v", last)
	}
	if n := len(e.pending()); n != mails {
		t.Errorf("a customer comment queued %d mails", n-mails)
	}
	wantErr(t, "empty comment", comment(ctx, e, id, "  "), core.ErrInvalid)
	wantErr(t, "comment on an unknown ticket", comment(ctx, e, "aaaaaaaaaaaaaaaa", "x"), core.ErrNotFound)
}

func svcMerge(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	m := mail("Old printer", "first problem")
	m.Attachments = []core.Attachment{{Filename: "photo.jpg", ContentType: "image/jpeg", Data: []byte("JPEG")}}
	src := e.receive(m).TicketID
	dst := e.newTicket("New printer")
	other := e.newTicket("Third")
	e.must("internal note", e.svc.Save(ctx, "bob", src, core.Change{Comment: "note on the old one"}))
	e.must("reply on target", e.svc.Save(ctx, "bob", dst, core.Change{Comment: "answer on the new one", External: true}))
	e.receive(mail(`[Ticket "`+src+`"]`, "second problem"))
	// Someone else's ticket cannot be merged.
	eve := mail("Eve's", "x")
	eve.From = "eve@example.com"
	eveID := e.receive(eve).TicketID

	bob, _ := e.svc.Agent(ctx, "bob")
	v, err := e.svc.ViewTicket(ctx, &bob, src)
	e.must("ViewTicket", err)
	cands := ids(v.MergeCandidates)
	slices.Sort(cands)
	want := []string{dst, other}
	slices.Sort(want)
	if !slices.Equal(cands, want) {
		t.Errorf("merge candidates = %v, want %v", cands, want)
	}

	wantErr(t, "merge with itself", e.svc.Save(ctx, "bob", src, core.Change{MergeInto: src}), core.ErrInvalid)
	wantErr(t, "merge with another customer", e.svc.Save(ctx, "bob", src, core.Change{MergeInto: eveID}), core.ErrInvalid)
	wantErr(t, "merge with an unknown ticket", e.svc.Save(ctx, "bob", src, core.Change{MergeInto: "aaaaaaaaaaaaaaaa"}), core.ErrInvalid)

	srcEntries := e.entries(src, true)
	dstBefore := e.entries(dst, true)
	mails := len(e.pending())
	e.must("merge", e.svc.Save(ctx, "bob", src, core.Change{MergeInto: dst, Comment: "Same problem.", External: true}))

	s := e.ticket(src)
	if s.MergedInto != dst || s.Status != core.StatusClosed {
		t.Errorf("source after merge: %+v", s)
	}
	if n := len(e.pending()); n != mails+1 {
		t.Errorf("an external merge queued %d mails, want 1", n-mails)
	}
	got := e.entries(dst, true)
	for i := 1; i < len(got); i++ {
		if got[i].CreatedAt.Before(got[i-1].CreatedAt) {
			t.Errorf("target entries out of order at %d: %v after %v", i, got[i].CreatedAt, got[i-1].CreatedAt)
		}
	}
	var copied []string
	for _, x := range got {
		if x.FromTicket == src {
			copied = append(copied, x.Text)
			if x.MessageID != "" {
				t.Errorf("copied entry kept its Message-ID %s", x.MessageID)
			}
		}
	}
	// Every entry of the source as it was before the merge (the comment
	// "Same problem." was added to the source in the same save), in order.
	var wantCopied []string
	for _, x := range srcEntries {
		wantCopied = append(wantCopied, x.Text)
	}
	if len(copied) < len(wantCopied) || !slices.Equal(copied[:len(wantCopied)], wantCopied) {
		t.Errorf("copied entries = %q, want %q first", copied, wantCopied)
	}
	if len(got) < len(dstBefore)+len(wantCopied)+1 {
		t.Errorf("target has %d entries, want at least %d", len(got), len(dstBefore)+len(wantCopied)+1)
	}
	// The attachment was copied with its data.
	var attID int64
	for _, x := range got {
		if x.FromTicket == src && len(x.Attachments) == 1 {
			attID = x.Attachments[0].ID
		}
	}
	if a, err := e.svc.Attachment(ctx, nil, dst, attID); err != nil || string(a.Data) != "JPEG" {
		t.Errorf("copied attachment: %+v, %v", a, err)
	}
	// The customer does not see the copied internal note on the target.
	cv, err := e.svc.ViewTicket(ctx, nil, dst)
	e.must("ViewTicket(customer)", err)
	if slices.Contains(texts(cv.Entries), "note on the old one") {
		t.Errorf("the customer sees the copied internal note")
	}
	// The source is hidden from every list and points to the target.
	for _, q := range []core.TicketQuery{{}, {Status: core.StatusClosed}, {Customer: "alice@example.com"}, {Unassigned: true}} {
		l, err := e.svc.ListTickets(ctx, q)
		e.must("ListTickets", err)
		if slices.Contains(ids(l.Tickets), src) {
			t.Errorf("merged ticket listed for %+v", q)
		}
		if l.Total != len(l.Tickets) {
			t.Errorf("Total %d for %d tickets (%+v)", l.Total, len(l.Tickets), q)
		}
	}
	sv, err := e.svc.ViewTicket(ctx, nil, src)
	e.must("ViewTicket(merged)", err)
	if sv.MergedInto == nil || sv.MergedInto.ID != dst {
		t.Errorf("view of the merged ticket: MergedInto %v", sv.MergedInto)
	}
	// A reply with the old tag goes to the target.
	res := e.receive(mail(`Re: [Ticket "`+src+`"] Old printer`, "reply to the old one"))
	if res.TicketID != dst || res.Created {
		t.Errorf("reply to the merged ticket: %+v, want ticket %s", res, dst)
	}
	wantErr(t, "Save on a merged ticket", e.svc.Save(ctx, "bob", src, core.Change{Comment: "x"}), core.ErrInvalid)
	// A comment on the merged ticket's page goes to the target too.
	e.must("comment on a merged ticket", comment(ctx, e, src, "comment on the old page"))
	if es := e.entries(dst, false); es[len(es)-1].Text != "comment on the old page" {
		t.Errorf("comment on the merged ticket: the target's last entry is %q", es[len(es)-1].Text)
	}
	wantErr(t, "merge into a merged ticket", e.svc.Save(ctx, "bob", other, core.Change{MergeInto: src}), core.ErrInvalid)
}

func svcRemoveAgent(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	e.agent("carol", false)
	a, b, c := e.newTicket("one"), e.newTicket("two"), e.newTicket("three")
	for _, id := range []string{a, b, c} {
		e.must("assign", e.svc.Assign(ctx, "bob", id, "bob"))
	}
	// b merged into c: merged tickets keep their assignee but are never listed.
	e.must("merge", e.svc.Save(ctx, "bob", b, core.Change{MergeInto: c}))
	token, _, err := e.svc.Login(ctx, "bob", "password-bob", "")
	e.must("Login", err)

	e.must("RemoveAgent", e.svc.RemoveAgent(ctx, "bob"))
	for _, id := range []string{a, c} {
		if tk := e.ticket(id); tk.Assignee != "" || tk.Status != core.StatusOpen {
			t.Errorf("ticket %s after RemoveAgent: %+v", id, tk)
		}
	}
	if tk := e.ticket(b); tk.Assignee != "" {
		t.Errorf("merged ticket still names the removed agent: %+v", tk)
	}
	_, err = e.svc.SessionAgent(ctx, token)
	wantErr(t, "session of a removed agent", err, core.ErrNotFound)
	as, err := e.svc.Agents(ctx)
	if err != nil || len(as) != 1 || as[0].Username != "carol" {
		t.Errorf("Agents after RemoveAgent: %+v, %v", as, err)
	}
	wantErr(t, "RemoveAgent(again)", e.svc.RemoveAgent(ctx, "bob"), core.ErrNotFound)
}

func svcLogin(e *env) {
	t, ctx := e.t, e.t.Context()
	e.must("AddAgent", e.svc.AddAgent(ctx, "dora", "Dora\r\nX", "correct horse"))
	wantErr(t, "AddAgent(again)", e.svc.AddAgent(ctx, "dora", "D", "correct horse"), core.ErrDuplicate)
	wantErr(t, "AddAgent(bad name)", e.svc.AddAgent(ctx, "Dora Smith", "D", "correct horse"), core.ErrInvalid)
	a, err := e.svc.Agent(ctx, "dora")
	if err != nil || a.Name != "Dora X" {
		t.Errorf("Agent(dora) = %+v, %v", a, err)
	}

	_, _, err = e.svc.Login(ctx, "dora", "wrong password", "")
	wantErr(t, "Login(wrong password)", err, core.ErrBadCredentials)
	_, _, err = e.svc.Login(ctx, "nobody", "correct horse", "")
	wantErr(t, "Login(unknown user)", err, core.ErrBadCredentials)

	tok1, a, err := e.svc.Login(ctx, "dora", "correct horse", "")
	e.must("Login", err)
	if a.Username != "dora" || tok1 == "" {
		t.Errorf("Login = %q, %+v", tok1, a)
	}
	if a, err := e.svc.SessionAgent(ctx, tok1); err != nil || a.Username != "dora" {
		t.Errorf("SessionAgent = %+v, %v", a, err)
	}
	_, err = e.svc.SessionAgent(ctx, "forged-token")
	wantErr(t, "SessionAgent(forged)", err, core.ErrNotFound)

	// A new login ends the old session.
	tok2, _, err := e.svc.Login(ctx, "dora", "correct horse", tok1)
	e.must("Login again", err)
	_, err = e.svc.SessionAgent(ctx, tok1)
	wantErr(t, "SessionAgent(replaced token)", err, core.ErrNotFound)
	e.must("Logout", e.svc.Logout(ctx, tok2))
	_, err = e.svc.SessionAgent(ctx, tok2)
	wantErr(t, "SessionAgent after Logout", err, core.ErrNotFound)
	e.must("Logout(again)", e.svc.Logout(ctx, tok2))

	// Sessions expire.
	tok3, _, err := e.svc.Login(ctx, "dora", "correct horse", "")
	e.must("Login", err)
	e.clock.Advance(core.SessionLifetime + time.Minute)
	_, err = e.svc.SessionAgent(ctx, tok3)
	wantErr(t, "SessionAgent(expired)", err, core.ErrNotFound)

	// A new password ends every session.
	tok4, _, err := e.svc.Login(ctx, "dora", "correct horse", "")
	e.must("Login", err)
	e.must("SetPassword", e.svc.SetPassword(ctx, "dora", "battery staple"))
	_, err = e.svc.SessionAgent(ctx, tok4)
	wantErr(t, "SessionAgent after SetPassword", err, core.ErrNotFound)
	if _, _, err := e.svc.Login(ctx, "dora", "battery staple", ""); err != nil {
		t.Errorf("Login with the new password: %v", err)
	}
}

func svcAutoReplyLimit(e *env) {
	t := e.t
	for i := range 5 {
		res := e.receive(mail(fmt.Sprintf("flood %d", i), "x"))
		if !res.Created {
			t.Fatalf("flood %d: %+v", i, res)
		}
		if limited := res.Automatic != ""; limited != (i >= 3) {
			t.Errorf("flood %d: Automatic = %q", i, res.Automatic)
		}
	}
	if n := len(e.pending()); n != 3 {
		t.Errorf("confirmations: %d, want 3 (the limit)", n)
	}
	// Another sender is not affected.
	m := mail("other", "x")
	m.From = "bob@example.com"
	if res := e.receive(m); res.Automatic != "" {
		t.Errorf("another sender: %+v", res)
	}
	// An hour later the cap starts over.
	e.clock.Advance(time.Hour + time.Minute)
	if res := e.receive(mail("after an hour", "x")); res.Automatic != "" {
		t.Errorf("after an hour: %+v", res)
	}
	if n := len(e.pending()); n != 5 {
		t.Errorf("confirmations: %d, want 5", n)
	}
}

func svcListPaging(e *env) {
	t, ctx := e.t, e.t.Context()
	var want []string
	for i := range 12 {
		want = append(want, e.newTicket(fmt.Sprintf("ticket %d", i)))
	}
	slices.Reverse(want) // newest first
	var got []string
	q := core.TicketQuery{Limit: 5}
	for page := 0; ; page++ {
		l, err := e.svc.ListTickets(ctx, q)
		e.must("ListTickets", err)
		if l.Total != 12 {
			t.Errorf("page %d: Total %d", page, l.Total)
		}
		got = append(got, ids(l.Tickets)...)
		if l.Next == nil {
			if len(l.Tickets) != 2 {
				t.Errorf("last page has %d tickets, want 2", len(l.Tickets))
			}
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
		q.After = l.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged tickets =\n %v\nwant\n %v", got, want)
	}
	l, err := e.svc.ListTickets(ctx, core.TicketQuery{Status: core.StatusClosed})
	if err != nil || l.Total != 0 || len(l.Tickets) != 0 || l.Next != nil {
		t.Errorf("closed tickets: %+v, %v", l, err)
	}
}

func svcVerifyMail(e *env) {
	t, ctx := e.t, e.t.Context()
	e.newTicket("one")
	e.newTicket("two")
	ms := e.pending()
	if len(ms) != 2 {
		t.Fatalf("outbox: %d", len(ms))
	}
	for i, want := range []bool{true, false} {
		ok, err := e.svc.VerifyMail(ctx, ms[0].ID)
		if err != nil || ok != want {
			t.Errorf("VerifyMail #%d = %v, %v; want %v", i+1, ok, err, want)
		}
	}
	if left := e.pending(); len(left) != 1 || left[0].ID != ms[1].ID {
		t.Errorf("pending after VerifyMail: %+v", left)
	}
	if err := e.svc.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
}
