package core

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Config holds what the rules need to know about the installation.
type Config struct {
	// PublicURL is the base of ticket links in mails, without a trailing
	// slash, e.g. "https://help.example.com".
	PublicURL string
	// SupportAddresses are the addresses customers write to. The first one
	// is the base of the plus-address Reply-To of outgoing mail.
	SupportAddresses []string
	// FromAddress is the From of outgoing mail; the first support address
	// when empty.
	FromAddress string
	// AutoReplyLimit caps the automatic mails (confirmations) to one
	// address per hour; 0 means the default of 10.
	AutoReplyLimit int
	// RelayOutbound is set when a dispatcher delivers the outbox through an
	// SMTP relay (outbound = "smtp"): the Mail API then lists no pending
	// mail, since the dispatcher owns them all.
	RelayOutbound bool
	// Mailboxes name support addresses; each is a support address too.
	// A ticket that comes in on one shows its name, and its mail leaves
	// from that address.
	Mailboxes []Mailbox
	// OnReceive, when set, is called after every Receive with the door,
	// the result and the error, for metrics.
	OnReceive func(door string, res ReceiveResult, err error)
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// DefaultTimeZone is the IANA zone agents without one of their own
	// read times in; DefaultTimeZone ("UTC") when empty or unknown.
	DefaultTimeZone string
	// ListMail, when set, makes an outgoing mail's OutMail.Listing as it is
	// queued (from every field but ID, State and the delivery bookkeeping),
	// so that listing pending mails does not encode them again every
	// time.
	ListMail func(m *OutMail) string
}

// Service carries out every use case of the helpdesk on a Store. It is safe
// for concurrent use.
type Service struct {
	store          Store
	cfg            Config
	passwordChecks atomic.Int64
	defaultLoc     *time.Location
}

// DefaultSupportAddress is used when no support address is configured.
const DefaultSupportAddress = "support@localhost"

// NewService returns a Service on store with cfg.
func NewService(store Store, cfg Config) *Service {
	if len(cfg.SupportAddresses) == 0 {
		cfg.SupportAddresses = []string{DefaultSupportAddress}
	}
	for _, mb := range cfg.Mailboxes {
		if !slices.ContainsFunc(cfg.SupportAddresses, func(a string) bool { return strings.EqualFold(a, mb.Address) }) {
			cfg.SupportAddresses = append(cfg.SupportAddresses, mb.Address)
		}
	}
	if cfg.FromAddress == "" {
		cfg.FromAddress = cfg.SupportAddresses[0]
	}
	if cfg.AutoReplyLimit <= 0 {
		cfg.AutoReplyLimit = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	loc, err := time.LoadLocation(cfg.DefaultTimeZone)
	if cfg.DefaultTimeZone == "" || err != nil {
		cfg.DefaultTimeZone, loc = DefaultTimeZone, time.UTC
	}
	return &Service{store: store, cfg: cfg, defaultLoc: loc}
}

// Config returns the service's configuration with defaults filled in.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// ownAddresses lists the addresses mail from which is our own.
func (s *Service) ownAddresses() []string {
	return append([]string{s.cfg.FromAddress}, s.cfg.SupportAddresses...)
}

// TicketURL is the customer's link to a ticket.
func (s *Service) TicketURL(id string) string {
	return s.cfg.PublicURL + "/ticket?id=" + id
}

// MessageIDDomain is the right-hand side of the Message-IDs the daemon
// makes: the domain of the From address. It also names the daemon in the
// loop header of outgoing mail.
func (s *Service) MessageIDDomain() string {
	a := s.cfg.FromAddress
	if at := strings.LastIndexByte(a, '@'); at >= 0 && at < len(a)-1 {
		return strings.ToLower(a[at+1:])
	}
	return "localhost"
}

// NewMessageID returns a fresh Message-ID (without angle brackets) in the
// daemon's domain.
//
// It begins with the time in hex, so that the Message-IDs a daemon makes
// sort in the order it made them: each is stored in two indexes, and keys
// that grow fill the same last page of each instead of dirtying a random
// page per message (which is what every commit writes to disk). The 64
// random bits after it keep two made in the same nanosecond apart.
func (s *Service) NewMessageID() string {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(s.now().UnixNano()))
	rand.Read(b[8:])
	return hex.EncodeToString(b) + ".tt@" + s.MessageIDDomain()
}

// IsOwnMessageID reports whether a Message-ID looks like one the daemon made.
func (s *Service) IsOwnMessageID(id string) bool {
	return strings.HasSuffix(strings.ToLower(id), ".tt@"+s.MessageIDDomain())
}
