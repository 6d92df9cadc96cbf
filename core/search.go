package core

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxSearchLength caps a search query, in bytes.
const MaxSearchLength = 200

// MaxSearchWords caps the words of one search query.
const MaxSearchWords = 16

// isCJK reports whether r belongs to a script written without spaces
// between words (Japanese kana, CJK ideographs, Hangul syllables), whose
// text is indexed as overlapping pairs of characters. The PostgreSQL store
// repeats these ranges in SQL; change both together.
func isCJK(r rune) bool {
	switch {
	case r >= 0x3040 && r <= 0x30ff, // Hiragana, Katakana
		r >= 0x31f0 && r <= 0x31ff, // Katakana extensions
		r >= 0x3400 && r <= 0x4dbf, // CJK extension A
		r >= 0x4e00 && r <= 0x9fff, // CJK unified ideographs
		r >= 0xf900 && r <= 0xfaff, // CJK compatibility ideographs
		r >= 0xac00 && r <= 0xd7af: // Hangul syllables
		return true
	}
	return false
}

// isWordRune reports whether r is part of a word outside CJK runs.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

// token is one word of a text, or one run of CJK characters, with its byte
// range in the text it came from.
type token struct {
	text       string // lower-case
	cjk        bool
	start, end int
}

// tokens splits s (already NFC) into lower-case words and CJK runs.
func tokens(s string) []token {
	var out []token
	start, cjk := -1, false
	flush := func(end int) {
		if start >= 0 {
			out = append(out, token{text: strings.ToLower(s[start:end]), cjk: cjk, start: start, end: end})
			start = -1
		}
	}
	for i, r := range s {
		switch {
		case isCJK(r):
			if start >= 0 && !cjk {
				flush(i)
			}
			if start < 0 {
				start, cjk = i, true
			}
		case isWordRune(r):
			if start >= 0 && cjk {
				flush(i)
			}
			if start < 0 {
				start, cjk = i, false
			}
		default:
			flush(i)
		}
	}
	flush(len(s))
	return out
}

// SearchWords is how the search index sees text: lower-case words in NFC,
// and every CJK run as its overlapping pairs of characters (a run of one
// character as itself), so that a two-character Japanese word inside a
// sentence is found like a word between spaces. Stores index the words of
// a ticket and look up the words of a query the same way.
func SearchWords(s string) []string {
	s = norm.NFC.String(s)
	var out []string
	for _, t := range tokens(s) {
		if !t.cjk {
			out = append(out, t.text)
			continue
		}
		rs := []rune(t.text)
		if len(rs) == 1 {
			out = append(out, t.text)
			continue
		}
		for i := 0; i+1 < len(rs); i++ {
			out = append(out, string(rs[i:i+2]))
		}
	}
	return out
}

// SearchText is SearchWords joined by spaces, the form the stores index.
func SearchText(s string) string { return strings.Join(SearchWords(s), " ") }

// QueryWords returns the distinct words of a search query (see
// SearchWords), at most MaxSearchWords.
func QueryWords(q string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range SearchWords(q) {
		if seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) == MaxSearchWords {
			break
		}
	}
	return out
}

// TicketSearchHead is the text of a ticket itself that search finds: its
// id, customer address and name, and subject.
func TicketSearchHead(t Ticket) string {
	return t.ID + " " + t.Customer + " " + t.CustomerName + " " + t.Subject
}

// Searchable reports whether search finds the text of entry e: the
// customer's and agents' entries, not the daemon's own lines.
func Searchable(kind AuthorKind) bool { return kind != AuthorSystem }

// Snippet is the text of a search result around its first match.
type Snippet struct {
	Text string
	// Text[Start:End] is the match (byte offsets); Start == End when
	// there is nothing to mark.
	Start, End int
}

// snippetBefore and snippetAfter are the bytes of context kept around a
// match in a Snippet.
const (
	snippetBefore = 60
	snippetAfter  = 140
)

// makeSnippet finds the first query token in the texts (in the order
// given) and returns the text around it. ok is false when none contains
// one.
func makeSnippet(query string, texts []string) (Snippet, bool) {
	want := tokens(norm.NFC.String(query))
	if len(want) == 0 {
		return Snippet{}, false
	}
	for _, text := range texts {
		text = norm.NFC.String(text)
		lower := strings.ToLower(text)
		if len(lower) != len(text) {
			lower = text // offsets must match; fall back to exact case
		}
		for _, w := range want {
			needle := w.text
			i := -1
			if w.cjk {
				i = strings.Index(lower, needle)
				if i < 0 && utf8.RuneCountInString(needle) > 2 {
					rs := []rune(needle)
					needle = string(rs[:2])
					i = strings.Index(lower, needle)
				}
			} else {
				i = wordIndex(lower, needle)
			}
			if i >= 0 {
				return cutSnippet(text, i, i+len(needle)), true
			}
		}
	}
	return Snippet{}, false
}

// wordIndex returns the byte offset of word in s where it stands as a
// whole word, or -1.
func wordIndex(s, word string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(word)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (i == 0 || !isWordRune(before) || isCJK(before)) && (end == len(s) || !isWordRune(after) || isCJK(after)) {
			return i
		}
		off = i + 1
		for off < len(s) && !utf8.RuneStart(s[off]) {
			off++
		}
	}
}

// cutSnippet returns the text around text[start:end] with white space
// collapsed and "…" where it was cut.
func cutSnippet(text string, start, end int) Snippet {
	a := start - snippetBefore
	if a < 0 {
		a = 0
	}
	for a > 0 && !utf8.RuneStart(text[a]) {
		a++
	}
	b := end + snippetAfter
	if b > len(text) {
		b = len(text)
	}
	for b < len(text) && !utf8.RuneStart(text[b]) {
		b--
	}
	pre := strings.Join(strings.Fields(text[a:start]), " ")
	if pre != "" && isSpace(text[start-1]) {
		pre += " "
	}
	post := strings.Join(strings.Fields(text[end:b]), " ")
	if post != "" && isSpace(text[end]) {
		post = " " + post
	}
	if a > 0 {
		pre = "…" + pre
	}
	if b < len(text) {
		post += "…"
	}
	return Snippet{Text: pre + text[start:end] + post, Start: len(pre), End: len(pre) + end - start}
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }
