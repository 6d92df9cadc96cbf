package compose_test

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"trivialtickets/core"
	"trivialtickets/mailgw/compose"
	"trivialtickets/mailgw/parse"
)

var date = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CET", 3600))

func baseMail() core.OutMail {
	return core.OutMail{
		From:       "support@tickets.example.com",
		To:         "anna@Example.ORG",
		ReplyTo:    "support+abcdefghijklmnop@tickets.example.com",
		Subject:    `[Ticket "abcdefghijklmnop"] Printer on fire`,
		Body:       "Hello Anna,\n\nwe are on it.\n-- \nSupport",
		MessageID:  "0123456789abcdef01234567.tt@tickets.example.com",
		InReplyTo:  "anna-1@example.org",
		References: []string{"anna-1@example.org", "0000.tt@tickets.example.com"},
	}
}

// headerKeys returns the header field names of raw, in order.
func headerKeys(t testing.TB, raw []byte) []string {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("reading header back: %v\n%s", err, raw)
	}
	var keys []string
	for f := h.Fields(); f.Next(); {
		keys = append(keys, f.Key())
	}
	return keys
}

var allowed = map[string]bool{
	"Date": true, "From": true, "To": true, "Reply-To": true, "Subject": true,
	"Message-Id": true, "In-Reply-To": true, "References": true, "Auto-Submitted": true,
	"X-Auto-Response-Suppress": true, "X-Trivial-Tickets-Loop": true, "Mime-Version": true,
	"Content-Type": true, "Content-Transfer-Encoding": true,
}

func checkHeader(t testing.TB, raw []byte) {
	t.Helper()
	seen := map[string]bool{}
	for _, k := range headerKeys(t, raw) {
		if !allowed[k] || seen[k] {
			t.Fatalf("unexpected or repeated header field %q in\n%s", k, raw)
		}
		seen[k] = true
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if len(line) > 998 || bytes.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("bad header line %q", line)
		}
	}
}

// checkEncodedLines holds the header to RFC 2047 §2: an encoded word is at
// most 75 characters, and a line that holds one at most 76, the field name
// included. (Go's mime.BEncoding makes words of 75 characters, which beside
// "Subject: " break this and keep the header writer from folding the line.)
func checkEncodedLines(t testing.TB, raw []byte) {
	t.Helper()
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if bytes.Contains(line, []byte("=?")) && len(line) > 76 {
			t.Errorf("header line of %d characters with an encoded word: %q", len(line), line)
		}
	}
}

