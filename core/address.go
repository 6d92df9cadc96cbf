package core

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
)

// MaxAddressLength is the longest e-mail address accepted (RFC 5321 §4.5.3.1.3
// limits a path to 256 octets including the angle brackets).
const MaxAddressLength = 254

// ParseAddress checks that s is one bare e-mail address (local@domain, no
// display name) and returns it with the domain in lower case. The error
// message says what is wrong and is safe to show to the sender.
func ParseAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid("the e-mail address is empty")
	}
	if len(s) > MaxAddressLength {
		return "", Invalid(fmt.Sprintf("the e-mail address is longer than %d characters", MaxAddressLength))
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || unicode.IsSpace(r) || r == '<' || r == '>' || r == ',' || r == '"' {
			return "", Invalid(fmt.Sprintf("%q is not a valid e-mail address", s))
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", Invalid(fmt.Sprintf("%q is not a valid e-mail address", s))
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || !validDomain(domain) {
		return "", Invalid(fmt.Sprintf("%q is not a valid e-mail address", s))
	}
	return local + "@" + strings.ToLower(domain), nil
}

// validDomain accepts host names made of letters, digits, hyphens and dots
// (internationalised names in UTF-8 included), and address literals [..].
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") {
		return len(d) > 2
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}

// SameAddress compares two addresses: the local part exactly, the domain
// without regard to case.
func SameAddress(a, b string) bool {
	ai, bi := strings.LastIndexByte(a, '@'), strings.LastIndexByte(b, '@')
	if ai < 0 || bi < 0 {
		return strings.EqualFold(a, b)
	}
	return a[:ai] == b[:bi] && strings.EqualFold(a[ai+1:], b[bi+1:])
}

// NormalizeAddress is the key under which mails to addr are capped: the
// whole address in lower case and without a +tag, so that Alice+1@x and
// alice+2@X count as the same mailbox (most providers deliver them to one).
func NormalizeAddress(addr string) string {
	base, _ := splitPlus(strings.TrimSpace(addr))
	return strings.ToLower(base)
}

// SingleAddress reports whether addr is one valid address as ParseAddress
// returns it: the last check before a mail is queued to it or handed out.
func SingleAddress(addr string) bool {
	if plainAddress(addr) {
		return true // the common form, without the parser's allocations
	}
	a, err := ParseAddress(addr)
	return err == nil && a == addr
}

// plainAddress reports, without parsing, whether addr has the common form
// that ParseAddress returns unchanged: a dot-atom of ASCII atext (RFC 5322
// §3.2.3), "@", and a domain of dot-separated labels of lower-case ASCII
// letters, digits and inner hyphens. It says false for every other form,
// valid or not; a test and a fuzz target hold it to ParseAddress.
func plainAddress(addr string) bool {
	at := strings.IndexByte(addr, '@')
	if at < 1 || len(addr) > MaxAddressLength {
		return false
	}
	local, domain := addr[:at], addr[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		if !atext[local[i]] && local[i] != '.' {
			return false
		}
	}
	if domain == "" || len(domain) > 253 {
		return false
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// atext marks the ASCII characters of an RFC 5322 atom.
var atext = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] = true
	}
	return t
}()

// splitPlus splits "local+detail@domain" into "local@domain" and "detail".
func splitPlus(addr string) (base, detail string) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr, ""
	}
	local, domain := addr[:at], addr[at:]
	plus := strings.IndexByte(local, '+')
	if plus < 0 {
		return addr, ""
	}
	return local[:plus] + domain, local[plus+1:]
}

// PlusAddress returns support address base with detail added to its local
// part: PlusAddress("support@example.com", "abc") = "support+abc@example.com".
func PlusAddress(base, detail string) string {
	at := strings.LastIndexByte(base, '@')
	if at < 0 {
		return base
	}
	return base[:at] + "+" + detail + base[at:]
}
