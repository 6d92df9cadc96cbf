package core

import (
	"crypto/rand"
	"encoding/base32"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ticketIDEncoding writes ticket ids in lower-case base32 so that they
// survive case-folding mail systems in plus-addresses.
var ticketIDEncoding = base32.NewEncoding(ticketIDAlphabet).WithPadding(base32.NoPadding)

// ticketIDAlphabet is the alphabet of ticket ids, lower-case base32.
const ticketIDAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// A ticket id is 20 characters: 4 that count milliseconds, then 16 from
// crypto/rand (80 bits). The random part is the customer's only key to the
// ticket page, so it is what must not be guessable. The clock part makes the
// ids a daemon hands out one after another lie side by side in every index
// keyed by ticket (the tickets' own, their entries', their Message-IDs'),
// so that a commit of many new tickets writes a few shared index pages
// instead of a page of its own for each ticket; on SQLite this made POST
// /api/receive at 64 connections about 1.25 times as fast (bench/receive.sh,
// three sets of alternating runs). The clock part is 20 bits and wraps about every 17
// minutes, which keeps ids short and costs only where in the index the
// newest ids go, never their uniqueness. Ids of 16 random characters,
// which earlier versions made, stay valid.
const (
	ticketIDClockBits   = 20
	ticketIDRandomBytes = 10
	// TicketIDLength is the length of the ids NewTicketID makes.
	TicketIDLength = ticketIDClockBits/5 + ticketIDRandomBytes*8/5
	// legacyTicketIDLength is the length of the all-random ids of earlier
	// versions.
	legacyTicketIDLength = ticketIDRandomBytes * 8 / 5
)

// NewTicketID returns a fresh ticket id (TicketIDLength characters).
func NewTicketID() string { return newTicketID(time.Now()) }

// newTicketID makes the id of a ticket created at now.
func newTicketID(now time.Time) string {
	var b [ticketIDRandomBytes]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	clock := uint64(now.UnixMilli()) & (1<<ticketIDClockBits - 1)
	var id [TicketIDLength]byte
	for i := ticketIDClockBits/5 - 1; i >= 0; i-- {
		id[i] = ticketIDAlphabet[clock&31]
		clock >>= 5
	}
	ticketIDEncoding.Encode(id[ticketIDClockBits/5:], b[:])
	return string(id[:])
}

// ValidTicketID reports whether s has the form of a ticket id: 20 (or, made
// by an earlier version, 16) characters of lower-case base32.
func ValidTicketID(s string) bool {
	if len(s) != TicketIDLength && len(s) != legacyTicketIDLength {
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
var tagRe = regexp.MustCompile(`(?i)\[\s*ticket\s*"\s*([a-z2-7]{16}(?:[a-z2-7]{4})?)\s*"\s*\]`)

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
