package parse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"trivialtickets/core"
)

func parseFile(t *testing.T, name string) core.InboundMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseBytes(raw, DefaultLimits())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// TestCorpus checks, for each tricky message in testdata, the fields a user
// of the helpdesk would notice.
func TestCorpus(t *testing.T) {
	type att struct{ name, ctype, cid, data string }
	tests := []struct {
		file       string
		from, name string
		rcpts      []string
		subject    string
		text       []string // substrings of Text
		notText    []string
		html       string // substring of HTML
		atts       []att
		msgID      string
		inReplyTo  []string
		refs       []string
		automatic  string // substring of core.AutomaticReason, "" = may be answered
		check      func(t *testing.T, m core.InboundMessage)
	}{
		{
			file: "alternative.eml", from: "anna@example.org", name: "Anna Beispiel",
			rcpts:   []string{"support@tickets.example.com", "other@example.net", "boss@example.net"},
			subject: "Printer on fire",
			text:    []string{"Hello,\n\nthe printer on floor 3 is on fire. Schöne Grüße, this is a long soft-broken line."},
			notText: []string{"<p>", "multi-part message"},
			html:    "<p>the printer <b>on floor 3</b>",
			msgID:   "alt-1@example.org",
			check: func(t *testing.T, m core.InboundMessage) {
				if m.ReturnPath != "anna@example.org" || m.NullSender {
					t.Errorf("ReturnPath %q NullSender %v", m.ReturnPath, m.NullSender)
				}
			},
		},
		{
			file: "html_only.eml", from: "shop@example.com", subject: "Your order",
			text: []string{"Order confirmation\n\nDear customer,\nthank you for your order à la carte.",
				"- One item\n- Two & three", "Track it here (https://shop.example.com/track?id=1&x=2).", "Total 12 €"},
			notText: []string{"Ignore me", "alert", "color: red", "hidden", "<"},
			html:    "<h1>Order&nbsp;confirmation</h1>",
			msgID:   "html-1@example.com",
		},
		{
			file: "subject_utf8.eml", from: "juergen@example.de", name: "Jürgen Müller",
			subject: "Überweisung fehlgeschlagen €",
			text:    []string{"Die Überweisung über 100 € ist fehlgeschlagen."},
		},
		{
			file: "subject_latin1.eml", from: "francois@example.fr", name: "François Désiré",
			subject: "Grüße aus Köln",
			text:    []string{"Chère équipe, le café est froid. Grüße."},
		},
		{
			file: "header_8bit.eml", from: "joerg@example.de", name: "Jörg Schäfer",
			subject: "Straße gesperrt", text: []string{"Kein MIME, aber 8-bit: München."},
		},
		{
			file: "attachment_rfc2231.eml", subject: "Files",
			text: []string{"See the attached files."}, notText: []string{"cost list"},
			atts: []att{
				{"Résumé.pdf", "application/pdf", "", "%PDF-1.4 fake pdf"},
				{"Übersicht der Kosten.txt", "text/plain; charset=utf-8", "", "cost list"},
				{"passwd", "application/octet-stream", "", "root:x:0:0"},
				{"gnp.exe", "image/png", "", "\x89PNG\r\n\x1a\n"},
			},
		},
		{
			file: "autoreply.eml", subject: "Out of office: Printer on fire",
			automatic: "Auto-Submitted: auto-replied",
			check: func(t *testing.T, m core.InboundMessage) {
				if m.XAutoreply != "yes" {
					t.Errorf("XAutoreply %q", m.XAutoreply)
				}
			},
		},
		{
			file: "outlook_oof.eml", from: "carol@corp.example", name: "Carol",
			automatic: "Precedence: auto_reply",
			check: func(t *testing.T, m core.InboundMessage) {
				if m.AutoResponseSuppress != "All" {
					t.Errorf("AutoResponseSuppress %q", m.AutoResponseSuppress)
				}
			},
		},
		{
			file: "bounce_dsn.eml", from: "MAILER-DAEMON@mx.example.net",
			subject: "Undelivered Mail Returned to Sender",
			text: []string{"your message could not\nbe delivered",
				"Final-Recipient: rfc822; gone@example.net", "Original-Recipient: rfc822;gone@example.net",
				"Status: 5.1.1", "Recipient address rejected: User unknown"},
			inReplyTo: []string{"0123456789abcdef01234567.tt@tickets.example.com"},
			automatic: "Auto-Submitted",
			check: func(t *testing.T, m core.InboundMessage) {
				if !m.Bounce || !m.NullSender || m.ReturnPath != "<>" {
					t.Errorf("Bounce %v NullSender %v ReturnPath %q", m.Bounce, m.NullSender, m.ReturnPath)
				}
				m.AutoSubmitted = ""
				if r := core.AutomaticReason(m, nil); r != "delivery status notification" {
					t.Errorf("reason without Auto-Submitted: %q", r)
				}
			},
		},
		{
			file: "list.eml", subject: "[announce] New release", automatic: "Precedence: list",
			check: func(t *testing.T, m core.InboundMessage) {
				if m.ListID != "Announcements <announce.lists.example.org>" || m.ListUnsubscribe == "" {
					t.Errorf("ListID %q ListUnsubscribe %q", m.ListID, m.ListUnsubscribe)
				}
			},
		},
		{
			file: "reply_inreplyto.eml", rcpts: []string{"support+abcdefghijklmnop@tickets.example.com"},
			inReplyTo: []string{"0123456789abcdef01234567.tt@tickets.example.com"},
			text:      []string{"Thanks, it works now.\n\n> quoted earlier text"},
		},
		{
			file:    "tag_encoded.eml",
			subject: `AW: Re: [Ticket "abcdefghijklmnop"] Drucker kaputt – dringend`,
			refs:    []string{"root-1@example.org", "0123456789abcdef01234567.tt@tickets.example.com"},
			check: func(t *testing.T, m core.InboundMessage) {
				if id, ok := core.ParseTag(m.Subject); !ok || id != "abcdefghijklmnop" {
					t.Errorf("ParseTag(%q) = %q, %v", m.Subject, id, ok)
				}
			},
		},
		{
			file: "broken_boundary.eml", text: []string{"Text of a mail whose Content-Type lost its boundary."},
			notText: []string{"--XYZ123"},
			atts:    []att{{"data.bin", "application/octet-stream", "", "\x00\x01\x02\x03"}},
		},
		{
			file: "truncated_base64.eml", text: []string{"The text survives even though the mail was cut off"},
			atts: []att{{"cut.pdf", "application/pdf", "", "%PDF-1.4"}},
		},
		{
			file: "unknown_charset.eml", subject: "Qapla' café", text: []string{"nuqneH café"},
		},
		{
			file: "nul_bytes.eml", subject: "Nul bytes", text: []string{"Beforeafter the end"},
		},
		{
			file: "no_message_id.eml", subject: "Where is my id",
			check: func(t *testing.T, m core.InboundMessage) {
				if !strings.HasSuffix(m.MessageID, ".sha256@"+DerivedIDDomain) || len(m.MessageID) != 64+len(".sha256@"+DerivedIDDomain) {
					t.Errorf("derived MessageID %q", m.MessageID)
				}
				if again := parseFile(t, "no_message_id.eml"); again.MessageID != m.MessageID {
					t.Errorf("derived id not stable: %q vs %q", again.MessageID, m.MessageID)
				}
				other := parseFile(t, "autoreply.eml")
				raw, _ := os.ReadFile("testdata/no_message_id.eml")
				m2, _ := ParseBytes(append(raw, 'x'), DefaultLimits())
				if m2.MessageID == m.MessageID || other.MessageID == m.MessageID {
					t.Error("different messages got the same derived id")
				}
			},
		},
		{
			file: "inline_image.eml", subject: "Screenshot",
			text:    []string{"See the error:\n\nThanks", "[inline image: screenshot.png]"},
			notText: []string{"[screenshot]"},
			html:    `<img src="cid:shot1@example.com"`,
			atts:    []att{{"screenshot.png", "image/png", "shot1@example.com", "\x89PNG"}},
		},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".eml"), func(t *testing.T) {
			m := parseFile(t, tt.file)
			if m.Door != "" {
				t.Errorf("Door = %q, want empty", m.Door)
			}
			if tt.from != "" && m.From != tt.from {
				t.Errorf("From = %q, want %q", m.From, tt.from)
			}
			if tt.name != "" && m.FromName != tt.name {
				t.Errorf("FromName = %q, want %q", m.FromName, tt.name)
			}
			if tt.rcpts != nil && fmt.Sprint(m.Recipients) != fmt.Sprint(tt.rcpts) {
				t.Errorf("Recipients = %q, want %q", m.Recipients, tt.rcpts)
			}
			if tt.subject != "" && m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			for _, s := range tt.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("Text lacks %q:\n%s", s, m.Text)
				}
			}
			for _, s := range tt.notText {
				if strings.Contains(m.Text, s) {
					t.Errorf("Text has %q:\n%s", s, m.Text)
				}
			}
			if tt.html != "" && !strings.Contains(m.HTML, tt.html) {
				t.Errorf("HTML lacks %q: %q", tt.html, m.HTML)
			}
			if tt.html == "" && m.HTML != "" && tt.file != "html_only.eml" {
				t.Errorf("HTML = %q, want none", m.HTML)
			}
			if tt.atts != nil || len(m.Attachments) > 0 {
				if len(m.Attachments) != len(tt.atts) {
					t.Fatalf("%d attachments, want %d: %+v", len(m.Attachments), len(tt.atts), m.Attachments)
				}
				for i, a := range tt.atts {
					g := m.Attachments[i]
					if g.Filename != a.name || g.ContentType != a.ctype || g.ContentID != a.cid ||
						!bytes.HasPrefix(g.Data, []byte(a.data)) || g.Size != int64(len(g.Data)) {
						t.Errorf("attachment %d = %q %q %q size %d data %q, want %+v", i, g.Filename, g.ContentType, g.ContentID, g.Size, g.Data, a)
					}
				}
			}
			if tt.msgID != "" && m.MessageID != tt.msgID {
				t.Errorf("MessageID = %q, want %q", m.MessageID, tt.msgID)
			}
			if m.MessageID == "" || strings.ContainsAny(m.MessageID, "<> ") {
				t.Errorf("MessageID = %q", m.MessageID)
			}
			if fmt.Sprint(m.InReplyTo) != fmt.Sprint(tt.inReplyTo) && (tt.inReplyTo != nil || len(m.InReplyTo) > 0) {
				t.Errorf("InReplyTo = %q, want %q", m.InReplyTo, tt.inReplyTo)
			}
			if fmt.Sprint(m.References) != fmt.Sprint(tt.refs) && (tt.refs != nil || len(m.References) > 0) {
				t.Errorf("References = %q, want %q", m.References, tt.refs)
			}
			reason := core.AutomaticReason(m, []string{"support@tickets.example.com"})
			if tt.automatic == "" && reason != "" || !strings.Contains(reason, tt.automatic) {
				t.Errorf("AutomaticReason = %q, want %q", reason, tt.automatic)
			}
			checkInvariants(t, m)
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

