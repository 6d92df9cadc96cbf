package parse

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"trivialtickets/core"
)

// walkCtx says what the enclosing multipart makes of an entity.
type walkCtx int

const (
	ctxNone     walkCtx = iota
	ctxResource         // a non-root part of multipart/related: always an attachment
	ctxReport           // a part of multipart/report
	ctxDigest           // a part of multipart/digest: default type message/rfc822
)

// piece is a bit of body text in the order of the message.
type piece struct {
	s    string
	html bool // s is HTML, to be turned into text
}

// walker collects what a walk through the MIME tree finds.
type walker struct {
	lim     Limits
	parts   int
	notes   []string
	html    []string
	atts    []core.Attachment
	bounce  bool
	dsn     []string
	origIDs []string
	// origSubject and origAddrs are the Subject and the addresses of the
	// header of a returned message (of a bounce).
	origSubject string
	origAddrs   []string
	unnamed     int
}

func (w *walker) note(s string) {
	if !contains(w.notes, s) {
		w.notes = append(w.notes, s)
	}
}

// entity walks one MIME entity and returns its body text pieces;
// attachments, HTML and delivery status go into w.
func (w *walker) entity(h header, body []byte, depth int, c walkCtx) []piece {
	w.parts++
	if w.parts > w.lim.MaxParts {
		w.note(fmt.Sprintf("the message has more than %d MIME parts; the rest was left out", w.lim.MaxParts))
		return nil
	}
	typ, params := parseParams(h.get("Content-Type"))
	if typ == "" || !strings.Contains(typ, "/") {
		// RFC 2045 §5.2: no (or an invalid) Content-Type means
		// text/plain; RFC 2046 §5.1.5: in a digest, message/rfc822.
		typ, params = "text/plain", map[string]string{"charset": params["charset"]}
		if c == ctxDigest {
			typ = "message/rfc822"
		}
	}
	disp, dparams := parseParams(h.get("Content-Disposition"))

	switch {
	case strings.HasPrefix(typ, "multipart/"):
		return w.multipart(typ, params, body, depth)

	case typ == "message/delivery-status" || typ == "message/global-delivery-status":
		// RFC 3464 §2: the machine-readable part of a DSN (RFC 6533 §6.1 for
		// the UTF-8 variant).
		w.bounce = true
		w.deliveryStatus(decodeTransfer(h, body))
		return nil

	case typ == "text/rfc822-headers" || typ == "message/global-headers":
		// RFC 6522 §4: the header of the returned message.
		w.originalHeader(decodeTransfer(h, body))
		return nil

	case typ == "message/rfc822" || typ == "message/global":
		data := decodeTransfer(h, body)
		if c == ctxReport {
			w.originalHeader(data)
		}
		hb, _ := splitEntity(data, true)
		eh, _ := readHeader(hb, w.lim.MaxHeaderBytes)
		fallback := "message.eml"
		if subj := sanitizeFilename(core.CleanSubject(decodeText(eh.get("Subject")))); subj != "" {
			fallback = cutName(subj, 150) + ".eml"
		}
		w.attach(h, typ, params, dparams, data, fallback)
		return nil

	case (typ == "text/plain" || typ == "text/html") && c != ctxResource && !isAttachment(disp, dparams, params):
		// decodeCharset copies what it keeps.
		data, _ := undoTransfer(h, body)
		cs := params["charset"]
		if typ == "text/html" {
			if cs == "" {
				cs = sniffHTMLCharset(data)
			}
			s := decodeCharset(data, cs)
			w.html = append(w.html, s)
			return []piece{{s: s, html: true}}
		}
		s := decodeCharset(data, cs)
		if strings.EqualFold(params["format"], "flowed") {
			s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
		}
		return []piece{{s: s}}

	default:
		w.attach(h, typ, params, dparams, decodeTransfer(h, body), "")
		return nil
	}
}

