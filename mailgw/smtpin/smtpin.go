// Package smtpin is the SMTP gateway: it accepts customer mail for the
// support addresses (and their plus-addresses) and hands each message to
// core.Service.Receive. It answers 250 only after the message is committed,
// so a sending MTA retries whatever was not. It is not a relay: mail for any
// other recipient is refused.
package smtpin

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/parse"
)

// Config is what the gateway needs.
type Config struct {
	Service         *core.Service
	Domain          string // host name announced in the greeting
	MaxMessageBytes int64  // SIZE; 25 MiB when 0
	MaxRecipients   int    // per message; 50 when 0
	MaxConnections  int    // at once; 100 when 0
	TLSConfig       *tls.Config
	Logger          *slog.Logger
}

// New returns an SMTP server for the gateway; the caller runs Serve on a
// listener and Shutdown or Close at the end.
func New(cfg Config) *smtp.Server {
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 25 << 20
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 50
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	be := &backend{cfg: cfg, slots: make(chan struct{}, cfg.MaxConnections)}
	s := smtp.NewServer(be)
	s.Domain = cfg.Domain
	s.MaxMessageBytes = cfg.MaxMessageBytes
	s.MaxRecipients = cfg.MaxRecipients
	s.ReadTimeout = 5 * time.Minute // RFC 5321 §4.5.3.2.7: server timeout
	s.WriteTimeout = 5 * time.Minute
	s.TLSConfig = cfg.TLSConfig
	s.EnableSMTPUTF8 = true
	s.ErrorLog = slogLogger{cfg.Logger}
	return s
}

type backend struct {
	cfg   Config
	slots chan struct{}
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	select {
	case b.slots <- struct{}{}:
	default:
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Too many connections, try again later"}
	}
	return &session{b: b, conn: c, remote: c.Conn().RemoteAddr().String()}, nil
}

// maxCommandsWithoutData bounds the MAIL, RCPT and RSET commands a
// connection may send without delivering a message, so that a client
// cannot hold a connection slot busy forever (go-smtp itself limits
// erroneous commands).
const maxCommandsWithoutData = 200

type session struct {
	b          *backend
	conn       *smtp.Conn
	remote     string
	from       string
	nullSender bool
	rcpts      []string
	commands   int // MAIL, RCPT and RSET since the last DATA
}

func (s *session) Reset() {
	s.from, s.nullSender, s.rcpts = "", false, nil
}

// count counts a command without a message; past the limit it answers 421
// and closes the connection.
func (s *session) count() error {
	s.commands++
	if s.commands <= maxCommandsWithoutData {
		return nil
	}
	s.b.cfg.Logger.Warn("closing a connection that sends commands but no message", "remote", s.remote)
	// The 421 is written when this returns; then the connection closes.
	time.AfterFunc(100*time.Millisecond, func() { s.conn.Close() })
	return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many commands without a message, closing the connection"}
}

func (s *session) Logout() error {
	<-s.b.slots
	return nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if err := s.count(); err != nil {
		return err
	}
	s.Reset()
	s.from = from
	// RFC 5321 §4.5.5: MAIL FROM:<> marks a notification that must never
	// be answered.
	s.nullSender = from == ""
	return nil
}

// Rcpt accepts only the support addresses and their plus-addresses
// (support+<ticket-id>@domain): the gateway is not an open relay.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.count(); err != nil {
		return err
	}
	if !s.b.cfg.Service.IsSupportRecipient(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here: this server only takes mail for the helpdesk"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data reads the message, parses it and records it. The 250 that go-smtp
// sends when Data returns nil comes after the commit.
func (s *session) Data(r io.Reader) error {
	s.commands = 0
	raw, err := io.ReadAll(r)
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) { // size limit, line too long: go-smtp says why
			return se
		}
		if errors.Is(err, smtp.ErrTooLongLine) {
			// RFC 5321 §4.5.3.1.6 allows 1,000 octets a line; retrying will
			// not help, so the refusal is permanent.
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "A line of the message is too long; wrap lines or use quoted-printable"}
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Connection problem while reading the message, try again"}
	}
	lim := parse.DefaultLimits()
	lim.MaxSize = s.b.cfg.MaxMessageBytes
	m, err := parse.Parse(bytes.NewReader(raw), lim)
	if err != nil {
		if errors.Is(err, parse.ErrTooLarge) {
			return smtp.ErrDataTooLarge
		}
		s.b.cfg.Logger.Warn("rejected unparsable message", "remote", s.remote, "from", s.from, "err", err)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message cannot be read: " + oneLine(err.Error())}
	}
	m.Door = core.DoorSMTP
	m.Recipients = append(m.Recipients, s.rcpts...)
	if s.nullSender {
		m.NullSender = true
	}
	if m.ReturnPath == "" && s.from != "" {
		m.ReturnPath = s.from
	}
	if m.From == "" && s.from != "" {
		m.From = s.from
	}
	// go-smtp gives Data no context; bound the store work of one message.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.b.cfg.Service.Receive(ctx, m)
	if err != nil {
		s.b.cfg.Logger.Error("could not record message; the sender will retry", "remote", s.remote, "message_id", m.MessageID, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, try again later"}
	}
	s.b.cfg.Logger.Info("message received", "door", "smtp", "ticket", res.TicketID, "created", res.Created,
		"duplicate", res.Duplicate, "automatic", res.Automatic)
	return nil
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// slogLogger adapts slog to go-smtp's Logger.
type slogLogger struct{ l *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) { l.l.Warn(fmt.Sprintf(format, v...)) }
func (l slogLogger) Println(v ...any)               { l.l.Warn(fmt.Sprint(v...)) }