// checkInvariants holds for every parsed message, whatever the input.
func checkInvariants(t *testing.T, m core.InboundMessage) {
	t.Helper()
	if strings.ContainsAny(m.Subject, "\r\n\x00") || !utf8.ValidString(m.Subject) {
		t.Errorf("bad Subject %q", m.Subject)
	}
	if !utf8.ValidString(m.Text) || strings.ContainsAny(m.Text, "\x00\r") {
		t.Errorf("bad Text %q", m.Text)
	}
	if !utf8.ValidString(m.HTML) || strings.ContainsRune(m.HTML, 0) {
		t.Errorf("bad HTML %q", m.HTML)
	}
	one := []string{m.From, m.FromName, m.MessageID, m.ReturnPath, m.AutoSubmitted, m.Precedence,
		m.AutoResponseSuppress, m.XAutoreply, m.XAutorespond, m.ListID, m.ListUnsubscribe}
	one = append(one, m.Recipients...)
	one = append(one, m.InReplyTo...)
	one = append(one, m.References...)
	for _, a := range m.Attachments {
		one = append(one, a.Filename, a.ContentType, a.ContentID)
		if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\") || strings.HasPrefix(a.Filename, ".") {
			t.Errorf("bad file name %q", a.Filename)
		}
		if a.Size != int64(len(a.Data)) {
			t.Errorf("attachment %q: Size %d, %d bytes", a.Filename, a.Size, len(a.Data))
		}
	}
	for _, s := range one {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\x00") {
			t.Errorf("bad one-line value %q", s)
		}
	}
	if m.MessageID == "" {
		t.Error("empty MessageID")
	}
}