// isAttachment reports whether a text part is meant as a file rather than
// as the body (RFC 2183 §2.2).
func isAttachment(disp string, dparams, params map[string]string) bool {
	if disp == "attachment" {
		return true
	}
	return disp != "inline" && (dparams["filename"] != "" || params["name"] != "")
}

// multipart walks the parts of a multipart entity (RFC 2046 §5.1).
func (w *walker) multipart(typ string, params map[string]string, body []byte, depth int) []piece {
	kids, raw := w.splitParts(params, body, depth)
	if kids == nil {
		return raw
	}
	switch typ {
	case "multipart/alternative":
		return w.alternative(kids, depth)

	case "multipart/related":
		return w.related(kids, params, depth)

	case "multipart/report":
		// RFC 6522 §3, RFC 3464 §2: a delivery status notification.
		rt := strings.ToLower(params["report-type"])
		if rt == "delivery-status" || rt == "global-delivery-status" {
			w.bounce = true
		}
		return w.each(kids, depth, ctxReport)

	case "multipart/digest":
		return w.each(kids, depth, ctxDigest)

	default:
		// multipart/mixed and anything unknown (RFC 2046 §5.1.7: treat
		// unknown subtypes as mixed), multipart/signed included.
		return w.each(kids, depth, ctxNone)
	}
}

// kid is one part of a multipart entity: its header and its body.
type kid struct {
	h    header
	body []byte
}

// splitParts splits a multipart body at its boundary (or one guessed from
// the body) into its parts, within the limits of depth and parts. With no
// parts it returns nil and what stands for the body instead: nothing, or
// for broken MIME without a delimiter line the raw body.
func (w *walker) splitParts(params map[string]string, body []byte, depth int) ([]kid, []piece) {
	if depth+1 >= w.lim.MaxDepth {
		w.note(fmt.Sprintf("MIME parts nested deeper than %d levels were left out", w.lim.MaxDepth))
		return nil, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		boundary = guessBoundary(body)
	}
	budget := w.lim.MaxParts - w.parts
	var raws [][]byte
	truncated := false
	if boundary != "" {
		raws, truncated = splitMultipart(body, boundary, budget)
	}
	if truncated {
		w.note(fmt.Sprintf("the message has more than %d MIME parts; the rest was left out", w.lim.MaxParts))
	}
	if len(raws) == 0 {
		if len(bytes.TrimSpace(body)) == 0 || budget <= 0 {
			return nil, nil
		}
		// Broken MIME: no delimiter line. Show the body as it is rather
		// than nothing.
		w.note("the MIME structure of the message is broken; its raw body is shown")
		return nil, []piece{{s: decodeCharset(body, "")}}
	}
	kids := make([]kid, len(raws))
	for i, r := range raws {
		hb, b := splitEntity(r, false)
		kids[i].h, _ = readHeader(hb, w.lim.MaxHeaderBytes)
		kids[i].body = b
	}
	return kids, nil
}

// each walks every part in c and returns their pieces in order.
func (w *walker) each(kids []kid, depth int, c walkCtx) []piece {
	var out []piece
	for _, k := range kids {
		out = append(out, w.entity(k.h, k.body, depth+1, c)...)
	}
	return out
}

// alternative walks a multipart/alternative (RFC 2046 §5.1.4): the same
// content in increasingly faithful forms. Text prefers the plain one;
// every HTML one is kept in HTML.
func (w *walker) alternative(kids []kid, depth int) []piece {
	results := make([][]piece, len(kids))
	for i, k := range kids {
		results[i] = w.entity(k.h, k.body, depth+1, ctxNone)
	}
	for _, r := range results {
		if plainOnly(r) {
			return r
		}
	}
	for i := len(results) - 1; i >= 0; i-- {
		if len(results[i]) > 0 {
			return results[i]
		}
	}
	return nil
}

