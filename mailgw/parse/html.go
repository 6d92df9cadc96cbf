package parse

import (
	"strings"

	"golang.org/x/net/html"
)

// htmlToText extracts the readable text of an HTML document. It never
// renders anything: golang.org/x/net/html's tokenizer (the HTML5 rules for
// tags, attributes, comments and entities) reads it, script, style and the
// like are dropped, block elements become line breaks, list items "- "
// lines, links "text (url)". It runs in time linear in the input.
func htmlToText(s string) string {
	var c converter
	z := html.NewTokenizer(strings.NewReader(s))
	z.AllowCDATA(true) // CDATA sections are text, as in XHTML mail
	skip := ""         // the element whose content is being dropped
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			// io.EOF: the end; the tokenizer has no other error on a
			// strings.Reader without a buffer limit.
			return c.result()
		}
		if skip != "" {
			// Raw text elements come as one text token; the others are
			// dropped up to their first end tag (no nesting).
			if tt == html.EndTagToken {
				if name, _ := z.TagName(); string(name) == skip {
					skip = ""
				}
			}
			continue
		}
		switch tt {
		case html.TextToken:
			c.write(string(z.Text()))
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			n, known := knownTags[string(name)]
			if !known {
				continue // no effect on the text
			}
			if skipContent[n] && (tt == html.StartTagToken || tt == html.SelfClosingTagToken && rawText[n]) {
				skip = n
				continue
			}
			var a tagAttrs
			if hasAttr && (n == "a" || n == "img") {
				a = readAttrs(z)
			}
			c.tag(n, a, tt == html.EndTagToken)
		}
	}
}

// knownTags are the elements that change the text, by name (so that a
// tag's name needs no new string).
var knownTags = func() map[string]string {
	m := map[string]string{"br": "br", "hr": "hr", "li": "li", "td": "td", "th": "th", "img": "img", "a": "a"}
	for _, set := range []map[string]bool{skipContent, blockTags} {
		for name := range set {
			m[name] = name
		}
	}
	return m
}()

// skipContent are elements whose content is not text for a reader.
var skipContent = map[string]bool{
	"script": true, "style": true, "head": true, "title": true,
	"template": true, "noscript": true, "svg": true, "math": true,
	"object": true, "iframe": true, "select": true,
}

// rawText are the elements of skipContent whose content the tokenizer reads
// as text even when the start tag closes itself (<script/>), so that it
// must be skipped then too.
var rawText = map[string]bool{
	"script": true, "style": true, "title": true, "noscript": true, "iframe": true,
}

// tagAttrs are the attributes that the text shows: a link's target and an
// image's alternative text.
type tagAttrs struct{ href, src, alt string }

// readAttrs reads the attributes of the current tag that tagAttrs holds;
// of two with one name the first counts, as in HTML.
func readAttrs(z *html.Tokenizer) tagAttrs {
	var a tagAttrs
	var seen struct{ href, src, alt bool }
	for more := true; more; {
		var key, val []byte
		key, val, more = z.TagAttr()
		switch string(key) {
		case "href":
			if !seen.href {
				a.href, seen.href = string(val), true
			}
		case "src":
			if !seen.src {
				a.src, seen.src = string(val), true
			}
		case "alt":
			if !seen.alt {
				a.alt, seen.alt = string(val), true
			}
		}
	}
	return a
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

// converter collects the text; its zero value is ready.
type converter struct {
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

// tag applies the effect of one start or end tag.
func (c *converter) tag(name string, attrs tagAttrs, closing bool) {
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
		if alt := strings.TrimSpace(attrs.alt); alt != "" && !strings.HasPrefix(strings.ToLower(attrs.src), "cid:") {
			c.write("[" + alt + "]")
		}
		return
	case "a":
		if !closing {
			c.endLink()
			c.link = strings.TrimSpace(attrs.href)
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