func TestNotMail(t *testing.T) {
	for _, in := range []string{"", "\r\n\r\nbody only", "just some words\nand more words\n", "\x00\x01\x02"} {
		if _, err := ParseBytes([]byte(in), Limits{}); !errors.Is(err, ErrNotMail) {
			t.Errorf("ParseBytes(%q) error %v, want ErrNotMail", in, err)
		}
	}
}

func TestMissingBoundaryAndWrongBoundary(t *testing.T) {
	raw := "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=nothere\r\n\r\nplain words only\r\n"
	m, err := ParseBytes([]byte(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "plain words only") || !strings.Contains(m.Text, "[Note:") {
		t.Errorf("Text = %q", m.Text)
	}
}

// bounded runs f and fails when it takes longer than d or allocates more
// than maxAlloc bytes in total.
func bounded(t *testing.T, d time.Duration, maxAlloc uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	if el > d {
		t.Errorf("took %v, want < %v", el, d)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc && !raceEnabled {
		t.Errorf("allocated %d MiB, want < %d MiB", alloc>>20, maxAlloc>>20)
	}
}

func TestHostileManyParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "--x\r\nContent-Type: application/octet-stream\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--x--\r\n")
	bounded(t, 2*time.Second, 64<<20, func() {
		m, err := ParseBytes([]byte(b.String()), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(m.Attachments); n >= DefaultMaxParts || n < DefaultMaxParts-2 {
			t.Errorf("%d attachments", n)
		}
		if !strings.Contains(m.Text, "more than 1000 MIME parts") {
			t.Errorf("Text = %q", m.Text)
		}
		checkInvariants(t, m)
	})
}

func TestHostileDeepNesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nSubject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 1; i < 100; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
	}
	b.WriteString("--b99\r\nContent-Type: text/plain\r\n\r\ndeepest text\r\n--b99--\r\n")
	for i := 98; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	bounded(t, 2*time.Second, 64<<20, func() {
		m, err := ParseBytes([]byte(b.String()), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, "nested deeper than 20 levels") || strings.Contains(m.Text, "deepest text") {
			t.Errorf("Text = %q", m.Text)
		}
		checkInvariants(t, m)
	})
	// Within the limit the text is found.
	m, err := ParseBytes([]byte(b.String()), Limits{MaxDepth: 200})
	if err != nil || !strings.Contains(m.Text, "deepest text") {
		t.Errorf("MaxDepth 200: %v %q", err, m.Text)
	}
}

func TestHostileHugeSubject(t *testing.T) {
	raw := "From: a@example.com\r\nSubject: " + strings.Repeat("=?utf-8?q?=C3=A4?= x ", 1<<20/20) + "\r\n\r\nbody\r\n"
	bounded(t, 2*time.Second, 64<<20, func() {
		m, err := ParseBytes([]byte(raw), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(m.Subject); n == 0 || n > core.MaxSubjectLength || !strings.HasPrefix(m.Subject, "ä x ä") {
			t.Errorf("Subject of %d characters: %.40q", n, m.Subject)
		}
		if !strings.Contains(m.Text, "body") {
			t.Errorf("Text = %q", m.Text)
		}
		checkInvariants(t, m)
	})
}

// endless yields an attachment that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

func TestHostileTooLarge(t *testing.T) {
	head := "From: a@example.com\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	r := io.MultiReader(strings.NewReader(head), io.LimitReader(endless{}, 30<<20))
	bounded(t, 5*time.Second, 3*DefaultMaxSize, func() {
		_, err := Parse(r, DefaultLimits())
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("Parse: %v, want ErrTooLarge", err)
		}
	})
	if _, err := ParseBytes(make([]byte, 2<<20), Limits{MaxSize: 1 << 20}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ParseBytes: %v, want ErrTooLarge", err)
	}
	// Just below the limit is fine.
	raw := head + strings.Repeat("QUJD\r\n", 1000)
	m, err := Parse(strings.NewReader(raw), Limits{MaxSize: int64(len(raw))})
	if err != nil || len(m.Attachments) != 1 || m.Attachments[0].Size != 3000 {
		t.Errorf("at the limit: %v %+v", err, m.Attachments)
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<p>a</p><p>b</p>`, "a\n\nb"},
		{`x<br>y<br/>z`, "x\ny\nz"},
		{`<div>one</div><div>two</div>`, "one\ntwo"},
		{`<a href="https://e.example/">https://e.example/</a>`, "https://e.example/"},
		{`<a href="mailto:a@b.example">a@b.example</a>`, "a@b.example"},
		{`<a href="javascript:alert(1)">click</a>`, "click"},
		{`<a href='https://x.example/?a=1&amp;b=2'>go</a>`, "go (https://x.example/?a=1&b=2)"},
		{`<SCRIPT>document.write("<p>x</p>")</SCRIPT>ok`, "ok"},
		{`<style>p{}</style><p>Hi &lt;there&gt; &#x263A; &euro;</p>`, "Hi <there> ☺ €"},
		{`<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>`, "a b\nc"},
		{`<pre>  keep
   this</pre>`, "keep\n   this"},
		{`a < b and c > d`, "a < b and c > d"},
		{`<p title="x>y">t</p>`, "t"},
		{`unclosed <b`, "unclosed"},
		{`<!-- unclosed comment`, ""},
		{`<img src="https://x.example/a.png" alt="logo">`, "[logo]"},
		{"many     spaces\n\n and\tlines", "many spaces and lines"},
		// The HTML5 tokenizer's rules where the old hand-written one
		// guessed: a textarea holds text, a self-closing svg has no
		// content, "</" before a digit starts a bogus comment, and an
		// entity without ";" before "=" stays as written in an attribute.
		{`<textarea>a<b>c</textarea>`, "a<b>c"},
		{`<svg/>after`, "after"},
		{`<script/>code()</script>after`, "after"},
		{`x</3>y`, "xy"},
		{`<a href="https://x.example/?a=1&copy=2">t</a>`, "t (https://x.example/?a=1&copy=2)"},
		{`<![CDATA[x<y]]>`, "x<y"},
		{`<div><b>unclosed <i>tags</div>after`, "unclosed tags\nafter"},
	}
	for _, tt := range tests {
		if got := htmlToText(tt.in); got != tt.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSanitizeFilename(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Windows\evil.exe`, "evil.exe"},
		{"a\x00b\r\nc.txt", "abc.txt"},
		{"..", ""},
		{".htaccess", "htaccess"},
		{"inv\u202eoice.pdf", "invoice.pdf"},
		{`what?"*.txt`, "what___.txt"},
		{strings.Repeat("x", 300) + ".pdf", strings.Repeat("x", 196) + ".pdf"},
	}
	for _, tt := range tests {
		if got := sanitizeFilename(tt.in); got != tt.want {
			t.Errorf("sanitizeFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	if got := string(decodeBase64([]byte("SGVs\r\nbG8*gd29y\nbGQ"))); got != "Hello world" {
		t.Errorf("base64: %q", got)
	}
	if got := string(decodeBase64([]byte("SGk=SGk="))); got != "HiHi" {
		t.Errorf("concatenated base64: %q", got)
	}
	if got := string(decodeQP([]byte("a=3Db=\r\nc =ZZ =\nd  \r\ne=4"))); got != "a=bc =ZZ d\r\ne=4" {
		t.Errorf("quoted-printable: %q", got)
	}
	typ, p := parseParams(`Attachment; FILENAME*0*=iso-8859-1''caf%E9; filename*1=" au lait.txt"; x="a;b"; broken`)
	if typ != "attachment" || p["filename"] != "café au lait.txt" || p["x"] != "a;b" {
		t.Errorf("parseParams: %q %q", typ, p)
	}
}

func TestParseReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("From: a@example.com\r\n"), errReader{})
	if _, err := Parse(r, Limits{}); err == nil || !errors.Is(err, errBroken) {
		t.Errorf("Parse: %v", err)
	}
}

var errBroken = errors.New("broken pipe")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

// FuzzParse checks that no input makes Parse panic or return values that
// core cannot store or that could break a header.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{
		"Content-Type: multipart/mixed\r\n\r\n--a\r\nContent-Type: multipart/alternative\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n--a--",
		"Content-Type: multipart/related; boundary=r; start=\"<c>\"\n\n--r\nContent-ID: <c>\nContent-Type: text/html\n\n<img src=cid:d><a href=\"x\n--r\nContent-ID: <d>\n\n",
		"Content-Type: text/plain; charset*0*=utf-8''%; name*=''\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=4=\n=",
		"Subject: =?utf-16?b?AAA=?= =?gb18030?q?=81?=\nContent-Type: multipart/report; report-type=delivery-status; boundary=z\n\n--z\nContent-Type: message/delivery-status\n\nStatus: 5.0.0\n\n--z\nContent-Type: message/rfc822\n\nMessage-ID: <o@x>\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		lim := Limits{MaxSize: 1 << 20, MaxParts: 100, MaxDepth: 10, MaxHeaderBytes: 64 << 10}
		m, err := ParseBytes(raw, lim)
		if err != nil {
			if !errors.Is(err, ErrNotMail) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		checkInvariants(t, m)
		if strings.ContainsAny(m.Subject, "\r\n") || !utf8.ValidString(m.Text) {
			t.Fatal("invariant broken")
		}
	})
}