// related walks a multipart/related (RFC 2387 §3.2): the root is the part
// named by "start", else the first; the others are resources it refers to
// (cid: URLs).
func (w *walker) related(kids []kid, params map[string]string, depth int) []piece {
	root := 0
	if start := contentID(params["start"]); start != "" {
		for i, k := range kids {
			if strings.EqualFold(contentID(k.h.get("Content-Id")), start) {
				root = i
				break
			}
		}
	}
	var out []piece
	for i, k := range kids {
		c := ctxResource
		if i == root {
			c = ctxNone
		}
		out = append(out, w.entity(k.h, k.body, depth+1, c)...)
	}
	return out
}

// plainOnly reports whether the pieces are non-blank plain text.
func plainOnly(ps []piece) bool {
	blank := true
	for _, p := range ps {
		if p.html {
			return false
		}
		if strings.TrimSpace(p.s) != "" {
			blank = false
		}
	}
	return !blank
}

// splitMultipart returns the bodies of at most max parts between the
// delimiter lines of boundary (RFC 2046 §5.1.1), without the preamble and
// epilogue. A missing close delimiter (a truncated message) ends the last
// part at the end of body. truncated reports that parts beyond max exist.
func splitMultipart(body []byte, boundary string, max int) (parts [][]byte, truncated bool) {
	delim := []byte("--" + boundary)
	cur := -1
	for pos := 0; pos < len(body); {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		i += pos
		pos = i + len(delim)
		if i > 0 && body[i-1] != '\n' {
			continue // not at the start of a line
		}
		line := body[pos:]
		next := len(body)
		if eol := bytes.IndexByte(line, '\n'); eol >= 0 {
			line, next = line[:eol], pos+eol+1
		}
		closing := bytes.HasPrefix(line, []byte("--"))
		if !closing && len(bytes.TrimRight(line, " \t\r")) != 0 {
			continue // a longer boundary that starts with ours
		}
		if cur >= 0 {
			// The CRLF before a delimiter belongs to the delimiter.
			end := i
			if end > cur && body[end-1] == '\n' {
				end--
				if end > cur && body[end-1] == '\r' {
					end--
				}
			}
			if len(parts) >= max {
				return parts, true
			}
			parts = append(parts, body[cur:end])
		}
		if closing {
			return parts, false
		}
		cur, pos = next, next
	}
	if cur >= 0 && cur <= len(body) {
		if len(parts) >= max {
			return parts, true
		}
		parts = append(parts, body[cur:])
	}
	return parts, false
}

// guessBoundary finds the boundary of a multipart whose Content-Type lacks
// one: the first line that starts with "--" and something after it.
func guessBoundary(body []byte) string {
	for n := 0; len(body) > 0 && n < 1000; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		if len(line) > 3 && len(line) <= 202 && bytes.HasPrefix(line, []byte("--")) {
			b := string(line[2:])
			if strings.HasSuffix(b, "--") && len(b) > 2 {
				b = b[:len(b)-2]
			}
			if strings.Trim(b, "-") != "" {
				return b
			}
		}
	}
	return ""
}

// decodeTransfer undoes the Content-Transfer-Encoding (RFC 2045 §6),
// leniently: bad characters are skipped and truncated input gives what came.
// The result is a copy of its own (an attachment keeps it).
func decodeTransfer(h header, body []byte) []byte {
	if data, decoded := undoTransfer(h, body); decoded {
		return data
	}
	return bytes.Clone(body)
}

// undoTransfer is decodeTransfer for a caller that only reads the result:
// base64 and quoted-printable are decoded into a new slice (decoded true),
// and 7bit, 8bit, binary and unknown encodings give body itself.
func undoTransfer(h header, body []byte) (data []byte, decoded bool) {
	cte, _, _ := strings.Cut(h.get("Content-Transfer-Encoding"), ";")
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return decodeBase64(body), true
	case "quoted-printable":
		return decodeQP(body), true
	}
	return body, false
}

