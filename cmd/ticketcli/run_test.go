package main

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"trivialtickets/core"
	"trivialtickets/mailgw/parse"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui/mailapi"
)

const testToken = "cli-test-token-0123456789"

// testServer is the real Mail API on a real store behind TLS.
type testServer struct {
	srv    *httptest.Server
	svc    *core.Service
	caFile string
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ticketd.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	svc := core.NewService(st, core.Config{PublicURL: "https://help.example.com", SupportAddresses: []string{"support@example.com"}})
	h := mailapi.New(mailapi.Config{
		Service:  svc,
		Token:    testToken,
		ParseRaw: func(r io.Reader) (core.InboundMessage, error) { return parse.Parse(r, parse.DefaultLimits()) },
		Logger:   slog.New(slog.DiscardHandler),
	})
	srv := httptest.NewUnstartedServer(h)
	// The test of an untrusted certificate makes the server log a failed
	// handshake; keep that out of the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "cert.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return &testServer{srv: srv, svc: svc, caFile: ca}
}

// args returns the connection options for the test server followed by a.
func (s *testServer) args(a ...string) []string {
	return append([]string{"--server", s.srv.URL, "--token", testToken, "--ca", s.caFile}, a...)
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func (r result) ok(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

var createdRe = regexp.MustCompile(`Created ticket ([a-z2-7]{20})\n`)

func createdID(t *testing.T, r result) string {
	t.Helper()
	m := createdRe.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no \"Created ticket\" in %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "Link: https://help.example.com/ticket?id="+m[1]+"\n") {
		t.Errorf("no link in %q", r.stdout)
	}
	return m[1]
}

func TestSubmitAndFetch(t *testing.T) {
	s := newTestServer(t)

	r := runCLI(t, "", s.args("submit", "--from", "dave@example.com", "--subject", "Printer on fire", "--message", "Please help.")...).ok(t)
	id := createdID(t, r)

	// --ticket adds the tag; the reply goes to the same ticket.
	r = runCLI(t, "", s.args("submit", "--from", "dave@example.com", "--subject", "More", "--message", "It spreads.", "--ticket", id)...).ok(t)
	if r.stdout != "Added to ticket "+id+"\nLink: https://help.example.com/ticket?id="+id+"\n" {
		t.Errorf("reply output %q", r.stdout)
	}
	// The link works as ticket id, a tag already there is not doubled, and
	// "-" reads the message from stdin.
	r = runCLI(t, "From stdin\n", s.args("submit", "--from", "dave@example.com", "--subject", core.Tag(id)+" again",
		"--message", "-", "--ticket", "https://help.example.com/ticket?id="+id)...).ok(t)
	if !strings.HasPrefix(r.stdout, "Added to ticket "+id) {
		t.Errorf("output %q", r.stdout)
	}
	v, err := s.svc.ViewTicket(context.Background(), nil, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Entries) != 3 || v.Entries[2].Text != "From stdin\n" {
		t.Fatalf("entries %+v", v.Entries)
	}

	// A raw message, from a file and from stdin.
	eml := filepath.Join(t.TempDir(), "msg.eml")
	raw := "From: Erin <erin@example.com>\r\nTo: support@example.com\r\nSubject: Raw request\r\nMessage-ID: <raw1@example.com>\r\n\r\nSent as a file.\r\n"
	os.WriteFile(eml, []byte(raw), 0o600)
	r = runCLI(t, "", s.args("submit", "--eml", eml)...).ok(t)
	emlID := createdID(t, r)
	r = runCLI(t, strings.ReplaceAll(raw, "raw1@", "raw2@"), s.args("submit", "--eml", "-")...).ok(t)
	createdID(t, r)
	// The same file again is a duplicate.
	r = runCLI(t, "", s.args("submit", "--eml", eml)...).ok(t)
	if !strings.Contains(r.stdout, "Already received: ticket "+emlID) {
		t.Errorf("duplicate output %q", r.stdout)
	}

	// fetch --no-verify prints and changes nothing.
	r = runCLI(t, "", s.args("fetch", "--no-verify")...).ok(t)
	if n := strings.Count(r.stdout, "\nMail "); n != 3 {
		t.Fatalf("%d mails printed, want 3 confirmations:\n%s", n, r.stdout)
	}
	for _, want := range []string{
		"From:    support@example.com\n",
		"To:      dave@example.com\n",
		`Subject: [Ticket "` + id + `"] Printer on fire` + "\n\n",
		"https://help.example.com/ticket?id=" + id,
		"To:      erin@example.com\n",
		"3 pending mails, none confirmed\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fetch output lacks %q:\n%s", want, r.stdout)
		}
	}
	again := runCLI(t, "", s.args("fetch", "--no-verify")...).ok(t)
	if again.stdout != r.stdout {
		t.Errorf("--no-verify changed the outbox")
	}

	// fetch prints and confirms; the next fetch has nothing.
	r = runCLI(t, "", s.args("fetch")...).ok(t)
	if strings.Count(r.stdout, "\nMail ") != 3 || !strings.HasSuffix(r.stdout, "confirmed 3 mails\n") {
		t.Errorf("fetch output:\n%s", r.stdout)
	}
	r = runCLI(t, "", s.args("fetch")...).ok(t)
	if strings.Contains(r.stdout, "Mail ") || r.stdout != "No pending mails.\n" {
		t.Errorf("second fetch printed %q", r.stdout)
	}
}

