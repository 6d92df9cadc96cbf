// Package parse turns a raw RFC 5322 / MIME message into a
// core.InboundMessage: sender, recipients, subject, the readable text,
// the original HTML, attachments, threading headers and every signal core
// needs to tell automatic mail from a person's.
//
// It is built for mail from anyone: broken MIME (missing or wrong
// boundaries, truncated base64, unknown charsets, NUL bytes, 8-bit headers)
// gives the best text that can be got instead of an error, and Limits bound
// the size, the number of parts and the nesting depth, so no message can make
// it panic or use unbounded memory or time. It never renders HTML: HTML-only
// mail is turned into plain text. It performs no network I/O.
package parse

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	// Register every common charset with go-message (ISO-8859-*,
	// Windows-125x, KOI8, Shift_JIS, GB18030, Big5 …).
	_ "github.com/emersion/go-message/charset"

	"trivialtickets/core"
)

// ErrTooLarge is returned (wrapped) for a message larger than Limits.MaxSize.
var ErrTooLarge = errors.New("message too large")

// ErrNotMail is returned (wrapped) when the input has no header field at all
// and so cannot be a mail.
var ErrNotMail = errors.New("not a mail message")

// Limits bound the work Parse does for one message. A zero field means its
// default (see DefaultLimits).
type Limits struct {
	MaxSize        int64 // bytes of the raw message; larger gives ErrTooLarge
	MaxParts       int   // MIME entities looked at; the rest is left out (noted in Text)
	MaxDepth       int   // nesting of multiparts; deeper ones are left out (noted in Text)
	MaxHeaderBytes int   // bytes of one header block; the rest of it is dropped
}

// Default limits.
const (
	DefaultMaxSize        = 25 << 20
	DefaultMaxParts       = 1000
	DefaultMaxDepth       = 20
	DefaultMaxHeaderBytes = 256 << 10
)

