package parse

import (
	"html"
	"strings"
)

// htmlToText extracts the readable text of an HTML document. It never
// renders anything: it tokenises with a small state machine, drops
// script, style and the like, turns block elements into line breaks, list
// items into "- " lines, links into "text (url)", and decodes entities.
// It runs in time linear in the input.
func htmlToText(s string) string {
	c := converter{in: s}
	c.run()
	return c.result()
}

// skipContent are elements whose content is not text for a reader.
var skipContent = map[string]bool{
	"script": true, "style": true, "head": true, "title": true,
	"template": true, "noscript": true, "svg": true, "math": true,
	"object": true, "iframe": true, "select": true,
}

// blockTags break the line before and after them.
var blockTags = map[string]bool{
	"p": true, "div": true, "tr": true, "table": true, "ul": true, "ol": true,
	"dl": true, "dt": true, "dd": true, "blockquote": true, "pre": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"section": true, "article": true, "header": true, "footer": true,
	"address": true, "center": true, "form": true, "fieldset": true,
	"figure": true, "figcaption": true, "main": true, "nav": true, "aside": true,
	"body": true, "html": true, "caption": true, "tbody": true, "thead": true, "tfoot": true,
}

// paragraphTags leave a blank line after them.
var paragraphTags = map[string]bool{
	"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true,
	"h6": true, "blockquote": true, "pre": true, "table": true, "ul": true, "ol": true,
}

type converter struct {
	in      string
	out     strings.Builder
	space   bool // white space seen since the last word
	pre     int  // depth of <pre>
	newline int  // newlines at the end of out (0, 1, 2)
	link    string
	linkAt  int // out.Len() where the link text starts
}

func (c *converter) result() string {
	lines := strings.Split(c.out.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// write appends text, collapsing white space outside <pre>.
func (c *converter) write(t string) {
	t = strings.ReplaceAll(t, "\u00a0", " ")
	if c.pre > 0 {
		if t != "" {
			c.out.WriteString(t)
			c.newline = 0
			if strings.HasSuffix(t, "\n") {
				c.newline = 1
			}
		}
		return
	}
	lead := t != "" && isHTMLSpace(rune(t[0]))
	for k, f := range strings.FieldsFunc(t, isHTMLSpace) {
		if (k > 0 || lead || c.space) && c.newline == 0 && c.out.Len() > 0 {
			c.out.WriteByte(' ')
		}
		c.out.WriteString(f)
		c.space, c.newline = false, 0
	}
	if t != "" && isHTMLSpace(rune(t[len(t)-1])) {
		c.space = true
	}
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f'
}

// breakLine ends the current line; n = 2 leaves a blank line.
func (c *converter) breakLine(n int) {
	if c.out.Len() == 0 {
		return
	}
	for c.newline < n {
		c.out.WriteByte('\n')
		c.newline++
	}
	c.space = false
}

func (c *converter) run() {
	s := c.in
	for i := 0; i < len(s); {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			text := s[i : i+j]
			c.write(html.UnescapeString(text))
			i += j
			continue
		}
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return
			}
			i += 4 + end + 3
			continue
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest, "]]>")
			if end < 0 {
				c.write(rest[9:])
				return
			}
			c.write(rest[9:end])
			i += end + 3
			continue
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return
			}
			i += end + 1
			continue
		case len(rest) > 1 && (isLetter(rest[1]) || rest[1] == '/' && len(rest) > 2 && isLetter(rest[2])):
		default:
			c.write("<")
			i++
			continue
		}
		name, attrs, closing, n := readTag(rest)
		i += n
		if !closing && skipContent[name] {
			// Skip to the matching end tag (raw text elements: no nesting).
			j := indexFold(s[i:], "</"+name)
			if j < 0 {
				return
			}
			i += j
			if k := strings.IndexByte(s[i:], '>'); k >= 0 {
				i += k + 1
			} else {
				return
			}
			continue
		}
		c.tag(name, attrs, closing)
	}
}