func TestTLSOptions(t *testing.T) {
	s := newTestServer(t)
	base := []string{"--server", s.srv.URL, "--token", testToken}
	runCLI(t, "", append(base, "--insecure", "fetch")...).ok(t)
	// Options work after the command too.
	runCLI(t, "", "fetch", "--server", s.srv.URL, "--token", testToken, "--insecure").ok(t)

	r := runCLI(t, "", append(base, "fetch")...)
	if r.code != 1 || !strings.Contains(r.stderr, "certificate") || !strings.Contains(r.stderr, "--ca FILE") {
		t.Errorf("untrusted certificate: %+v", r)
	}
	r = runCLI(t, "", append(base, "--ca", filepath.Join(t.TempDir(), "missing.pem"), "fetch")...)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "ticketcli: read CA file:") {
		t.Errorf("missing CA file: %+v", r)
	}
}

func TestErrors(t *testing.T) {
	s := newTestServer(t)

	r := runCLI(t, "", "--server", s.srv.URL, "--token", "wrong", "--ca", s.caFile, "fetch")
	if r.code != 1 || r.stderr != "ticketcli: server answered 401: missing or wrong bearer token\n" || r.stdout != "" {
		t.Errorf("wrong token: %+v", r)
	}
	r = runCLI(t, "", s.args("submit", "--from", "x@", "--subject", "s", "--message", "m")...)
	if r.code != 1 || r.stderr != "ticketcli: server answered 400: \"x@\" is not a valid e-mail address\n" {
		t.Errorf("invalid address: %+v", r)
	}
	r = runCLI(t, "", s.args("submit", "--from", "a@example.com", "--subject", "", "--message", "m")...)
	if r.code != 1 || !strings.Contains(r.stderr, `property "subject" must not be empty`) {
		t.Errorf("empty subject: %+v", r)
	}

	for _, args := range [][]string{
		s.args("submit", "--from", "a@example.com"),
		s.args("submit", "--eml", "x.eml", "--from", "a@example.com"),
		s.args("submit", "--from", "a@example.com", "--subject", "s", "--message", "m", "--ticket", "nope"),
		s.args("submit", "extra"),
		s.args("fetch", "--bogus"),
		s.args("frobnicate"),
		{"--server", s.srv.URL, "--ca", s.caFile, "--insecure", "fetch"},
		{"--server", "localhost:8443", "fetch"},
	} {
		r := runCLI(t, "", args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "ticketcli: ") || r.stdout != "" {
			t.Errorf("%q: want usage error, got %+v", args, r)
		}
	}

	r = runCLI(t, "", "--help").ok(t)
	for _, want := range []string{"submit", "fetch", "--no-verify", "--eml", "--ticket", "--token-file", "TICKETCLI_TOKEN", "data/mailapi-token", "--ca", "--insecure", "menu"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if r := runCLI(t, "", "submit", "-h"); r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
		t.Errorf("submit -h: %+v", r)
	}
}

