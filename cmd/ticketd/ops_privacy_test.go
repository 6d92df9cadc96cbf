package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui/mailapi/client"
	"trivialtickets/webui/mailapi/wire"
)

// What identifies alice, the customer whose data is exported and erased.
const (
	aliceAddr    = "alice.zebrafinch@example.com"
	aliceName    = "Alice Zebrafinch"
	aliceSubject = "Quokka invoice"
	aliceWord    = "xylophonically"
	aliceFile    = "PNG-quokka-attachment-bytes"
)

var aliceMarks = []string{aliceAddr, aliceName, aliceSubject, aliceWord, aliceFile}

const aliceRaw = "From: " + aliceName + " <" + aliceAddr + ">\r\n" +
	"To: support@localhost\r\nSubject: " + aliceSubject + "\r\nMessage-ID: <quokka-1@example.com>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe invoice is " + aliceWord + " wrong.\r\n" +
	"--b1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=quokka.png\r\n\r\n" +
	aliceFile + "\r\n--b1--\r\n"

// sideService opens a second store on the SQLite file of a running
// daemon, to play an agent's part; the store is closed when t ends (or
// before, by the caller).
func sideService(t *testing.T, data string) (*sqlite.Store, *core.Service) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, core.NewService(st, core.Config{})
}

