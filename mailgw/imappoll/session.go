package imappoll

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"trivialtickets/core"
	"trivialtickets/mailgw/oauth2"
	"trivialtickets/mailgw/parse"
)

const (
	dialTimeout = 30 * time.Second
	// commandTimeout bounds the wait for the answer to one command (and for
	// each message of a FETCH): a server silent for that long is taken as
	// gone and the connection is closed.
	commandTimeout = 2 * time.Minute
	logoutTimeout  = 5 * time.Second
	receiveTimeout = time.Minute // store work for one message
	// RFC 2177 §3: a server may log out a client idle for 30 minutes, so
	// IDLE is re-issued at least every 29 minutes; we do it after 25. The
	// same bound keeps a long poll interval's connection alive with NOOP.
	idleRenew = 25 * time.Minute
	// batchSize messages are fetched with one command; a mailbox of any size
	// is worked through batch by batch.
	batchSize = 100
)

// session is one connection to the server, from dial to close.
type session struct {
	p    *Poller
	conn net.Conn           // the TCP connection
	c    *imapclient.Client // nil until the client is set up

	stopCtx  func() bool // stops closing conn when the Run context ends
	wd       *time.Timer // watchdog: closes conn when the server stays silent
	timedOut atomic.Bool // the watchdog fired

	// wake is signalled when the mailbox grew (EXISTS) or a round must
	// follow at once.
	wake chan struct{}
	// exists is the number of messages in the selected mailbox as the
	// server reported it (EXISTS minus EXPUNGE).
	exists atomic.Uint32

	// What the server offers, learnt when the session opens.
	idle, move, uidplus, esearch bool
	keywords                     bool // FailedKeyword can be stored (PERMANENTFLAGS)
}

// failure is a message that can never be ingested.
type failure struct {
	uid    imap.UID
	reason string
}

// session connects, logs in and selects the mailbox, then runs rounds and
// waits for new mail until an error or the end of ctx. progressed reports
// whether at least one round succeeded (the back-off starts over).
func (p *Poller) session(ctx context.Context) (progressed bool, err error) {
	s := &session{p: p, wake: make(chan struct{}, 1)}
	defer s.close()
	if err := s.connect(ctx); err != nil {
		return false, err
	}
	if err := s.open(ctx); err != nil {
		return false, err
	}
	p.setConnected(true)
	for {
		if err := s.round(ctx); err != nil {
			return progressed, err
		}
		progressed = true
		p.noteSuccess()
		if s.takeWake() {
			continue // new mail came while the round ran
		}
		if err := s.wait(ctx); err != nil {
			return progressed, err
		}
	}
}

// connect dials the server, sets up TLS as configured and waits for the
// greeting.
func (s *session) connect(ctx context.Context) error {
	p := s.p
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return fmt.Errorf("connect to IMAP server %s: %w", p.addr, err)
	}
	s.conn = conn
	// Closing the TCP connection ends every command in progress: that is
	// how both the end of Run and a silent server stop the session.
	s.stopCtx = context.AfterFunc(ctx, func() { conn.Close() })
	s.wd = time.AfterFunc(dialTimeout, func() {
		s.timedOut.Store(true)
		conn.Close()
	})
	opts := &imapclient.Options{TLSConfig: p.tlsConfig, UnilateralDataHandler: s.handler()}
	switch p.acct.TLS {
	case TLSImplicit:
		tc := p.tlsConfig.Clone()
		if tc.NextProtos == nil {
			tc.NextProtos = []string{"imap"}
		}
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			return s.fail("TLS handshake with IMAP server "+p.addr, err)
		}
		s.c = imapclient.New(tconn, opts)
	case TLSStartTLS:
		c, err := imapclient.NewStartTLS(conn, opts)
		if err != nil {
			return s.fail("STARTTLS with IMAP server "+p.addr, err)
		}
		s.c = c
	default:
		s.c = imapclient.New(conn, opts)
	}
	if err := s.c.WaitGreeting(); err != nil {
		return s.fail("greeting of IMAP server "+p.addr, err)
	}
	return nil
}

