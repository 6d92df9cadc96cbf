package wire

import (
	"time"
	"unicode/utf8"
)

// AppendJSON appends m as encoding/json marshals it, byte for byte: the
// same field order, omitempty and omitzero, HTML-safe escaping (<, > and &
// as \u003c, \u003e, \u0026), U+2028 and U+2029 escaped, invalid UTF-8
// replaced by U+FFFD. GET /api/fetchMails lists tens of thousands of mails
// at once; this writes them without reflection or allocations. A test and a
// fuzz target compare it with json.Marshal.
//
// CreatedAt must lie in the years 0 to 9999 (json.Marshal fails outside
// them); the outbox's times always do.
func (m *Mail) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, m.ID)
	return m.AppendAfterID(b)
}

// AppendAfterID appends what AppendJSON writes after the id: from the
// comma before "from" to the closing brace. m.ID is not read, so a mail
// can be encoded before its id is known and the id put in front when it
// is listed.
func (m *Mail) AppendAfterID(b []byte) []byte {
	b = append(b, `,"from":`...)
	b = appendString(b, m.From)
	b = append(b, `,"to":`...)
	b = appendString(b, m.To)
	b = append(b, `,"subject":`...)
	b = appendString(b, m.Subject)
	b = append(b, `,"message":`...)
	b = appendString(b, m.Message)
	if m.TicketID != "" {
		b = append(b, `,"ticketId":`...)
		b = appendString(b, m.TicketID)
	}
	if m.ReplyTo != "" {
		b = append(b, `,"replyTo":`...)
		b = appendString(b, m.ReplyTo)
	}
	if m.MessageID != "" {
		b = append(b, `,"messageId":`...)
		b = appendString(b, m.MessageID)
	}
	if m.InReplyTo != "" {
		b = append(b, `,"inReplyTo":`...)
		b = appendString(b, m.InReplyTo)
	}
	if len(m.References) > 0 {
		b = append(b, `,"references":[`...)
		for i, r := range m.References {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, r)
		}
		b = append(b, ']')
	}
	if !m.CreatedAt.IsZero() {
		b = append(b, `,"createdAt":"`...)
		b = m.CreatedAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	return append(b, '}')
}

// jsonSafe marks the ASCII bytes that encoding/json writes as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// load64 is the first eight bytes of s as a little-endian number (the
// compiler makes one load of it).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// mayNeedEscape reports whether any of the eight bytes in x may be one
// that appendString does not copy as it is: a control character, '"',
// '\\', '<', '>', '&', or a byte of a multi-byte UTF-8 sequence. It never
// misses one; it may report one that is not there, which only costs a look
// at each byte.
//
// In a byte of v below 0x80, v - 1 sets the high bit only when v is zero
// (or a borrow came from below), and v - 0x20 only when v is below 0x20.
// So with v = x XOR c, the bytes of x equal to c show. '<' and '>' differ
// in one bit, which y clears. Bytes of 0x80 and above are caught by x
// itself; for them the subtractions say nothing, and the mask ^(…&x) is
// all that is needed for the others.
func mayNeedEscape(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, b, y, a := x^(ones*'"'), x^(ones*'\\'), (x^(ones*'<'))&^(ones*2), x^(ones*'&')
	return (((x-ones*0x20)|(q-ones)|(b-ones)|(y-ones)|(a-ones))&^(q&b&y&a&x)|x)&highs != 0
}

// appendString appends s as a JSON string quoted the way encoding/json
// quotes it (see AppendJSON).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is still to be copied
	for i := 0; i < len(s); {
		// Eight bytes at a time while none of them needs a look.
		for i+8 <= len(s) && !mayNeedEscape(load64(s[i:i+8])) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other control characters and <, >, &
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