// agentClient logs in as admin with a password set through a second store
// on the daemon's file, and returns an HTTP client with the session.
func agentClient(t *testing.T, base string, svc *core.Service) *http.Client {
	t.Helper()
	const pw = "correct-horse-battery-staple"
	if err := svc.SetPassword(t.Context(), "admin", pw); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := hc.PostForm(base+"/login", url.Values{"username": {"admin"}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/dashboard" {
		t.Fatalf("login as admin ended on %s (%d)", resp.Request.URL.Path, resp.StatusCode)
	}
	return hc
}

// TestCustomerExportAndErase: alice has two tickets (one with an
// attachment), internal and external comments, an entry on carol's ticket,
// queued mails and a failed login under her address. The export holds
// every entry an agent sees and nothing of carol; after the erasure
// nothing of alice is found through the web, the Mail API or a byte search
// of every file in the data directory, and carol's ticket is intact.
func TestCustomerExportAndErase(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	base, stop := startDaemon(t, "--data", data, "--http", "127.0.0.1:0", "--no-tls", "--smtp", "", "--no-api-token")
	hc := &http.Client{Timeout: 10 * time.Second}
	api := client.New(base, "", hc)

	st, svc := sideService(t, data)

	res, err := api.ReceiveRaw(ctx, strings.NewReader(aliceRaw))
	if err != nil || !res.Created {
		t.Fatalf("alice's mail: %+v, %v", res, err)
	}
	alice := res.TicketID
	if err := svc.Save(ctx, "admin", alice, core.Change{Comment: "Internal: " + aliceName + " called about it."}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Save(ctx, "admin", alice, core.Change{Comment: "Dear " + aliceName + ", fixed.", External: true}); err != nil {
		t.Fatal(err)
	}
	res, err = api.Receive(ctx, wire.ReceiveRequest{From: aliceAddr, Subject: "Second question", Message: "Also " + aliceWord + "."})
	if err != nil {
		t.Fatal(err)
	}
	alice2 := res.TicketID
	res, err = api.Receive(ctx, wire.ReceiveRequest{From: "carol@example.net", Subject: "Carol's printer", Message: "Carol's own words."})
	if err != nil {
		t.Fatal(err)
	}
	carol := res.TicketID
	if _, err := api.Receive(ctx, wire.ReceiveRequest{From: aliceAddr, Subject: core.Tag(carol) + " Carol's printer",
		Message: "Alice on Carol's ticket: " + aliceWord + "."}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Save(ctx, "admin", carol, core.Change{Comment: "Hello Carol.", External: true}); err != nil {
		t.Fatal(err)
	}
	resp, err := hc.PostForm(base+"/login", url.Values{"username": {aliceAddr}, "password": {"guess"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// The export.
	code, out, _ := runCommand(t, "customer", "export", aliceAddr, "--data", data)
	if code != 0 {
		t.Fatalf("customer export: exit %d", code)
	}
	var doc exportDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("export is not one JSON document: %v", err)
	}
	if doc.Address != aliceAddr || len(doc.Tickets) != 2 || doc.Tickets[0].ID != alice || doc.Tickets[1].ID != alice2 {
		t.Fatalf("export: %+v", doc)
	}
	for _, et := range doc.Tickets {
		view, err := svc.ViewTicket(ctx, &core.Agent{Username: "admin"}, et.ID)
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, e := range view.Entries {
			want = append(want, e.Text)
		}
		for _, e := range et.Entries {
			got = append(got, e.Text)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ticket %s: export has %q, the agent sees %q", et.ID, got, want)
		}
	}
	if !slices.ContainsFunc(doc.Tickets[0].Entries, func(e exportEntry) bool { return e.Internal && strings.HasPrefix(e.Text, "Internal:") }) {
		t.Error("the internal comment is not in the export marked internal")
	}
	if as := doc.Tickets[0].Entries[0].Attachments; len(as) != 1 || !bytes.Contains(as[0].Data, []byte(aliceFile)) {
		t.Errorf("attachment in the export: %+v", as)
	}
	if !strings.Contains(out, `"data_base64"`) {
		t.Error("the export has no base64 attachment field")
	}
	if len(doc.OtherEntries) != 1 || doc.OtherEntries[0].TicketID != carol {
		t.Errorf("entries on other tickets: %+v", doc.OtherEntries)
	}
	if len(doc.Mails) < 3 {
		t.Errorf("export has %d mails, want the two confirmations and the external comment", len(doc.Mails))
	}
	for _, other := range []string{"carol@example.net", "Carol's own words", "Hello Carol"} {
		if strings.Contains(out, other) {
			t.Errorf("the export holds %q of another customer", other)
		}
	}

	// The erasure, while the daemon runs.
	code, out, _ = runCommand(t, "customer", "erase", strings.ToUpper(aliceAddr[:1])+aliceAddr[1:], "--data", data)
	if code != 0 || !strings.Contains(out, "2 tickets") || !strings.Contains(out, "1 attachments") {
		t.Fatalf("customer erase: exit %d: %s", code, out)
	}

	// The web: alice's tickets are gone, carol's is intact; the agent's
	// lists (and their search, where there is one) know nothing of alice.
	for _, id := range []string{alice, alice2} {
		if code, _ := getPage(t, hc, base+"/ticket?id="+id); code != http.StatusNotFound {
			t.Errorf("erased ticket %s answers %d", id, code)
		}
	}
	agent := agentClient(t, base, svc)
	code, page := getPage(t, agent, base+"/ticket?id="+carol)
	if code != http.StatusOK || !strings.Contains(page, "Carol&#39;s own words") || !strings.Contains(page, "Hello Carol") {
		t.Errorf("carol's ticket after the erasure: %d", code)
	}
	pages := map[string]string{"/dashboard": "", "/tickets": "", "/tickets?status=closed": "", "/ticket?id=" + carol: ""}
	for _, m := range aliceMarks {
		pages["/tickets?q="+url.QueryEscape(m)] = m
	}
	for p, query := range pages {
		_, body := getPage(t, agent, base+p)
		if query != "" {
			// A search page repeats its query; what it must not show
			// is a ticket of alice or anything else of hers.
			body = strings.ReplaceAll(body, query, "")
		}
		for _, m := range append(aliceMarks, alice, alice2) {
			if strings.Contains(body, m) {
				t.Errorf("web page %s still shows %q", p, m)
			}
		}
	}
	// The Mail API.
	mails, err := api.FetchMails(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(mails)
	for _, m := range aliceMarks {
		if bytes.Contains(raw, []byte(m)) {
			t.Errorf("the Mail API still lists %q", m)
		}
	}
	if !bytes.Contains(raw, []byte("carol@example.net")) {
		t.Error("carol's mails went too")
	}

	// Every byte of every file in the data directory, while the daemon
	// runs and after it stopped.
	grepData := func(when string) {
		t.Helper()
		filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read %s: %v", path, err)
				return nil
			}
			for _, m := range aliceMarks {
				if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(m))) {
					t.Errorf("%s: %s still holds %q", when, filepath.Base(path), m)
				}
			}
			return nil
		})
	}
	grepData("daemon running")
	st.Close()
	if code := stop(); code != 0 {
		t.Errorf("daemon exit %d", code)
	}
	grepData("daemon stopped")
	b, _ := os.ReadFile(filepath.Join(data, dbFile))
	if !bytes.Contains(b, []byte("Carol's own words")) {
		t.Error("carol's words are gone from the database")
	}
}

// TestExportQueuedMessages: a message still in the inbound queue appears
// in the export with its text and attachment, and an empty queue is an
// empty list rather than null.
func TestExportQueuedMessages(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	d := core.CustomerData{Address: aliceAddr, Queued: []core.QueuedMessage{{
		Row: core.QueuedInbound{ID: 7, Door: core.DoorSMTP, QueuedAt: at, Attempts: 2, LastError: "database is locked"},
		Message: core.InboundMessage{From: aliceAddr, Subject: "Still waiting", Text: "Queued words.",
			Recipients: []string{"support@example.com"}, MessageID: "q1@example.com",
			Attachments: []core.Attachment{{Filename: "a.txt", ContentType: "text/plain", Size: 2, Data: []byte("hi")}}},
	}}}
	b, err := json.Marshal(exportDocument(d, at))
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{`"queued_messages":[{`, `"queued_at":"2026-12-01T08:30:00Z"`, `"door":"smtp"`,
		`"subject":"Still waiting"`, `"text":"Queued words."`, `"attempts":2`, `"last_error":"database is locked"`,
		`"data_base64":"aGk="`, `"recipients":["support@example.com"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %s: %s", want, out)
		}
	}
	b, _ = json.Marshal(exportDocument(core.CustomerData{Address: aliceAddr}, at))
	if !strings.Contains(string(b), `"queued_messages":[]`) {
		t.Errorf("empty queue exported as %s", b)
	}
}
