package parse

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"

	"trivialtickets/core"
)

// field is one header field, its key in canonical form and its value
// unfolded (RFC 5322 §2.2.3) but not decoded.
type field struct{ key, value string }

// header is a header block in order of appearance.
type header []field

// get returns the value of the first field named key, or "".
func (h header) get(key string) string {
	key = textproto.CanonicalMIMEHeaderKey(key)
	for _, f := range h {
		if f.key == key {
			return f.value
		}
	}
	return ""
}

// values returns the values of every field named key.
func (h header) values(key string) []string {
	key = textproto.CanonicalMIMEHeaderKey(key)
	var out []string
	for _, f := range h {
		if f.key == key {
			out = append(out, f.value)
		}
	}
	return out
}

func (h header) has(key string) bool {
	key = textproto.CanonicalMIMEHeaderKey(key)
	for _, f := range h {
		if f.key == key {
			return true
		}
	}
	return false
}

// skipMboxLine drops an mbox "From " separator line that some programs
// leave in front of the message.
func skipMboxLine(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

// splitEntity splits an entity into its header block and body at the first
// empty line (RFC 5322 §2.1). Without an empty line the whole entity is the
// header when top is set or when it starts like a header field, else it is
// all body (RFC 2046 §5.1.1 allows a part without header fields).
func splitEntity(b []byte, top bool) (hdr, body []byte) {
	for pos := 0; pos < len(b); {
		end := bytes.IndexByte(b[pos:], '\n')
		line := b[pos:]
		next := len(b)
		if end >= 0 {
			line = b[pos : pos+end]
			next = pos + end + 1
		}
		if len(bytes.TrimRight(line, "\r")) == 0 {
			return b[:pos], b[next:]
		}
		pos = next
	}
	if top || looksLikeField(b) {
		return b, nil
	}
	return nil, b
}

// looksLikeField reports whether b starts with "Key:".
func looksLikeField(b []byte) bool {
	i := bytes.IndexByte(b, ':')
	if i <= 0 || i > 76 {
		return false
	}
	for _, c := range b[:i] {
		if !validKeyByte(c) {
			return false
		}
	}
	return true
}

// validKeyByte: RFC 5322 §2.2: a field name is printable US-ASCII except
// the colon.
func validKeyByte(c byte) bool { return c > ' ' && c < 0x7f && c != ':' }

// readHeader parses a header block leniently: lines that are neither a
// field nor a continuation are skipped, and at most max bytes are read
// (cut reports that the rest was dropped).
func readHeader(b []byte, max int) (h header, cut bool) {
	if len(b) > max {
		// The field that crosses the limit keeps its beginning.
		b, cut = b[:max], true
	}
	valid := false    // whether continuation lines belong to a kept field
	var vals [][]byte // values grow by append: folded fields stay linear
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			// RFC 5322 §2.2.3: unfolding removes the CRLF before WSP.
			if valid {
				vals[len(vals)-1] = append(vals[len(vals)-1], line...)
			}
			continue
		}
		i := bytes.IndexByte(line, ':')
		valid = false
		if i <= 0 {
			continue
		}
		key := bytes.TrimRight(line[:i], " \t") // "Subject :" exists in the wild
		ok := len(key) > 0
		for _, c := range key {
			if !validKeyByte(c) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		h = append(h, field{key: textproto.CanonicalMIMEHeaderKey(string(key))})
		vals = append(vals, line[i+1:len(line):len(line)])
		valid = true
	}
	for i := range h {
		h[i].value = strings.TrimSpace(string(vals[i]))
	}
	return h, cut
}

// wordDecoder decodes RFC 2047 encoded words in any charset go-message
// knows, and makes the best of the ones it does not.
var wordDecoder = &mime.WordDecoder{CharsetReader: lenientCharsetReader}

func lenientCharsetReader(cs string, in io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(decodeCharset(b, cs)), nil
}

// decodeText decodes a header value to UTF-8: RFC 2047 encoded words in
// any charset, and raw 8-bit bytes (RFC 6532 allows UTF-8; anything else is
// taken as Windows-1252, the usual culprit).
func decodeText(v string) string {
	if !utf8.ValidString(v) {
		v = decodeCharset([]byte(v), "windows-1252")
	}
	if !strings.Contains(v, "=?") {
		return v
	}
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return strings.ToValidUTF8(d, "\uFFFD")
}