// open logs in, learns the capabilities, makes sure the Processed folder
// exists and selects the mailbox.
func (s *session) open(ctx context.Context) error {
	p, c, a := s.p, s.c, s.p.acct
	s.kick()
	if c.State() == imap.ConnStateNotAuthenticated && a.OAuth2 != nil {
		if err := s.authenticate(ctx); err != nil {
			return err
		}
	}
	if c.State() == imap.ConnStateNotAuthenticated {
		if c.Caps().Has(imap.CapLoginDisabled) {
			return fmt.Errorf("IMAP server %s refuses to log in on this connection (LOGINDISABLED): set tls to %q or %q",
				p.addr, TLSStartTLS, TLSImplicit)
		}
		s.kick()
		if err := c.Login(a.Username, a.Password).Wait(); err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) {
				return &loginError{user: a.Username, addr: p.addr, text: imapErrorText(ie)}
			}
			return s.fail("log in to IMAP server "+p.addr, err)
		}
	}
	s.kick()
	caps := c.Caps()
	s.idle = caps.Has(imap.CapIdle) && !p.noIdle
	s.move = caps.Has(imap.CapMove)
	s.uidplus = caps.Has(imap.CapUIDPlus)
	s.esearch = caps.Has(imap.CapESearch)

	if a.Processed != "" {
		s.kick()
		l, err := c.List("", a.Processed, nil).Collect()
		if err != nil {
			return s.fail(fmt.Sprintf("look for the processed folder %q", a.Processed), err)
		}
		if len(l) == 0 {
			s.kick()
			if err := c.Create(a.Processed, nil).Wait(); err != nil {
				return s.fail(fmt.Sprintf("create the processed folder %q (check the processed setting)", a.Processed), err)
			}
			p.log.Info("created the folder for processed mail", "folder", a.Processed)
		}
	}

	s.kick()
	data, err := c.Select(a.Mailbox, nil).Wait()
	if err != nil {
		return s.fail(fmt.Sprintf("select mailbox %q (check the mailbox setting)", a.Mailbox), err)
	}
	s.wd.Stop()
	s.exists.Store(data.NumMessages)
	// RFC 3501 §2.3.1.1: a new UIDVALIDITY means the UIDs were reassigned
	// (the mailbox was re-created or restored). We keep no UIDs between
	// rounds: flags say what is done, and core's Message-ID check makes a
	// message ingested before a no-op, so the mailbox is simply scanned
	// again.
	if p.uidValidity != 0 && data.UIDValidity != p.uidValidity {
		p.log.Warn("UIDVALIDITY of the mailbox changed: its UIDs were reassigned; scanning it again (messages already ingested are recognised by Message-ID)",
			"mailbox", a.Mailbox, "old", p.uidValidity, "new", data.UIDValidity)
	}
	p.uidValidity = data.UIDValidity
	s.keywords = keywordsAllowed(data.PermanentFlags)
	if !s.keywords {
		p.log.Info("the mailbox does not allow keywords; messages that cannot be ingested are marked \\Flagged and \\Seen instead of "+FailedKeyword,
			"mailbox", a.Mailbox)
	}
	p.log.Info("IMAP connected", "server", p.addr, "mailbox", a.Mailbox, "messages", data.NumMessages,
		"uidvalidity", data.UIDValidity, "idle", s.idle, "move", s.move, "uidplus", s.uidplus, "esearch", s.esearch)
	return nil
}

// keywordsAllowed reports whether FailedKeyword can be stored permanently.
func keywordsAllowed(perm []imap.Flag) bool {
	// RFC 3501 §7.1: without PERMANENTFLAGS all flags can be changed
	// permanently; "\*" allows new keywords.
	if len(perm) == 0 {
		return true
	}
	for _, f := range perm {
		if f == imap.FlagWildcard || strings.EqualFold(string(f), FailedKeyword) {
			return true
		}
	}
	return false
}