// tag applies the effect of one start or end tag.
func (c *converter) tag(name, attrs string, closing bool) {
	switch name {
	case "br":
		c.out.WriteByte('\n')
		c.newline = min(c.newline+1, 2)
		c.space = false
		return
	case "hr":
		c.breakLine(1)
		c.out.WriteString("----")
		c.newline = 0
		c.breakLine(1)
		return
	case "li":
		if !closing {
			c.breakLine(1)
			c.out.WriteString("- ")
			c.newline, c.space = 0, false
		} else {
			c.breakLine(1)
		}
		return
	case "td", "th":
		if !closing {
			c.space = true
		}
		return
	case "img":
		src := attr(attrs, "src")
		if alt := strings.TrimSpace(attr(attrs, "alt")); alt != "" && !strings.HasPrefix(strings.ToLower(src), "cid:") {
			c.write("[" + alt + "]")
		}
		return
	case "a":
		if !closing {
			c.endLink()
			c.link = strings.TrimSpace(attr(attrs, "href"))
			c.linkAt = c.out.Len()
		} else {
			c.endLink()
		}
		return
	case "pre":
		if closing {
			c.pre = max(c.pre-1, 0)
		} else {
			c.breakLine(1)
			c.pre++
			return
		}
	}
	if blockTags[name] {
		if closing && paragraphTags[name] || !closing && (name == "p" || name[0] == 'h' && len(name) == 2) {
			c.breakLine(2)
		} else {
			c.breakLine(1)
		}
	}
}

// endLink writes " (url)" after a link's text when the URL says more than
// the text (never for javascript:, data: or in-page links).
func (c *converter) endLink() {
	href := c.link
	c.link = ""
	if href == "" || len(href) > 2000 {
		return
	}
	lower := strings.ToLower(href)
	for _, p := range []string{"javascript:", "data:", "vbscript:", "cid:", "#"} {
		if strings.HasPrefix(lower, p) {
			return
		}
	}
	text := ""
	if c.linkAt <= c.out.Len() {
		text = strings.TrimSpace(c.out.String()[c.linkAt:])
	}
	if text == href || "mailto:"+text == href || strings.TrimSuffix(href, "/") == strings.TrimSuffix(text, "/") {
		return
	}
	href = strings.Map(func(r rune) rune {
		if isHTMLSpace(r) {
			return -1
		}
		return r
	}, href)
	if text == "" {
		c.write(href)
		return
	}
	c.out.WriteString(" (" + href + ")")
	c.newline, c.space = 0, false
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// readTag reads "<name attrs>" or "</name>" at the start of s and returns
// the lower-case name, the raw attributes, whether it is an end tag and the
// bytes consumed. Quoted attribute values may contain ">".
func readTag(s string) (name, attrs string, closing bool, n int) {
	i := 1
	if s[i] == '/' {
		closing = true
		i++
	}
	start := i
	for i < len(s) && (isLetter(s[i]) || s[i] >= '0' && s[i] <= '9' || s[i] == '-' || s[i] == ':') {
		i++
	}
	name = asciiLower(s[start:i])
	astart := i
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return name, s[astart:i], closing, i + 1
		}
	}
	return name, s[astart:], closing, len(s)
}

// attr returns the decoded value of the attribute key in raw attributes.
func attr(attrs, key string) string {
	for i := 0; i < len(attrs); {
		for i < len(attrs) && (isHTMLSpace(rune(attrs[i])) || attrs[i] == '/') {
			i++
		}
		start := i
		for i < len(attrs) && attrs[i] != '=' && !isHTMLSpace(rune(attrs[i])) && attrs[i] != '/' {
			i++
		}
		name := asciiLower(attrs[start:i])
		for i < len(attrs) && isHTMLSpace(rune(attrs[i])) {
			i++
		}
		val := ""
		if i < len(attrs) && attrs[i] == '=' {
			i++
			for i < len(attrs) && isHTMLSpace(rune(attrs[i])) {
				i++
			}
			if i < len(attrs) && (attrs[i] == '"' || attrs[i] == '\'') {
				q := attrs[i]
				i++
				end := strings.IndexByte(attrs[i:], q)
				if end < 0 {
					end = len(attrs) - i
				}
				val = attrs[i : i+end]
				i += end + 1
			} else {
				vs := i
				for i < len(attrs) && !isHTMLSpace(rune(attrs[i])) {
					i++
				}
				val = attrs[vs:i]
			}
		}
		if name == key {
			return html.UnescapeString(val)
		}
		if i == start {
			i++ // no progress: skip a stray character
		}
	}
	return ""
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// indexFold is strings.Index ignoring ASCII case of sub (lower case).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(sub) <= len(s) && asciiLower(s[i:i+len(sub)]) == sub {
			return i
		}
		i++
	}
	return -1
}
