package core

import (
	"crypto/rand"
	"encoding/base32"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ticketIDEncoding writes ticket ids in lower-case base32 so that they
// survive case-folding mail systems in plus-addresses.
var ticketIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ticketIDBytes is the entropy of a ticket id: 80 bits. The id is the
// customer's only key to the ticket page, so it must not be guessable.
const ticketIDBytes = 10

// NewTicketID returns a fresh random ticket id (16 characters).
func NewTicketID() string {
	b := make([]byte, ticketIDBytes)
	rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return ticketIDEncoding.EncodeToString(b)
}

// ValidTicketID reports whether s has the form of a ticket id.
func ValidTicketID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// tagRe finds the reply tag `[Ticket "<id>"]`. Mail clients and people change
// the case and spacing, so both are tolerated.
var tagRe = regexp.MustCompile(`(?i)\[\s*ticket\s*"\s*([a-z2-7]{16})\s*"\s*\]`)

// Tag returns the reply tag for a ticket id.
func Tag(id string) string { return `[Ticket "` + id + `"]` }

// ParseTag returns the ticket id of the first reply tag in subject.
func ParseTag(subject string) (string, bool) {
	m := tagRe.FindStringSubmatch(subject)
	if m == nil {
		return "", false
	}
	return strings.ToLower(m[1]), true
}

// StripTag removes every reply tag from subject.
func StripTag(subject string) string {
	// Removing one tag can join the text around it into another, so repeat;
	// every round makes the subject shorter.
	for tagRe.MatchString(subject) {
		subject = tagRe.ReplaceAllString(subject, "")
	}
	return CleanSubject(subject)
}

// MaxSubjectLength is the longest subject kept, in characters.
const MaxSubjectLength = 250

// CleanSubject makes s fit for a one-line subject: control characters
// (CR and LF among them) become spaces, runs of white space shrink to one, and
// it is cut to MaxSubjectLength characters.
func CleanSubject(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			if n+1 >= MaxSubjectLength {
				break // no room for the space and a character after it
			}
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= MaxSubjectLength {
			break
		}
		b.WriteRune(r)
		n++
	}
	out := b.String()
	if utf8.RuneCountInString(out) > MaxSubjectLength {
		out = string([]rune(out)[:MaxSubjectLength])
	}
	return out
}