// decodeBase64 decodes base64 (RFC 2045 §6.8), skipping characters outside
// the alphabet ("Any characters outside of the base64 alphabet are to be
// ignored") and decoding as much as there is of a truncated input.
func decodeBase64(b []byte) []byte {
	out := make([]byte, 0, len(b)/4*3+3)
	seg := make([]byte, 0, min(len(b), 1<<16))
	flush := func() {
		if len(seg)%4 == 1 {
			seg = seg[:len(seg)-1] // a lone 6 bits cannot make a byte
		}
		n := len(out)
		out = append(out, make([]byte, base64.RawStdEncoding.DecodedLen(len(seg)))...)
		m, _ := base64.RawStdEncoding.Decode(out[n:], seg)
		out = out[:n+m]
		seg = seg[:0]
	}
	pad := false
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			if pad { // data after padding: a concatenated base64 stream
				flush()
				pad = false
			}
			seg = append(seg, c)
			if len(seg) == cap(seg) && len(seg)%4 == 0 {
				flush()
			}
		case c == '=':
			pad = true
		}
	}
	flush()
	return out
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7), keeping malformed
// "=" sequences as they are.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line := b
		nl := false
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b, nl = b[:i], b[i+1:], true
		} else {
			b = nil
		}
		// Rule 3: trailing white space is padding, not data.
		line = bytes.TrimRight(line, " \t\r")
		soft := false
		if n := len(line); n > 0 && line[n-1] == '=' {
			line, soft = line[:n-1], true // rule 5: soft line break
		}
		for i := 0; i < len(line); i++ {
			if line[i] == '=' && i+2 < len(line) {
				hi, ok1 := unhex(line[i+1])
				lo, ok2 := unhex(line[i+2])
				if ok1 && ok2 {
					out = append(out, hi<<4|lo)
					i += 2
					continue
				}
			}
			out = append(out, line[i])
		}
		if nl && !soft {
			out = append(out, '\r', '\n')
		}
	}
	return out
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676 §4).
func unflow(s string, delsp bool) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var b strings.Builder
	for i, l := range lines {
		if l != "-- " && strings.HasPrefix(l, " ") {
			l = l[1:] // §4.4: space-stuffing
		}
		if l != "-- " && strings.HasSuffix(l, " ") && i < len(lines)-1 {
			if delsp {
				l = l[:len(l)-1]
			}
			b.WriteString(l)
			continue
		}
		b.WriteString(l)
		if i < len(lines)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

var metaCharsetRe = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_.:-]+)`)

// sniffHTMLCharset finds <meta charset=…> in the first KiB of an HTML part
// that has no charset parameter (HTML5 §13.2.3.2, simplified).
func sniffHTMLCharset(b []byte) string {
	if m := metaCharsetRe.FindSubmatch(b[:min(len(b), 4096)]); m != nil {
		return string(m[1])
	}
	return ""
}

// attach records an attachment.
func (w *walker) attach(h header, typ string, params, dparams map[string]string, data []byte, fallback string) {
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	name = sanitizeFilename(name)
	if name == "" {
		name = fallback
	}
	if name == "" {
		w.unnamed++
		base := "attachment"
		if strings.HasPrefix(typ, "image/") {
			base = "image"
		}
		name = base + "-" + strconv.Itoa(w.unnamed) + extension(typ)
	}
	ct := typ
	if cs := params["charset"]; strings.HasPrefix(typ, "text/") && cs != "" {
		if f := mime.FormatMediaType(typ, map[string]string{"charset": cs}); f != "" {
			ct = f
		}
	}
	if mime.FormatMediaType(typ, nil) == "" {
		ct = "application/octet-stream"
	}
	w.atts = append(w.atts, core.Attachment{
		Filename:    name,
		ContentType: ct,
		Size:        int64(len(data)),
		ContentID:   contentID(h.get("Content-Id")),
		Data:        data,
	})
}

// contentID returns a Content-ID (RFC 2045 §7) without angle brackets.
func contentID(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "<")
	if i := strings.IndexByte(v, '>'); i >= 0 {
		v = v[:i]
	}
	v = oneLine(v, 250)
	if strings.ContainsAny(v, " \t") {
		return ""
	}
	return v
}

var extensions = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"image/svg+xml": ".svg", "image/bmp": ".bmp", "image/tiff": ".tif",
	"application/pdf": ".pdf", "application/zip": ".zip", "text/plain": ".txt",
	"text/html": ".html", "text/calendar": ".ics", "text/csv": ".csv",
	"message/rfc822": ".eml", "application/pgp-signature": ".asc",
	"application/pkcs7-signature": ".p7s",
}

func extension(typ string) string {
	if e, ok := extensions[typ]; ok {
		return e
	}
	return ".bin"
}

// sanitizeFilename reduces a file name from a mail to a plain base name:
// no directories, no control or bidirectional-override characters, none of
// the characters Windows forbids, no leading dots, at most 200 bytes.
func sanitizeFilename(s string) string {
	s = strings.ToValidUTF8(s, "_")
	s = strings.ReplaceAll(s, "\\", "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029':
			// dropped
		case strings.ContainsRune(`:*?"<>|`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	s = strings.Trim(b.String(), ". ")
	return cutName(s, 200)
}

