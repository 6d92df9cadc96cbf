// Package wire holds the Mail API's contract (shared/spec/mail-api.md) as Go
// values: the paths of the three calls, the content types, the JSON request
// and response types, and the reply tag a subject carries.
//
// Both sides import it: the server (package mailapi) and the client
// (mailapi/client, used by ticketcli and the integration tests). It is a leaf:
// it imports nothing of the project, so a client pulls in neither core nor the
// stores. The JSON names are part of the contract: fields may be added, never
// renamed or removed.
package wire

import "time"

// The paths of the three calls, relative to the server's root.
const (
	PathReceive    = "/api/receive"
	PathFetchMails = "/api/fetchMails"
	PathVerifyMail = "/api/verifyMail"
)

// Content types that POST /api/receive accepts.
const (
	ContentTypeJSON   = "application/json"
	ContentTypeRFC822 = "message/rfc822"
)

// ReceiveRequest is the JSON body of POST /api/receive. All three properties
// are required, must be strings and no other property is allowed.
type ReceiveRequest struct {
	From    string `json:"from"`    // the customer's e-mail address
	Subject string `json:"subject"` // may carry the tag [Ticket "<id>"]
	Message string `json:"message"` // the plain text of the message
}

// ReceiveResponse is the answer to a successful POST /api/receive.
type ReceiveResponse struct {
	Status   int    `json:"status"`   // 200
	Message  string `json:"message"`  // "OK"
	TicketID string `json:"ticketId"` // the ticket the message went to
	Created  bool   `json:"created"`  // a new ticket was opened
	// Duplicate is set when a raw message with this Message-ID was
	// received before; nothing changed. (Added field.)
	Duplicate bool `json:"duplicate,omitempty"`
	// Link is the customer's link to the ticket. (Added field.)
	Link string `json:"link,omitempty"`
}

// Mail is one pending outgoing mail as GET /api/fetchMails lists it. The
// first five fields are the contract; the others are additions that help a
// mail service build a properly threaded message.
type Mail struct {
	ID      string `json:"id"` // decimal outbox id, also the key in the answer
	From    string `json:"from"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Message string `json:"message"` // plain-text body

	TicketID   string    `json:"ticketId,omitempty"`
	ReplyTo    string    `json:"replyTo,omitempty"`
	MessageID  string    `json:"messageId,omitempty"` // without angle brackets
	InReplyTo  string    `json:"inReplyTo,omitempty"` // without angle brackets
	References []string  `json:"references,omitempty"`
	CreatedAt  time.Time `json:"createdAt,omitzero"`
}

// VerifyRequest is the JSON body of POST /api/verifyMail: exactly one string
// property, the mail id.
type VerifyRequest struct {
	ID string `json:"id"`
}

// VerifyResponse is the answer to POST /api/verifyMail. Verified is false
// (still with status 200) when no pending mail has the id.
type VerifyResponse struct {
	Status   int    `json:"status"`
	Message  string `json:"message"`
	Verified bool   `json:"verified"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Status  int    `json:"status"`
	Message string `json:"message"` // what was wrong, safe to show
}
