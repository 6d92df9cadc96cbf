package core

import (
	"regexp"
	"strings"
)

// Quoted is the text of an entry split where the quote of earlier mail
// begins: New is what the writer added, Quoted the rest (empty when
// nothing is quoted below the new text).
type Quoted struct {
	New    string
	Quoted string
}

// Split splits the entry's text into what is new and the quoted rest
// (SplitQuoted). The entry keeps the full text; pages show New and put
// Quoted behind a toggle.
func (e Entry) Split() Quoted { return SplitQuoted(e.Text) }

// attributionRe matches the line mail clients put above a quote: "On …
// wrote:" and its translations, ending the line.
var attributionRe = regexp.MustCompile(`(?i)^(on|am|le|el|il|op|em|den|dne|w dniu)\b.*\b(wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev|napisał)(\s.*)?:\s*$`)

// outlookSeparators start the quoted rest in Outlook and similar clients,
// which do not mark quoted lines.
var outlookSeparators = []string{
	"-----original message-----",
	"-----ursprüngliche nachricht-----",
	"-----message d'origine-----",
	"________________________________",
}

// SplitQuoted finds where quoted earlier mail begins below the new text of
// a reply and splits text there. It cuts only a tail: an attribution line
// ("On … wrote:") or an Outlook separator followed by the rest, or a block
// of "> " lines (and blank lines) that runs to the end. A reply written
// between the quotes (interleaved) keeps everything, and so does text that
// is all quote: then nothing would be left to show.
func SplitQuoted(text string) Quoted {
	lines := strings.SplitAfter(text, "\n")
	cut := -1
	for i, l := range lines {
		t := strings.ToLower(strings.TrimSpace(l))
		for _, sep := range outlookSeparators {
			if strings.HasPrefix(t, sep) && followedByHeader(lines[i+1:]) {
				cut = i
				break
			}
		}
		if cut >= 0 {
			break
		}
	}
	if cut < 0 {
		// The last run of quoted and blank lines that reaches the end.
		start := len(lines)
		quoted := false
		for i := len(lines) - 1; i >= 0; i-- {
			t := strings.TrimSpace(lines[i])
			if t == "" {
				start = i
				continue
			}
			if strings.HasPrefix(t, ">") {
				start, quoted = i, true
				continue
			}
			break
		}
		if quoted {
			cut = start
			// The attribution line above it, possibly wrapped onto two lines.
			for j := start - 1; j >= 0 && j >= start-3; j-- {
				t := strings.TrimSpace(lines[j])
				if t == "" {
					continue
				}
				if attributionRe.MatchString(t) {
					cut = j
				} else if j > 0 && attributionRe.MatchString(strings.TrimSpace(lines[j-1])+" "+t) {
					cut = j - 1
				}
				break
			}
		}
	}
	if cut < 0 {
		return Quoted{New: text}
	}
	newText := strings.Join(lines[:cut], "")
	if strings.TrimSpace(newText) == "" {
		return Quoted{New: text}
	}
	return Quoted{New: strings.TrimRight(newText, " \t\r\n"), Quoted: strings.Join(lines[cut:], "")}
}

// followedByHeader reports whether the next non-blank line looks like the
// From: line of a quoted header.
func followedByHeader(lines []string) bool {
	for _, l := range lines {
		t := strings.ToLower(strings.TrimSpace(l))
		if t == "" {
			continue
		}
		return strings.HasPrefix(t, "from:") || strings.HasPrefix(t, "von:") || strings.HasPrefix(t, "de :") || strings.HasPrefix(t, "de:")
	}
	return false
}