func TestHostileFoldedHeader(t *testing.T) {
	raw := "From: a@example.com\r\nSubject: x" + strings.Repeat("\r\n y", 200000) + "\r\nX-Many: 1\r\n" +
		strings.Repeat("X-Junk: y\r\n", 100000) + "\r\nbody\r\n"
	bounded(t, 2*time.Second, 64<<20, func() {
		m, err := ParseBytes([]byte(raw), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.Subject, "x y y y") {
			t.Errorf("Subject %.20q", m.Subject)
		}
		checkInvariants(t, m)
	})
}

// The mailbox a mail was delivered to counts as a recipient: a plus-address
// in Bcc or behind a forward is only in Delivered-To or X-Original-To.
func TestDeliveredToIsARecipient(t *testing.T) {
	raw := "From: a@example.com\r\nTo: list@example.org\r\nDelivered-To: support+abcdefghijklmnop@help.example\r\n" +
		"X-Original-To: Support@help.example\r\nSubject: x\r\n\r\nbody\r\n"
	m, err := ParseBytes([]byte(raw), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"list@example.org", "support+abcdefghijklmnop@help.example", "Support@help.example"}
	if !slices.Equal(m.Recipients, want) {
		t.Errorf("Recipients = %q, want %q", m.Recipients, want)
	}
}