// cutName shortens a file name to max bytes, keeping a short extension.
func cutName(s string, max int) string {
	if len(s) <= max {
		return s
	}
	ext := path.Ext(s)
	if len(ext) > 16 {
		ext = ""
	}
	base := s[:max-len(ext)]
	for len(base) > 0 && !utf8.ValidString(base) {
		base = base[:len(base)-1]
	}
	return strings.TrimRight(base, ". ") + ext
}

// dsnFields are the RFC 3464 §2.2, §2.3 fields shown in the text of a bounce.
var dsnFields = map[string]string{
	"Reporting-Mta":      "Reporting-MTA",
	"Original-Recipient": "Original-Recipient",
	"Final-Recipient":    "Final-Recipient",
	"Action":             "Action",
	"Status":             "Status",
	"Remote-Mta":         "Remote-MTA",
	"Diagnostic-Code":    "Diagnostic-Code",
}

// deliveryStatus reads the per-message and per-recipient fields of a
// message/delivery-status body (RFC 3464 §2.1).
func (w *walker) deliveryStatus(b []byte) {
	h, _ := readHeader(b, w.lim.MaxHeaderBytes)
	for _, f := range h {
		if name, ok := dsnFields[f.key]; ok && len(w.dsn) < 200 {
			w.dsn = append(w.dsn, name+": "+oneLine(strings.Join(strings.Fields(decodeText(f.value)), " "), 500))
		}
	}
}

// originalHeader takes the Message-ID, the Subject and the addresses from
// the header of a returned message.
func (w *walker) originalHeader(b []byte) {
	hb, _ := splitEntity(b, true)
	h, _ := readHeader(hb, w.lim.MaxHeaderBytes)
	if ids := msgIDs(h.get("Message-Id")); len(ids) > 0 && len(w.origIDs) < 10 && !contains(w.origIDs, ids[0]) {
		w.origIDs = append(w.origIDs, ids[0])
	}
	if w.origSubject == "" {
		w.origSubject = core.CleanSubject(decodeText(h.get("Subject")))
	}
	for _, key := range []string{"From", "To", "Cc", "Reply-To"} {
		for _, a := range parseAddressList(h.get(key)) {
			if len(w.origAddrs) < 50 && !contains(w.origAddrs, a.addr) {
				w.origAddrs = append(w.origAddrs, a.addr)
			}
		}
	}
}

// hasContentID reports whether an attachment has a Content-ID that a
// cid: reference of the text could name.
func (w *walker) hasContentID() bool {
	for _, a := range w.atts {
		if a.ContentID != "" {
			return true
		}
	}
	return false
}