func TestTokenSources(t *testing.T) {
	s := newTestServer(t)
	conn := []string{"--server", s.srv.URL, "--ca", s.caFile, "fetch"}

	dir := t.TempDir()
	t.Chdir(dir)
	// No token anywhere: none is sent, and the server refuses.
	if r := runCLI(t, "", conn...); r.code != 1 || !strings.Contains(r.stderr, "401") {
		t.Errorf("without token: %+v", r)
	}
	// The daemon's default token file in ./data.
	os.Mkdir(filepath.Join(dir, "data"), 0o700)
	os.WriteFile(filepath.Join(dir, "data", "mailapi-token"), []byte(testToken+"\n"), 0o600)
	runCLI(t, "", conn...).ok(t)
	// The environment comes before the default file.
	t.Setenv("TICKETCLI_TOKEN", "wrong-from-env")
	if r := runCLI(t, "", conn...); r.code != 1 {
		t.Errorf("token from the environment not used: %+v", r)
	}
	// --token-file comes before the environment.
	tf := filepath.Join(dir, "token")
	os.WriteFile(tf, []byte(testToken+"\n"), 0o600)
	runCLI(t, "", append([]string{"--token-file", tf}, conn...)...).ok(t)
	t.Setenv("TICKETCLI_TOKEN", testToken)
	runCLI(t, "", conn...).ok(t)
}

func TestMenu(t *testing.T) {
	s := newTestServer(t)
	input := strings.Join([]string{
		"1", "frank@example.com", "Menu subject", "", "line one", "line two", ".",
		"3",
		"x",
		"2",
		"2",
		"4",
	}, "\n") + "\n"
	r := runCLI(t, input, s.args()...).ok(t)
	id := createdID(t, r)
	for _, want := range []string{
		"1  submit a message", "4  quit", "From: ", "Subject: ",
		`Message (end it with a line containing only "."):`,
		"1 pending mails, none confirmed",
		"Please answer 1, 2, 3 or 4.",
		"confirmed 1 mails",
		"No pending mails.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("menu output lacks %q:\n%s", want, r.stdout)
		}
	}
	v, err := s.svc.ViewTicket(context.Background(), nil, id)
	if err != nil || v.Entries[0].Text != "line one\nline two\n" || v.Ticket.Subject != "Menu subject" {
		t.Errorf("ticket %+v %v", v, err)
	}

	// A reply through the menu, then end of input instead of 4.
	r = runCLI(t, "1\nfrank@example.com\nRe\n"+id+"\nmore\n.\n", s.args()...).ok(t)
	if !strings.Contains(r.stdout, "Added to ticket "+id) {
		t.Errorf("menu reply:\n%s", r.stdout)
	}

	// A failing step prints the server's message and the menu goes on;
	// the exit status tells that something failed.
	r = runCLI(t, "1\nx@\ns\n\nm\n.\n3\n4\n", s.args()...)
	if r.code != 1 || !strings.Contains(r.stderr, `ticketcli: server answered 400: "x@" is not a valid e-mail address`) ||
		!strings.Contains(r.stdout, "No pending mails.") {
		t.Errorf("menu with an error: %+v", r)
	}
	r = runCLI(t, "2\n4\n", "--server", s.srv.URL, "--token", "wrong", "--ca", s.caFile)
	if r.code != 1 || !strings.Contains(r.stderr, "ticketcli: server answered 401: missing or wrong bearer token") {
		t.Errorf("menu with wrong token: %+v", r)
	}
	// Input ending in the middle of a message sends nothing.
	r = runCLI(t, "1\nfrank@example.com\nCut\n\nhalf a message\n", s.args()...)
	if r.code != 1 || !strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("cut input: %+v", r)
	}
}

func TestClean(t *testing.T) {
	if got := clean("a\x1b[2Jb\r\nc\td\u2028", true); got != "a\uFFFD[2Jb\nc\td\uFFFD" {
		t.Errorf("clean multiline: %q", got)
	}
	if got := clean("s\nx\x00", false); got != "s\uFFFDx\uFFFD" {
		t.Errorf("clean line: %q", got)
	}
}