// close logs out politely when the connection still works and closes it.
func (s *session) close() {
	if s.stopCtx != nil {
		s.stopCtx()
	}
	if s.c != nil {
		select {
		case <-s.c.Closed():
		default:
			if s.c.State() != imap.ConnStateLogout {
				s.wd.Reset(logoutTimeout)
				s.c.Logout().Wait()
			}
		}
		s.c.Close()
	} else if s.conn != nil {
		s.conn.Close()
	}
	if s.wd != nil {
		s.wd.Stop()
	}
}

// kick (re)starts the watchdog for the next command.
func (s *session) kick() { s.wd.Reset(commandTimeout) }

// fail wraps err with what was being done, and says so when the watchdog
// closed the connection.
func (s *session) fail(what string, err error) error {
	if s.timedOut.Load() {
		return fmt.Errorf("%s: no answer from %s within %v: %w", what, s.p.addr, commandTimeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// handler turns the server's unilateral EXISTS and EXPUNGE responses into
// wake-ups. It runs on the client's reader goroutine and must not block.
func (s *session) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages == nil {
				return
			}
			// RFC 3501 §7.3.1: EXISTS reports the size of the mailbox;
			// a larger one means new mail.
			if n := *d.NumMessages; n > s.exists.Swap(n) {
				s.signal()
			}
		},
		Expunge: func(uint32) { s.dropExists(1) },
	}
}

func (s *session) dropExists(n int) {
	for {
		old := s.exists.Load()
		if s.exists.CompareAndSwap(old, old-min(old, uint32(n))) {
			return
		}
	}
}

func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) takeWake() bool {
	select {
	case <-s.wake:
		return true
	default:
		return false
	}
}

// criteria selects the messages to ingest.
func (s *session) criteria() *imap.SearchCriteria {
	// \Deleted messages are on their way out (a person deleted them, or a
	// move without MOVE is halfway done).
	c := &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}
	switch {
	case s.p.acct.Processed == "":
		// UNSEEN: ingested (and failed) messages are \Seen.
		c.NotFlag = append(c.NotFlag, imap.FlagSeen)
		if s.keywords {
			c.NotFlag = append(c.NotFlag, FailedKeyword)
		}
	case s.keywords:
		// Everything still here, except the messages that failed.
		c.NotFlag = append(c.NotFlag, FailedKeyword)
	default:
		// Failed messages are \Flagged and \Seen.
		c.Not = []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen, imap.FlagFlagged}}}
	}
	return c
}

// round ingests every message the search finds, in UID order, batch by
// batch.
func (s *session) round(ctx context.Context) error {
	var opts *imap.SearchOptions
	if s.esearch {
		// RFC 4731: the result as a compact set (1:1000) instead of a
		// thousand numbers.
		opts = &imap.SearchOptions{ReturnAll: true}
	}
	s.kick()
	data, err := s.c.UIDSearch(s.criteria(), opts).Wait()
	if err != nil {
		return s.fail(fmt.Sprintf("search mailbox %q", s.p.acct.Mailbox), err)
	}
	s.wd.Stop()
	set, _ := data.All.(imap.UIDSet)
	for batch := range uidBatches(set, batchSize) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.batch(ctx, batch); err != nil {
			return err
		}
		s.p.noteSuccess()
	}
	return nil
}

// uidBatches yields the UIDs of set in ascending order, at most n at a time,
// without expanding the whole set in memory.
func uidBatches(set imap.UIDSet, n int) iter.Seq[[]imap.UID] {
	return func(yield func([]imap.UID) bool) {
		ranges := slices.Clone(set)
		for i, r := range ranges {
			if r.Start > r.Stop {
				ranges[i].Start, ranges[i].Stop = r.Stop, r.Start
			}
		}
		slices.SortFunc(ranges, func(a, b imap.UIDRange) int { return cmp.Compare(a.Start, b.Start) })
		var batch []imap.UID
		var next uint64 = 1 // the smallest UID not yet yielded
		for _, r := range ranges {
			if r.Start == 0 {
				continue // "*": never in a search result
			}
			for uid := max(uint64(r.Start), next); uid <= uint64(r.Stop); uid++ {
				batch = append(batch, imap.UID(uid))
				next = uid + 1
				if len(batch) == n {
					if !yield(batch) {
						return
					}
					batch = nil
				}
			}
		}
		if len(batch) > 0 {
			yield(batch)
		}
	}
}