// cidRefs returns at most max references "cid:REF" (the scheme in any
// case) in s, each the REF up to white space, a quote, <, >, ( or ).
// A scan by hand: a case-insensitive regular expression without a literal
// prefix tried every position of every body and was a tenth of the SMTP
// gateway's CPU time.
func cidRefs(s string, max int) []string {
	var refs []string
	for i := 0; i+4 < len(s) && len(refs) < max; i++ {
		if s[i]|0x20 != 'c' || s[i+1]|0x20 != 'i' || s[i+2]|0x20 != 'd' || s[i+3] != ':' {
			continue
		}
		j := i + 4
		for j < len(s) && !strings.ContainsRune(" \t\n\f\r\"'<>()", rune(s[j])) {
			j++
		}
		if j > i+4 {
			refs = append(refs, s[i+4:j])
			i = j - 1
		}
	}
	return refs
}

// text assembles the Text of the message: the body pieces (HTML turned
// into text), a line for each inline image the body refers to, the
// delivery status of a bounce, and notes on what was left out.
func (w *walker) text(pieces []piece) string {
	var parts []string
	for _, p := range pieces {
		s := p.s
		if p.html {
			s = htmlToText(s)
		}
		if s = cleanText(s, true); s != "" {
			parts = append(parts, s)
		}
	}
	refs := map[string]bool{}
	if w.hasContentID() {
		for _, p := range pieces {
			for _, ref := range cidRefs(p.s, 1000) {
				refs[strings.ToLower(percentDecode(ref))] = true
			}
		}
	}
	var inline []string
	for _, a := range w.atts {
		if a.ContentID != "" && refs[strings.ToLower(a.ContentID)] {
			kind := "inline file"
			if strings.HasPrefix(a.ContentType, "image/") {
				kind = "inline image"
			}
			inline = append(inline, "["+kind+": "+a.Filename+"]")
		}
	}
	if len(inline) > 0 {
		parts = append(parts, strings.Join(inline, "\n"))
	}
	if len(w.dsn) > 0 {
		parts = append(parts, "Delivery status:\n"+cleanText(strings.Join(w.dsn, "\n"), true))
	}
	for _, n := range w.notes {
		parts = append(parts, "[Note: "+n+"]")
	}
	return strings.Join(parts, "\n\n")
}

// cleanText makes s valid UTF-8 with "\n" line ends and without control
// characters other than tab and newline (NUL bytes cannot be stored).
// trim also removes leading and trailing blank space.
func cleanText(s string, trim bool) string {
	if c, ok := cleanASCII(s); ok {
		s = c
	} else {
		s = cleanAny(s)
	}
	if trim {
		s = strings.TrimRight(s, " \t\n")
		s = strings.TrimLeft(s, "\n")
	}
	return s
}

// cleanASCII is cleanText's single pass for the usual text of printable
// ASCII, tabs and CRLF or LF line ends; ok is false for anything else.
// (Three passes and two copies took a third of parsing a 2 KiB mail.)
func cleanASCII(s string) (clean string, ok bool) {
	crs := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= ' ' && c < 0x7f, c == '\n', c == '\t':
		case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
			crs++
		default:
			return "", false
		}
	}
	if crs == 0 {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s) - crs)
	for {
		i := strings.Index(s, "\r\n")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		s = s[i+1:]
	}
}

// cleanAny is cleanText for any text, without the trim.
func cleanAny(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	clean := true
	for _, r := range s {
		if (unicode.IsControl(r) && r != '\n' && r != '\t') || r == '\uFEFF' {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			switch {
			case r == '\r':
				return '\n'
			case r == '\n' || r == '\t':
				return r
			case unicode.IsControl(r) || r == '\uFEFF':
				return -1
			}
			return r
		}, s)
	}
	return s
}