func TestBuildRoundTrip(t *testing.T) {
	subjects := []string{
		`[Ticket "abcdefghijklmnop"] Printer on fire`,
		"Grüße aus Köln – 100 € 😀 " + strings.Repeat("ü", 40),
		"Hi\r\nBcc: evil@x",
		"Hi\nBcc: evil@x\r\n\r\nbody injection",
		"=?utf-8?q?not_an_encoded_word?=",
		"a subject that is long enough to need more than one encoded word =?x?b?eA==?=",
		strings.Repeat("long words ", 40),
		strings.Repeat("😀", 250),
		`[Ticket "abcdefghijklmnop"] Grüße aus Köln`,
		"",
	}
	for _, subj := range subjects {
		m := baseMail()
		m.Subject = subj
		m.Body = "Zeile 1 äöü\nline 2 = equals\r\nline 3 with a very long line " + strings.Repeat("x", 200) + "\r\n.\nend"
		raw, err := compose.Build(m, date, "tickets.example.com")
		if err != nil {
			t.Fatalf("Build(%q): %v", subj, err)
		}
		checkHeader(t, raw)
		checkEncodedLines(t, raw)
		if bytes.Contains(raw, []byte("\nBcc")) || bytes.Contains(raw, []byte("\r\n\r\nbody injection")) {
			t.Fatalf("header injection:\n%s", raw)
		}
		for i, c := range raw {
			if c == '\n' && (i == 0 || raw[i-1] != '\r') || c >= 0x80 {
				t.Fatalf("bare LF or 8-bit byte at %d in\n%s", i, raw)
			}
		}

		got, err := parse.ParseBytes(raw, parse.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if want := core.CleanSubject(subj); got.Subject != want {
			t.Errorf("Subject = %q, want %q", got.Subject, want)
		}
		wantText := strings.ReplaceAll(m.Body, "\r\n", "\n")
		if got.Text != wantText {
			t.Errorf("Text = %q, want %q", got.Text, wantText)
		}
		if got.From != "support@tickets.example.com" || len(got.Recipients) != 1 || got.Recipients[0] != "anna@example.org" {
			t.Errorf("From %q Recipients %q", got.From, got.Recipients)
		}
		if got.MessageID != m.MessageID || len(got.InReplyTo) != 1 || got.InReplyTo[0] != m.InReplyTo ||
			strings.Join(got.References, " ") != strings.Join(m.References, " ") {
			t.Errorf("ids %q %q %q", got.MessageID, got.InReplyTo, got.References)
		}
		if !got.LoopMarker || got.AutoSubmitted != "auto-generated" || got.AutoResponseSuppress != "All" {
			t.Errorf("loop signals: %v %q %q", got.LoopMarker, got.AutoSubmitted, got.AutoResponseSuppress)
		}
		if core.AutomaticReason(got, nil) == "" {
			t.Error("our own mail would be answered")
		}
	}
}

func TestBuildHeaderFields(t *testing.T) {
	raw, err := compose.Build(baseMail(), date, "tickets.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\n",
		"From: <support@tickets.example.com>\r\n",
		"To: <anna@example.org>\r\n",
		"Reply-To: <support+abcdefghijklmnop@tickets.example.com>\r\n",
		"Subject: [Ticket \"abcdefghijklmnop\"] Printer on fire\r\n",
		"Message-Id: <0123456789abcdef01234567.tt@tickets.example.com>\r\n",
		"In-Reply-To: <anna-1@example.org>\r\n",
		"References: <anna-1@example.org> <0000.tt@tickets.example.com>\r\n",
		"Auto-Submitted: auto-generated\r\n",
		"X-Auto-Response-Suppress: All\r\n",
		"X-Trivial-Tickets-Loop: tickets.example.com\r\n",
		"Mime-Version: 1.0\r\n",
		"Content-Type: text/plain; charset=utf-8\r\n",
		"Content-Transfer-Encoding: quoted-printable\r\n",
		"\r\n\r\nHello Anna,\r\n\r\nwe are on it.\r\n--=20\r\nSupport\r\n", // RFC 2045 §6.7: trailing space encoded
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, raw)
		}
	}
	if !bytes.HasPrefix(raw, []byte("Date: ")) {
		t.Errorf("header order:\n%s", raw)
	}
	// Without Reply-To, In-Reply-To and References.
	m := baseMail()
	m.ReplyTo, m.InReplyTo, m.References = "", "", nil
	raw, err = compose.Build(m, date, "tickets.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Reply-To", "In-Reply-To", "References"} {
		if bytes.Contains(raw, []byte(k+":")) {
			t.Errorf("%s present:\n%s", k, raw)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*core.OutMail)
		loop string
		want error
	}{
		{"empty To", func(m *core.OutMail) { m.To = "" }, "x.example", compose.ErrInvalidAddress},
		{"CRLF in To", func(m *core.OutMail) { m.To = "a@example.org\r\nBcc: evil@x" }, "x.example", compose.ErrInvalidAddress},
		{"LF in From", func(m *core.OutMail) { m.From = "a@example.org\nX: y" }, "x.example", compose.ErrInvalidAddress},
		{"brackets", func(m *core.OutMail) { m.To = "Anna <a@example.org>" }, "x.example", compose.ErrInvalidAddress},
		{"comma", func(m *core.OutMail) { m.To = "a@example.org, b@example.org" }, "x.example", compose.ErrInvalidAddress},
		{"bad Reply-To", func(m *core.OutMail) { m.ReplyTo = "nope" }, "x.example", compose.ErrInvalidAddress},
		{"no Message-ID", func(m *core.OutMail) { m.MessageID = "" }, "x.example", compose.ErrInvalidMessageID},
		{"Message-ID with CRLF", func(m *core.OutMail) { m.MessageID = "a@b\r\nBcc: x" }, "x.example", compose.ErrInvalidMessageID},
		{"loop id with LF", func(m *core.OutMail) {}, "x.example\nBcc: y", compose.ErrInvalidMessageID},
	}
	for _, tt := range tests {
		m := baseMail()
		tt.mod(&m)
		if _, err := compose.Build(m, date, tt.loop); !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
	// Junk In-Reply-To / References are left out, not fatal.
	m := baseMail()
	m.InReplyTo = "a b\r\nBcc: x"
	m.References = []string{"<x>", "ok@x", "bad\nid"}
	raw, err := compose.Build(m, date, "x.example")
	if err != nil {
		t.Fatal(err)
	}
	checkHeader(t, raw)
	if bytes.Contains(raw, []byte("In-Reply-To")) || !bytes.Contains(raw, []byte("References: <ok@x>\r\n")) {
		t.Errorf("threading headers:\n%s", raw)
	}
}

// FuzzBuild checks that nothing in an outbox row can add a header field:
// the output either fails to build or reads back with exactly our fields
// and the same subject.
func FuzzBuild(f *testing.F) {
	f.Add("Hi\r\nBcc: evil@x", "body", "anna@example.org", "id@x")
	f.Add("Grüße =?utf-8?q?x?=", "a\rb\nc\r\n", "a@b.example", "")
	f.Add(strings.Repeat("ü", 300), "\x00", "x@y.z", "a\nb")
	f.Fuzz(func(t *testing.T, subject, body, to, inReplyTo string) {
		m := baseMail()
		m.Subject, m.Body, m.To, m.InReplyTo = subject, body, to, inReplyTo
		raw, err := compose.Build(m, date, "tickets.example.com")
		if err != nil {
			if !errors.Is(err, compose.ErrInvalidAddress) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		checkHeader(t, raw)
		got, err := parse.ParseBytes(raw, parse.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if want := core.CleanSubject(subject); got.Subject != want {
			t.Fatalf("Subject = %q, want %q", got.Subject, want)
		}
		if !got.LoopMarker || got.MessageID != m.MessageID {
			t.Fatalf("LoopMarker %v MessageID %q", got.LoopMarker, got.MessageID)
		}
	})
}