// DefaultLimits returns limits fit for customer mail: 25 MiB, 1000 parts,
// 20 levels of nesting, 256 KiB of header.
func DefaultLimits() Limits {
	return Limits{
		MaxSize:        DefaultMaxSize,
		MaxParts:       DefaultMaxParts,
		MaxDepth:       DefaultMaxDepth,
		MaxHeaderBytes: DefaultMaxHeaderBytes,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxSize <= 0 {
		l.MaxSize = d.MaxSize
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return l
}

// DerivedIDDomain is the domain of the Message-ID made up for a message
// that has none: "<sha256 hex of the raw message>.sha256@" + DerivedIDDomain.
// The same message always gets the same id, so a retried delivery is still
// recognised as a duplicate.
const DerivedIDDomain = "trivial-tickets.invalid"

// Parse reads one message from r (at most lim.MaxSize bytes) and parses it
// with ParseBytes. The Door field is left empty for the caller.
func Parse(r io.Reader, lim Limits) (core.InboundMessage, error) {
	lim = lim.withDefaults()
	raw, err := io.ReadAll(io.LimitReader(r, lim.MaxSize+1))
	if err != nil {
		return core.InboundMessage{}, fmt.Errorf("parse: reading message: %w", err)
	}
	return ParseBytes(raw, lim)
}

// ParseBytes parses the raw message. It fails only when nothing usable can
// be got: a message over lim.MaxSize (ErrTooLarge) or input without any
// header field (ErrNotMail). Broken MIME gives a message with the best text
// that could be got. The Door field is left empty for the caller.
func ParseBytes(raw []byte, lim Limits) (core.InboundMessage, error) {
	lim = lim.withDefaults()
	if int64(len(raw)) > lim.MaxSize {
		return core.InboundMessage{}, fmt.Errorf("parse: message of more than %d bytes: %w", lim.MaxSize, ErrTooLarge)
	}
	w := &walker{lim: lim}
	hdrBytes, body := splitEntity(skipMboxLine(raw), true)
	h, cut := readHeader(hdrBytes, lim.MaxHeaderBytes)
	if len(h) == 0 {
		return core.InboundMessage{}, fmt.Errorf("parse: no header field found: %w", ErrNotMail)
	}
	if cut {
		w.note(fmt.Sprintf("the header was longer than %d bytes; the rest of it was left out", lim.MaxHeaderBytes))
	}

	var m core.InboundMessage
	fillHeader(&m, h)
	if m.MessageID == "" {
		// No (usable) Message-ID: derive a stable one so that the same
		// message delivered twice is still one message.
		sum := sha256.Sum256(raw)
		m.MessageID = hex.EncodeToString(sum[:]) + ".sha256@" + DerivedIDDomain
	}

	pieces := w.entity(h, body, 0, ctxNone)
	m.Text = w.text(pieces)
	m.HTML = cleanText(strings.Join(w.html, "\n"), false)
	m.Attachments = w.atts
	m.Bounce = w.bounce
	// RFC 3464 §2.3: the returned message (or its header) names the
	// Message-ID of our own mail that bounced; threading the bounce by
	// In-Reply-To puts it on that ticket.
	for _, id := range w.origIDs {
		if !contains(m.InReplyTo, id) && id != m.MessageID {
			m.InReplyTo = append(m.InReplyTo, id)
		}
	}
	if m.Bounce {
		m.ReturnedSubject, m.ReturnedAddresses = w.origSubject, w.origAddrs
	}
	return m, nil
}

// fillHeader copies the top-level header fields into m.
func fillHeader(m *core.InboundMessage, h header) {
	if from := parseAddressList(h.get("From")); len(from) > 0 {
		m.From, m.FromName = from[0].addr, from[0].name
	}
	seen := map[string]bool{}
	// Delivered-To and X-Original-To name the mailbox the mail was
	// delivered to (Postfix, Dovecot): the plus-address of a Bcc or a
	// forward is only there.
	for _, key := range []string{"To", "Cc", "Delivered-To", "X-Original-To"} {
		for _, v := range h.values(key) {
			for _, a := range parseAddressList(v) {
				if k := strings.ToLower(a.addr); !seen[k] && len(m.Recipients) < maxRecipients {
					seen[k] = true
					m.Recipients = append(m.Recipients, a.addr)
				}
			}
		}
	}
	// RFC 2047: encoded words in any charset; core.CleanSubject makes it
	// one line without control characters.
	m.Subject = core.CleanSubject(decodeText(h.get("Subject")))

	if ids := msgIDs(h.get("Message-Id")); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	m.InReplyTo = msgIDs(h.get("In-Reply-To"))
	m.References = capIDs(msgIDs(h.get("References")))

	// RFC 5321 §4.4: the delivering MTA records the envelope sender in
	// Return-Path; "<>" is the null reverse-path of notifications (§4.5.5).
	if h.has("Return-Path") {
		rp := strings.TrimSpace(h.get("Return-Path"))
		if strings.ReplaceAll(rp, " ", "") == "<>" {
			m.ReturnPath, m.NullSender = "<>", true
		} else if a := parseAddressList(rp); len(a) > 0 {
			m.ReturnPath = a[0].addr
		}
	}
	m.AutoSubmitted = oneLine(h.get("Auto-Submitted"), maxField) // RFC 3834 §5
	m.Precedence = oneLine(h.get("Precedence"), maxField)        // RFC 2076 §3.9
	m.AutoResponseSuppress = oneLine(h.get("X-Auto-Response-Suppress"), maxField)
	m.XAutoreply = oneLine(h.get("X-Autoreply"), maxField)
	m.XAutorespond = oneLine(h.get("X-Autorespond"), maxField)
	m.ListID = oneLine(decodeText(h.get("List-Id")), maxField)       // RFC 2919
	m.ListUnsubscribe = oneLine(h.get("List-Unsubscribe"), maxField) // RFC 2369
	m.LoopMarker = h.has(core.LoopHeader)
}

const (
	maxField      = 1000 // characters kept of a one-line header value
	maxRecipients = 1000
	maxRefs       = 100
)

// capIDs keeps the first (the thread's root) and the newest References.
func capIDs(ids []string) []string {
	if len(ids) <= maxRefs {
		return ids
	}
	return append(ids[:1:1], ids[len(ids)-maxRefs+1:]...)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