// batch ingests the messages uids (ascending): sizes first, then the bodies
// of those within the limit, one after the other, then the
// acknowledgements. A Receive error stops the batch and is returned; the
// messages recorded before it are still acknowledged.
func (s *session) batch(ctx context.Context, uids []imap.UID) error {
	p := s.p
	// RFC 3501 §6.4.5: RFC822.SIZE, so that a message over the limit is
	// never downloaded.
	s.kick()
	sizes, err := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return s.fail("fetch message sizes", err)
	}
	var want imap.UIDSet
	var failed []failure
	for _, m := range sizes {
		switch {
		case m.UID == 0:
		case m.RFC822Size > p.maxBytes:
			failed = append(failed, failure{m.UID, fmt.Sprintf("the message has %d bytes, more than the limit of %d", m.RFC822Size, p.maxBytes)})
		default:
			want.AddNum(m.UID)
		}
	}

	var done imap.UIDSet
	var ferr error // the error that ends the round
	if len(want) > 0 {
		s.kick()
		// BODY.PEEK[] leaves \Seen alone: it is set only after the commit.
		cmd := s.c.Fetch(want, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			if ferr != nil {
				continue // drain the rest; Next discards it
			}
			uid, raw, reason, err := s.read(msg)
			s.kick()
			switch {
			case err != nil:
				ferr = s.fail("fetch message", err)
				continue
			case uid == 0:
				continue
			case reason != "":
				failed = append(failed, failure{uid, reason})
				continue
			}
			reason, err = s.ingest(ctx, uid, raw)
			s.kick()
			switch {
			case err != nil:
				ferr = err
			case reason != "":
				failed = append(failed, failure{uid, reason})
			default:
				done.AddNum(uid)
			}
		}
		if err := cmd.Close(); err != nil && ferr == nil {
			ferr = s.fail("fetch messages", err)
		}
	}
	if err := s.acknowledge(done); err != nil && ferr == nil {
		ferr = err
	}
	if err := s.reject(failed); err != nil && ferr == nil {
		ferr = err
	}
	s.wd.Stop()
	return ferr
}

// read returns the UID and the raw message of one FETCH response, or why
// the message can never be ingested. A message without a body is skipped
// (uid 0) and tried again in the next round.
func (s *session) read(msg *imapclient.FetchMessageData) (uid imap.UID, raw []byte, reason string, err error) {
	got := false
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil || got {
				continue
			}
			got = true
			raw, err = io.ReadAll(io.LimitReader(it.Literal, s.p.maxBytes+1))
			if err != nil {
				return 0, nil, "", err
			}
		}
	}
	switch {
	case uid == 0:
		return 0, nil, "", nil
	case !got:
		s.p.log.Warn("the server sent no body for a message; trying again in the next round", "uid", uid)
		return 0, nil, "", nil
	case int64(len(raw)) > s.p.maxBytes:
		return uid, nil, fmt.Sprintf("the message has more than %d bytes (the limit), though the server announced fewer", s.p.maxBytes), nil
	}
	return uid, raw, "", nil
}

