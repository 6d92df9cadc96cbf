// Package smtpin is the SMTP gateway: it accepts customer mail for the
// support addresses (and their plus-addresses) and hands each message to
// core.Service.Receive. It answers 250 only after the message is committed
// (with a Queue: as a row of the durable inbound queue, which the Queue's
// worker turns into a ticket), so a sending MTA retries whatever was not.
// It is not a relay: mail for any other recipient is refused.
package smtpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	// MaxCommands bounds the commands of any kind (EHLO, NOOP, RSET,
	// VRFY, HELP, MAIL, RCPT …) a connection may send without delivering
	// a message; past it the gateway answers 421 and closes. 200 when 0.
	MaxCommands int
	// FirstCommandTimeout is how long a new connection may take to send
	// its first command; 30 s when 0.
	FirstCommandTimeout time.Duration
	// IdleTimeout is how long the gateway waits for any later command
	// (RFC 5321 §4.5.3.2.7 asks for at least 5 minutes); 5 min when 0.
	IdleTimeout time.Duration
	// Spool holds the message bodies while they are parsed; when nil,
	// every body is held in memory.
	Spool *parse.Spool
	LMTP  bool // speak LMTP (RFC 2033) instead of SMTP; the door is then "lmtp"
	// Queue, when set, is the durable inbound queue: Data records each
	// message there and answers 250 after that commit; its worker makes
	// the tickets. Without it Data calls Service.Receive itself.
	Queue     *Queue
	TLSConfig *tls.Config
	Logger    *slog.Logger
}

// Server is the gateway: a go-smtp server whose connections count their
// commands. Serve it on a listener; Shutdown or Close it at the end.
type Server struct {
	*smtp.Server
	cfg Config
}

// New returns the gateway for cfg.
func New(cfg Config) *Server {
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 25 << 20
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 50
	}
	if cfg.MaxCommands <= 0 {
		cfg.MaxCommands = 200
	}
	if cfg.FirstCommandTimeout <= 0 {
		cfg.FirstCommandTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Spool == nil {
		cfg.Spool = parse.NewSpool(parse.SpoolConfig{Threshold: cfg.MaxMessageBytes})
	}
	be := &backend{cfg: cfg}
	s := smtp.NewServer(be)
	s.Domain = cfg.Domain
	s.LMTP = cfg.LMTP
	s.MaxMessageBytes = cfg.MaxMessageBytes
	s.MaxRecipients = cfg.MaxRecipients
	s.ReadTimeout = cfg.IdleTimeout // RFC 5321 §4.5.3.2.7: server timeout
	s.WriteTimeout = 5 * time.Minute
	s.TLSConfig = cfg.TLSConfig
	s.EnableSMTPUTF8 = true
	s.ErrorLog = slogLogger{cfg.Logger}
	return &Server{Server: s, cfg: cfg}
}

// Serve accepts connections on ln until Shutdown or Close. Limits on the
// number of connections belong to ln (package connlimit).
func (s *Server) Serve(ln net.Listener) error {
	return s.Server.Serve(&countingListener{Listener: ln, cfg: &s.cfg})
}

// door is the name of the gateway's door in logs and metrics.
func (c *Config) door() string {
	if c.LMTP {
		return core.DoorLMTP
	}
	return core.DoorSMTP
}

type backend struct {
	cfg Config
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	cc := findCounting(c.Conn())
	if cc != nil {
		// After STARTTLS, answers must go through TLS.
		cc.setOut(c.Conn())
	}
	return &session{b: b, conn: c, counting: cc, remote: c.Conn().RemoteAddr().String()}, nil
}

type session struct {
	b          *backend
	conn       *smtp.Conn
	counting   *countingConn // nil if the connection did not come from Serve
	remote     string
	from       string
	nullSender bool
	rcpts      []string
}

func (s *session) Reset() {
	s.from, s.nullSender, s.rcpts = "", false, nil
}

func (s *session) Logout() error {
	return nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
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
	if !s.b.cfg.Service.IsSupportRecipient(to) {
		return ErrNotHelpdesk
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data reads the message, parses it and records it. The 250 that go-smtp
// sends when Data returns nil comes after the commit.
func (s *session) Data(r io.Reader) error {
	if s.counting != nil {
		s.counting.inMessage.Store(true)
		defer s.counting.messageDone()
	}
	lim := parse.DefaultLimits()
	lim.MaxSize = s.b.cfg.MaxMessageBytes
	m, release, err := s.b.cfg.Spool.Parse(context.Background(), r, lim)
	defer release()
	switch {
	case err == nil:
	case errors.Is(err, parse.ErrTooLarge):
		return smtp.ErrDataTooLarge
	case errors.Is(err, parse.ErrBusy):
		return ErrBusy
	case errors.Is(err, parse.ErrRead):
		var se *smtp.SMTPError
		if errors.As(err, &se) { // size limit, line too long: go-smtp says why
			return se
		}
		if errors.Is(err, smtp.ErrTooLongLine) {
			// RFC 5321 §4.5.3.1.6 allows 1,000 octets a line; retrying will
			// not help, so the refusal is permanent.
			return ErrLineTooLong
		}
		return ErrConnection
	case errors.Is(err, parse.ErrSpool):
		s.b.cfg.Logger.Error("could not spool a message; the sender will retry", "remote", s.remote, "err", err)
		return ErrNotStored
	default:
		s.b.cfg.Logger.Warn("rejected unparsable message", "remote", s.remote, "from", s.from, "err", err)
		return errUnreadable(err)
	}
	m.Door = s.b.cfg.door()
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
	if q := s.b.cfg.Queue; q != nil {
		return s.enqueue(ctx, q, &m)
	}
	res, err := s.b.cfg.Service.Receive(ctx, m)
	if err != nil {
		s.b.cfg.Logger.Error("could not record message; the sender will retry", "remote", s.remote, "message_id", m.MessageID, "err", err)
		return ErrNotStored
	}
	s.b.cfg.Logger.Info("message received", "door", s.b.cfg.door(), "ticket", res.TicketID, "created", res.Created,
		"duplicate", res.Duplicate, "automatic", res.Automatic)
	return nil
}

// enqueue records m in the inbound queue; the 250 follows its commit.
// Above the queue's limit nothing is stored and the sender is told to try
// again later.
func (s *session) enqueue(ctx context.Context, q *Queue, m *core.InboundMessage) error {
	if q.full() {
		s.b.cfg.Logger.Warn("inbound queue full; the sender will retry", "remote", s.remote, "depth", q.Depth())
		return ErrQueueFull
	}
	msgID := m.MessageID
	if err := q.enqueue(ctx, m); err != nil {
		s.b.cfg.Logger.Error("could not queue message; the sender will retry", "remote", s.remote, "message_id", msgID, "err", err)
		return ErrNotStored
	}
	s.b.cfg.Logger.Debug("message queued", "door", s.b.cfg.door(), "message_id", msgID)
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