// decodeCharset converts b from the charset cs to valid UTF-8. Unknown
// charsets and undeclared 8-bit text are taken as UTF-8 when they are valid
// UTF-8 and as Windows-1252 otherwise.
func decodeCharset(b []byte, cs string) string {
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	switch cs {
	case "utf-8", "utf8":
		return strings.ToValidUTF8(string(b), "\uFFFD")
	case "", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown":
		if utf8.Valid(b) {
			return string(b)
		}
		cs = "windows-1252"
	}
	if r, err := charset.Reader(cs, bytes.NewReader(b)); err == nil {
		if out, err := io.ReadAll(r); err == nil || len(out) > 0 {
			return strings.ToValidUTF8(string(out), "\uFFFD")
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	if cs != "windows-1252" {
		return decodeCharset(b, "windows-1252")
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// oneLine makes v fit for a one-line field: valid UTF-8, control
// characters (CR, LF and NUL among them) turned into spaces, trimmed, at
// most max characters.
func oneLine(v string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(v, "\uFFFD") {
		if n >= max {
			break
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// address is a parsed, checked mailbox.
type address struct{ addr, name string }

var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

// addrSpecRe finds bare addresses in a value the RFC 5322 parser refuses.
var addrSpecRe = regexp.MustCompile(`[^\s<>,;:"()\[\]]+@[^\s<>,;:"()\[\]]+`)

// parseAddressList returns the valid addresses of an address-list header
// value (RFC 5322 §3.4), domain in lower case, display names decoded.
// Broken values fall back to picking out what looks like addresses.
func parseAddressList(v string) []address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if len(v) > 64<<10 {
		v = v[:64<<10]
	}
	if !utf8.ValidString(v) {
		v = decodeCharset([]byte(v), "windows-1252")
	}
	var out []address
	if list, err := addrParser.ParseList(v); err == nil {
		for _, a := range list {
			if addr, err := core.ParseAddress(a.Address); err == nil {
				out = append(out, address{addr: addr, name: oneLine(a.Name, 200)})
			}
		}
		return out
	}
	for _, s := range addrSpecRe.FindAllString(v, maxRecipients) {
		s = strings.Trim(s, ".'`")
		if addr, err := core.ParseAddress(s); err == nil {
			out = append(out, address{addr: addr})
		}
	}
	return out
}

// msgIDRe finds "<id>" in Message-ID, In-Reply-To and References.
var msgIDRe = regexp.MustCompile(`<\s*([^<>\s]+)\s*>`)

// msgIDs returns the message ids in v without angle brackets (RFC 5322
// §3.6.4), tolerating junk: comments, phrases, missing brackets.
func msgIDs(v string) []string {
	var out []string
	add := func(id string) {
		id = strings.TrimSpace(id)
		if id == "" || len(id) > 250 || !utf8.ValidString(id) {
			return
		}
		for _, r := range id {
			if r <= ' ' || r == 0x7f || unicode.IsControl(r) || unicode.IsSpace(r) {
				return
			}
		}
		if !contains(out, id) {
			out = append(out, id)
		}
	}
	if m := msgIDRe.FindAllStringSubmatch(v, 1000); len(m) > 0 {
		for _, s := range m {
			add(s[1])
		}
		return out
	}
	// Without brackets: take the words that look like ids.
	for i, w := range strings.Fields(v) {
		if i >= 1000 {
			break
		}
		w = strings.Trim(w, `<>,;"'()`)
		if strings.Contains(w, "@") {
			add(w)
		}
	}
	return out
}

// parseParams parses a Content-Type or Content-Disposition value: the
// lower-case value before the first ";" and its parameters (RFC 2045 §5.1)
// with lower-case names. RFC 2231 continuations and charsets (any charset,
// unlike mime.ParseMediaType) and RFC 2047 encoded words in quoted values
// (common, though not standard) are decoded.
func parseParams(v string) (string, map[string]string) {
	if !utf8.ValidString(v) {
		v = decodeCharset([]byte(v), "windows-1252")
	}
	typ, rest, _ := strings.Cut(v, ";")
	typ = strings.ToLower(strings.TrimSpace(typ))
	if i := strings.IndexAny(typ, " \t("); i >= 0 {
		typ = typ[:i]
	}
	return typ, decodeParams(rawParams(rest))
}

// rawParams splits the parameters after a header value's first ";" into
// lower-case names and their values, unquoted, as they stand: the first of
// a repeated name wins, and at most 100 are read.
func rawParams(rest string) map[string]string {
	raw := map[string]string{}
	for n := 0; rest != "" && n < 100; n++ {
		rest = strings.TrimLeft(rest, " \t;")
		eq := strings.IndexAny(rest, "=;")
		if eq < 0 {
			break
		}
		if rest[eq] == ';' {
			rest = rest[eq:]
			continue
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		var val string
		val, rest = paramValue(strings.TrimLeft(rest[eq+1:], " \t"))
		if _, dup := raw[name]; !dup && name != "" {
			raw[name] = val
		}
	}
	return raw
}

// paramValue reads one parameter value at the start of rest, a quoted
// string (RFC 2045 §5.1, RFC 5322 §3.2.4) or a token, and returns it with
// what follows from the next ";" on.
func paramValue(rest string) (val, after string) {
	if !strings.HasPrefix(rest, `"`) {
		j := strings.IndexByte(rest, ';')
		if j < 0 {
			j = len(rest)
		}
		return strings.TrimSpace(rest[:j]), rest[j:]
	}
	var b strings.Builder
	i := 1
	for ; i < len(rest); i++ {
		c := rest[i]
		if c == '\\' && i+1 < len(rest) {
			i++
			b.WriteByte(rest[i])
			continue
		}
		if c == '"' {
			break
		}
		b.WriteByte(c)
	}
	rest = rest[min(i+1, len(rest)):]
	if j := strings.IndexByte(rest, ';'); j >= 0 {
		return b.String(), rest[j:]
	}
	return b.String(), ""
}

// decodeParams decodes raw parameters: RFC 2047 encoded words in plain
// ones, and RFC 2231 extended ones (name*=charset'lang'%XX…, and the
// continuations name*0, name*1* …), which take the place of a plain one of
// the same name.
func decodeParams(raw map[string]string) map[string]string {
	params := map[string]string{}
	for name, val := range raw {
		base, _, ext := strings.Cut(name, "*")
		if ext {
			continue
		}
		if strings.Contains(val, "=?") {
			val = decodeText(val)
		}
		params[base] = val
	}
	// RFC 2231 §3, §4: name*=charset'lang'%XX… and name*0, name*1* …
	for name := range raw {
		base, suffix, ok := strings.Cut(name, "*")
		switch {
		case !ok || (suffix != "" && suffix != "0" && suffix != "0*"):
		case suffix == "":
			params[base] = decode2231(raw[name])
		default:
			params[base] = joinContinuations(raw, base)
		}
	}
	return params
}

// joinContinuations joins the RFC 2231 §3 continuations base*0, base*1 …
// of a parameter, percent-decoding the extended ones (base*N*), in the
// charset that base*0* names (§4.1).
func joinContinuations(raw map[string]string, base string) string {
	var b strings.Builder
	cs := ""
	for i := 0; i < 1000; i++ {
		key := base + "*" + strconv.Itoa(i)
		if v, ok := raw[key]; ok {
			b.WriteString(v)
			continue
		}
		v, ok := raw[key+"*"]
		if !ok {
			break
		}
		if i == 0 {
			if c, r, ok := cut2231(v); ok {
				cs, v = c, r
			}
		}
		b.WriteString(percentDecode(v))
	}
	return decodeCharset([]byte(b.String()), cs)
}

// decode2231 decodes charset'language'%XX-text (RFC 2231 §4).
func decode2231(v string) string {
	cs, rest, ok := cut2231(v)
	if !ok {
		return decodeCharset([]byte(percentDecode(v)), "")
	}
	return decodeCharset([]byte(percentDecode(rest)), cs)
}

func cut2231(v string) (cs, rest string, ok bool) {
	cs, r, ok1 := strings.Cut(v, "'")
	_, rest, ok2 := strings.Cut(r, "'")
	if !ok1 || !ok2 {
		return "", v, false
	}
	return cs, rest, true
}

// percentDecode undoes %XX escapes, keeping malformed ones as they are.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if h, ok1 := unhex(s[i+1]); ok1 {
				if l, ok2 := unhex(s[i+2]); ok2 {
					b = append(b, h<<4|l)
					i += 2
					continue
				}
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
