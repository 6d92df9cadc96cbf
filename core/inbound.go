package core

import (
	"strings"
)

// Door names where a message came in; used in entries' logs and metrics.
const (
	DoorWeb  = "web"
	DoorAPI  = "api"
	DoorSMTP = "smtp"
	DoorIMAP = "imap"
	DoorLMTP = "lmtp"
)

// LoopHeader is the header field the daemon puts into every mail it sends,
// naming its own domain. A mail that comes back with it is the daemon's own
// (InboundMessage.LoopMarker) and is never answered (loop protection).
// mailgw/compose writes it and mailgw/parse reads it.
const LoopHeader = "X-Trivial-Tickets-Loop"

// InboundMessage is a customer message as every door hands it to
// Service.Receive. The mail doors fill it from the parsed MIME message; the
// web form and the JSON Mail API fill From, Subject and Text only.
type InboundMessage struct {
	Door     string // one of the Door constants
	From     string // sender address (From header); may be empty for bounces
	FromName string // display name of the sender, if any
	// Recipients are the envelope recipients and To/Cc addresses; a
	// plus-address support+<ticket-id>@… among them threads the message.
	Recipients []string
	Subject    string
	Text       string // plain text of the body (HTML-only mail converted)
	HTML       string // the original HTML part, if any; never rendered
	// Attachments with their Data.
	Attachments []Attachment

	MessageID  string   // without angle brackets; generated when empty
	InReplyTo  []string // without angle brackets
	References []string // without angle brackets, oldest first

	// Loop and auto-reply signals (DESIGN.md "Loop or bounce?").
	ReturnPath           string // envelope sender; "<>" or empty for the null sender when NullSender is set
	NullSender           bool   // MAIL FROM:<> or Return-Path: <>
	AutoSubmitted        string // Auto-Submitted header (RFC 3834)
	Precedence           string
	AutoResponseSuppress string // X-Auto-Response-Suppress
	XAutoreply           string
	XAutorespond         string
	ListID               string
	ListUnsubscribe      string
	// LoopMarker is our own loop header (LoopHeader) naming this
	// daemon's domain: the mail is our own, come back.
	LoopMarker bool
	// Bounce is set for delivery status notifications (multipart/report;
	// report-type=delivery-status).
	Bounce bool
	// ReturnedSubject and ReturnedAddresses come from the header of the
	// message a bounce returns (text/rfc822-headers or message/rfc822):
	// its Subject and its From, To, Cc and Reply-To addresses. They thread
	// a bounce of a mail that did not carry our Message-ID (one an agent
	// sent from their own mail client) by its ticket tag or plus-address.
	ReturnedSubject   string
	ReturnedAddresses []string
}

// AutomaticReason reports why m must never be answered automatically, or ""
// when it may be. own lists the daemon's own addresses.
func AutomaticReason(m InboundMessage, own []string) string {
	// RFC 3834 §2: a message with Auto-Submitted other than "no" was
	// generated automatically; §3.1.1: do not respond to it.
	if as := headerToken(m.AutoSubmitted); as != "" && as != "no" {
		return "Auto-Submitted: " + as
	}
	// RFC 2076 / common practice: bulk, junk and list mail, and Microsoft's
	// auto_reply precedence, must not get an auto-response.
	switch headerToken(m.Precedence) {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + headerToken(m.Precedence)
	}
	if strings.TrimSpace(m.AutoResponseSuppress) != "" {
		return "X-Auto-Response-Suppress"
	}
	if strings.TrimSpace(m.XAutoreply) != "" {
		return "X-Autoreply"
	}
	if strings.TrimSpace(m.XAutorespond) != "" {
		return "X-Autorespond"
	}
	// RFC 2369 / RFC 2919: mailing list traffic.
	if strings.TrimSpace(m.ListID) != "" || strings.TrimSpace(m.ListUnsubscribe) != "" {
		return "mailing list"
	}
	if m.Bounce {
		return "delivery status notification"
	}
	if m.LoopMarker {
		return "our own mail came back"
	}
	// RFC 5321 §4.5.5: the null reverse-path marks notifications that must
	// not be answered.
	if m.NullSender || strings.TrimSpace(m.ReturnPath) == "<>" {
		return "null sender"
	}
	if m.From == "" {
		return "no sender address"
	}
	local := strings.ToLower(m.From)
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	switch local {
	case "mailer-daemon", "postmaster":
		return "sender " + local
	}
	for _, a := range own {
		b, _ := splitPlus(m.From)
		if SameAddress(m.From, a) || SameAddress(b, a) {
			return "sender is our own address"
		}
	}
	return ""
}

// headerToken returns the first token of a header value in lower case,
// dropping parameters ("auto-replied; x=y" → "auto-replied").
func headerToken(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, "; \t"); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(v)
}
