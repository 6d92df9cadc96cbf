package wire

import (
	"regexp"
	"strings"
)

// The reply tag `[Ticket "<id>"]` is part of the contract: a subject that
// carries it answers that ticket. core reads it on the server (core.ParseTag);
// these are the client's side of the same rule, which core cannot share
// since it imports nothing of the project. A test in package mailapi keeps
// the two in step.

// ValidTicketID reports whether s has the form of a ticket id: 20 (or,
// made by an earlier version, 16) characters of lower-case base32 (a-z, 2-7).
func ValidTicketID(s string) bool {
	if len(s) != 20 && len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Tag returns the reply tag for a ticket id.
func Tag(id string) string { return `[Ticket "` + id + `"]` }

// tagPattern finds a reply tag, tolerating the changes of case and spacing
// that mail clients and people make.
var tagPattern = regexp.MustCompile(`(?i)\[\s*ticket\s*"\s*([a-z2-7]{16}(?:[a-z2-7]{4})?)\s*"\s*\]`)

// ParseTag returns the ticket id, in lower case, of the first reply tag in
// subject.
func ParseTag(subject string) (string, bool) {
	m := tagPattern.FindStringSubmatch(subject)
	if m == nil {
		return "", false
	}
	return strings.ToLower(m[1]), true
}