// ingest parses one message and hands it to the Receiver. reason says why
// the message can never be ingested; err is a Receive error (the message
// must stay unacknowledged).
func (s *session) ingest(ctx context.Context, uid imap.UID, raw []byte) (reason string, err error) {
	lim := parse.DefaultLimits()
	lim.MaxSize = s.p.maxBytes
	m, err := parse.ParseBytes(raw, lim)
	if err != nil {
		return err.Error(), nil
	}
	m.Door = core.DoorIMAP
	rctx, cancel := context.WithTimeout(ctx, receiveTimeout)
	res, err := s.p.recv.Receive(rctx, m)
	cancel()
	if err != nil {
		return "", fmt.Errorf("record message UID %d (Message-ID %s); it stays in the mailbox to be tried again: %w", uid, m.MessageID, err)
	}
	s.p.countIngested()
	s.p.log.Info("message received", "door", core.DoorIMAP, "uid", uid, "message_id", m.MessageID, "ticket", res.TicketID,
		"created", res.Created, "duplicate", res.Duplicate, "automatic", res.Automatic)
	return "", nil
}

// acknowledge marks recorded messages \Seen and, with a Processed folder,
// moves them there.
func (s *session) acknowledge(uids imap.UIDSet) error {
	if len(uids) == 0 {
		return nil
	}
	// \Seen also before a move, so that the messages show as handled in
	// the Processed folder.
	if err := s.store(uids, imap.FlagSeen); err != nil {
		return s.fail("mark ingested messages \\Seen", err)
	}
	if s.p.acct.Processed == "" {
		return nil
	}
	return s.moveTo(uids, s.p.acct.Processed)
}

// moveTo moves messages with MOVE (RFC 6851) or, without it, with COPY,
// STORE \Deleted and EXPUNGE, each step only after the one before
// succeeded.
func (s *session) moveTo(uids imap.UIDSet, folder string) error {
	s.kick()
	if s.move {
		if _, err := s.c.Move(uids, folder).Wait(); err != nil {
			return s.fail(fmt.Sprintf("move ingested messages to %q", folder), err)
		}
		return nil
	}
	if _, err := s.c.Copy(uids, folder).Wait(); err != nil {
		return s.fail(fmt.Sprintf("copy ingested messages to %q", folder), err)
	}
	if err := s.store(uids, imap.FlagDeleted); err != nil {
		return s.fail("mark copied messages \\Deleted", err)
	}
	s.kick()
	var cmd *imapclient.ExpungeCommand
	if s.uidplus {
		// RFC 4315 §2.1: UID EXPUNGE removes only these messages.
		cmd = s.c.UIDExpunge(uids)
	} else {
		// Plain EXPUNGE removes every \Deleted message of the mailbox.
		cmd = s.c.Expunge()
	}
	seqs, err := cmd.Collect()
	if err != nil {
		return s.fail("expunge moved messages", err)
	}
	s.dropExists(len(seqs))
	// An EXISTS that came with the EXPUNGE responses may have been taken
	// for no growth: search once more before waiting.
	s.signal()
	return nil
}

// reject flags messages that can never be ingested, so that no later round
// tries them again, and logs each with its UID and the reason.
func (s *session) reject(failed []failure) error {
	if len(failed) == 0 {
		return nil
	}
	flags := []imap.Flag{FailedKeyword, imap.FlagSeen}
	if !s.keywords {
		flags = []imap.Flag{imap.FlagFlagged, imap.FlagSeen}
	}
	var uids imap.UIDSet
	for _, f := range failed {
		uids.AddNum(f.uid)
	}
	err := s.store(uids, flags...)
	var ie *imap.Error
	if err != nil && s.keywords && errors.As(err, &ie) {
		// The server refused the keyword after all.
		s.keywords = false
		flags = []imap.Flag{imap.FlagFlagged, imap.FlagSeen}
		err = s.store(uids, flags...)
	}
	if err != nil {
		return s.fail("flag messages that cannot be ingested", err)
	}
	for _, f := range failed {
		s.p.log.Error("message cannot be ingested: flagged and left in the mailbox, it will not be tried again",
			"mailbox", s.p.acct.Mailbox, "uid", f.uid, "reason", f.reason, "flags", fmt.Sprint(flags))
	}
	s.p.countRejected(len(failed))
	return nil
}

// store adds flags to messages.
func (s *session) store(uids imap.UIDSet, flags ...imap.Flag) error {
	s.kick()
	return s.c.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
}

