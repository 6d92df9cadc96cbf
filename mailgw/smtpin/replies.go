package smtpin

import (
	"fmt"

	"github.com/emersion/go-smtp"
)

// The gateway's refusals, each a code, an enhanced status code (RFC 3463)
// and a text that tells the sending server or its user what to do. A 4xx
// makes the sender retry; a 5xx bounces the message.
var (
	// ErrNotHelpdesk refuses a recipient that is no support address: the
	// gateway is not a relay (RFC 3463 §3.2: X.1.1 bad destination mailbox).
	ErrNotHelpdesk = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "No such mailbox here: this server only takes mail for the helpdesk"}
	// ErrBusy answers a large message when every turn for large messages
	// stayed taken for the whole wait (X.3.1: system full).
	ErrBusy = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 1},
		Message: "Too many large messages at once, try again later"}
	// ErrLineTooLong refuses a message with a line over the 1,000 octets
	// of RFC 5321 §4.5.3.1.6; retrying will not help.
	ErrLineTooLong = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "A line of the message is too long; wrap lines or use quoted-printable"}
	// ErrConnection answers a message whose body could not be read to its
	// end (X.4.2: bad connection).
	ErrConnection = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
		Message: "Connection problem while reading the message, try again"}
	// ErrNotStored answers a message that could not be spooled or
	// recorded, for example while the database is unavailable: nothing was
	// kept, so the sender must try again.
	ErrNotStored = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Temporary failure, message not stored; try again later"}
	// ErrQueueFull answers a message while the inbound queue holds more
	// messages than its limit (X.3.1: mail system full): nothing was
	// kept, so the sender tries again later, when the queue has drained.
	ErrQueueFull = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 1},
		Message: "Too much mail waiting to be processed, try again later"}
	// ErrTooManyCommands ends a connection that sends commands but no
	// message (X.7.0: security or policy status).
	ErrTooManyCommands = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Too many commands without a message, closing the connection"}
)

// ErrUnreadable refuses a message that cannot be parsed; the gateway
// adds the reason to its text.
var ErrUnreadable = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
	Message: "Message cannot be read"}

// errUnreadable is ErrUnreadable saying why.
func errUnreadable(cause error) *smtp.SMTPError {
	e := *ErrUnreadable
	e.Message += ": " + oneLine(cause.Error())
	return &e
}

// line is the reply as it goes on the wire, for answers the gateway writes
// itself.
func line(e *smtp.SMTPError) string {
	c := e.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d %s\r\n", e.Code, c[0], c[1], c[2], e.Message)
}