// wait returns when new mail may have come: at once on EXISTS with IDLE,
// after PollInterval at the latest.
func (s *session) wait(ctx context.Context) error {
	if s.idle {
		return s.idleWait(ctx)
	}
	return s.pollWait(ctx)
}

// idleWait runs one IDLE command (RFC 2177) until the mailbox grows, the
// poll interval (the safety re-check) or idleRenew is over, the server
// closes the connection or ctx ends.
func (s *session) idleWait(ctx context.Context) error {
	s.kick()
	idle, err := s.c.Idle()
	if err != nil {
		return s.fail("start IDLE", err)
	}
	s.wd.Stop()
	t := time.NewTimer(min(s.p.acct.PollInterval, idleRenew))
	defer t.Stop()
	var werr error
	select {
	case <-s.wake:
	case <-t.C:
	case <-ctx.Done():
		werr = ctx.Err()
	case <-s.c.Closed():
		werr = errors.New("the IMAP server closed the connection")
	}
	s.kick()
	if err := idle.Close(); err != nil && werr == nil {
		werr = s.fail("end IDLE", err)
	}
	if werr == nil {
		if err := idle.Wait(); err != nil {
			werr = s.fail("end IDLE", err)
		}
	}
	s.wd.Stop()
	return werr
}

// pollWait waits PollInterval, sending NOOP every idleRenew so that the
// server does not log the connection out. EXISTS in a NOOP's answer ends
// the wait early.
func (s *session) pollWait(ctx context.Context) error {
	deadline := time.Now().Add(s.p.acct.PollInterval)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		t := time.NewTimer(min(left, idleRenew))
		select {
		case <-s.wake:
			t.Stop()
			return nil
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.c.Closed():
			t.Stop()
			return errors.New("the IMAP server closed the connection")
		case <-t.C:
		}
		if time.Until(deadline) > 0 {
			s.kick()
			if err := s.c.Noop().Wait(); err != nil {
				return s.fail("NOOP", err)
			}
			s.wd.Stop()
		}
	}
}

// authenticate logs in with an OAuth2 access token over SASL XOAUTH2 or
// OAUTHBEARER (RFC 7628). A refused token is invalidated, so that the next
// session refreshes it; a failed refresh is the session's error, which the
// log and /healthz show.
func (s *session) authenticate(ctx context.Context) error {
	p, c, a := s.p, s.c, s.p.acct
	token, err := a.OAuth2.Token(ctx)
	if err != nil {
		return fmt.Errorf("IMAP account %s: %w", a.Name, err)
	}
	mech := a.AuthMechanism
	if mech == "" {
		mech = oauth2.XOAUTH2
		if c.Caps().Has(imap.Cap("AUTH=" + oauth2.OAUTHBEARER)) {
			mech = oauth2.OAUTHBEARER
		}
	}
	sc, err := oauth2.NewClient(mech, a.Username, token, a.Host, a.Port)
	if err != nil {
		return err
	}
	s.kick()
	if err := c.Authenticate(sc); err != nil {
		a.OAuth2.Invalidate()
		var ie *imap.Error
		var ne net.Error
		switch {
		case errors.As(err, &ie):
			return &loginError{user: a.Username, addr: p.addr, text: imapErrorText(ie), mechanism: mech}
		case errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || s.timedOut.Load():
			return s.fail("authenticate ("+mech+") to IMAP server "+p.addr, err)
		}
		// RFC 7628 §3.2.2: the server's JSON error, which the SASL
		// client reports.
		return &loginError{user: a.Username, addr: p.addr, text: err.Error(), mechanism: mech}
	}
	return nil
}

// imapErrorText is the server's answer to a refused login, with its
// response code.
func imapErrorText(ie *imap.Error) string {
	text := strings.TrimRight(ie.Text, ". ")
	if ie.Code != "" {
		text = "[" + string(ie.Code) + "] " + text
	}
	return text
}
