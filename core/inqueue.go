package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// QueuedInbound is one message in the durable inbound queue. A mail door
// records a message there (EnqueueInbound) before it acknowledges it, and
// ProcessInbound turns it into a ticket or an entry later, deleting the row
// in the same transaction: a message is acknowledged only once it is
// durable, and it becomes exactly one ticket or entry however often the
// daemon stops in between.
type QueuedInbound struct {
	ID int64
	// Sender is the sender's address in lower case (empty for none);
	// one sender's messages are processed in ID order, so that a reply
	// queued after its original lands on the original's ticket.
	Sender   string
	Door     string
	Message  []byte // EncodeInbound of the message
	Size     int    // len(Message); claims return Size without Message
	QueuedAt time.Time
	// Attempts, NextTry and LastError record failed attempts.
	Attempts  int
	NextTry   time.Time
	LastError string
}

// InboundQueueStats describes the inbound queue.
type InboundQueueStats struct {
	Depth   int       // queued rows
	Oldest  time.Time // QueuedAt of the oldest row; zero when empty
	Failing int       // rows that failed at least once
}

// EnqueueInbound records m durably in the inbound queue and returns the
// row's id; when it returns without error the message is committed, and
// ProcessInbound will make it a ticket or an entry.
func (s *Service) EnqueueInbound(ctx context.Context, m InboundMessage) (int64, error) {
	q, err := QueueInbound(m)
	if err != nil {
		return 0, err
	}
	if err := s.Enqueue(ctx, &q); err != nil {
		return 0, fmt.Errorf("queue message %s: %w", m.MessageID, err)
	}
	return q.ID, nil
}

// QueueInbound returns m as a row of the inbound queue (Sender, Door and
// Message), for Enqueue. A door with a large message may drop its parsed
// form once it has this one.
func QueueInbound(m InboundMessage) (QueuedInbound, error) {
	data, err := EncodeInbound(m)
	if err != nil {
		return QueuedInbound{}, err
	}
	return QueuedInbound{Sender: strings.ToLower(strings.TrimSpace(m.From)), Door: m.Door, Message: data, Size: len(data)}, nil
}

// Enqueue records q (made by QueueInbound) durably in the inbound queue
// and sets its ID and QueuedAt.
func (s *Service) Enqueue(ctx context.Context, q *QueuedInbound) error {
	q.QueuedAt = s.now()
	if err := s.store.Update(ctx, func(tx Tx) error { return tx.EnqueueInbound(ctx, q) }); err != nil {
		return fmt.Errorf("inbound queue: %w", err)
	}
	return nil
}

// InboundQueueStats describes the inbound queue.
func (s *Service) InboundQueueStats(ctx context.Context) (InboundQueueStats, error) {
	var st InboundQueueStats
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		st, err = tx.InboundQueueStats(ctx)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("inbound queue: %w", err)
	}
	return st, nil
}

// InboundRun says what one ProcessInbound did.
type InboundRun struct {
	Claimed int
	Done    int              // rows that became a ticket or an entry (or were a duplicate)
	Failed  []InboundFailure // rows that failed and wait for their next try
}

// InboundFailure is a queued row whose processing failed.
type InboundFailure struct {
	ID       int64
	Attempts int // failed attempts so far, this one included
	NextTry  time.Time
	Err      error
}

// InboundOptions tune ProcessInbound.
type InboundOptions struct {
	Owner string        // names the claimer in leases
	Limit int           // rows claimed at once; 256 when 0
	Lease time.Duration // how long a claim holds; 2 min when 0
	// PerTx is the most rows of one sender turned into tickets in one
	// transaction; 32 when 0. A transaction takes more than one row only
	// while their messages add up to at most perTxBytes, so that a worker
	// holds one large message in memory at a time.
	PerTx int
	// Parallel is the most transactions run at once (for different
	// senders); 8 when 0.
	Parallel int
	// Pace, when set, is called after each transaction with the time it
	// took; a worker that must leave the writer to the doors waits in it.
	Pace func(took time.Duration)
	// Hold, when set, is called before each transaction with the size of
	// its messages, and the function it returns after it: a door that
	// bounds the large messages in memory at once waits there for a turn.
	Hold func(size int) (release func())
}

func (o *InboundOptions) defaults() {
	if o.Limit <= 0 {
		o.Limit = 256
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.PerTx <= 0 {
		o.PerTx = 32
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
}

// perTxBytes bounds the messages of one transaction of several rows.
const perTxBytes = 1 << 20

// errInboundTaken stops a transaction whose queued row another claimer
// took over: the ticket change must not be committed without its delete.
var errInboundTaken = errors.New("queued message taken over by another claimer")

// InboundBackoff is the wait before a failed queued message is tried again
// after its attempts-th failure: 1 s doubling up to 10 minutes.
func InboundBackoff(attempts int) time.Duration {
	d := time.Second
	for i := 1; i < attempts && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// ProcessInbound claims due rows of the inbound queue and turns each into
// a ticket or an entry through the one receive path (Receive's rules),
// deleting the row in the same transaction. A sender's rows go in ID order,
// up to PerTx of them in one transaction; different senders run in
// parallel. A row that fails is tried again after InboundBackoff, and the
// sender's later rows wait for it; nothing is dropped.
func (s *Service) ProcessInbound(ctx context.Context, o InboundOptions) (InboundRun, error) {
	o.defaults()
	now := s.now()
	var rows []QueuedInbound
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		rows, err = tx.ClaimInbound(ctx, o.Owner, now, now.Add(o.Lease), o.Limit)
		return err
	})
	if err != nil {
		return InboundRun{}, fmt.Errorf("claim queued messages: %w", err)
	}
	run := InboundRun{Claimed: len(rows)}
	var bySender [][]QueuedInbound
	at := map[string]int{}
	for _, r := range rows {
		i, ok := at[r.Sender]
		if !ok {
			i = len(bySender)
			at[r.Sender] = i
			bySender = append(bySender, nil)
		}
		bySender[i] = append(bySender[i], r)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.Parallel)
	for _, group := range bySender {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			done, failed := s.processSender(ctx, o, group)
			mu.Lock()
			run.Done += done
			run.Failed = append(run.Failed, failed...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return run, nil
}

// processSender processes one sender's claimed rows in order, PerTx in a
// transaction; when a transaction fails, its rows go one by one, and at
// the first row that fails alone the sender's remaining rows are released
// to wait for it.
func (s *Service) processSender(ctx context.Context, o InboundOptions, rows []QueuedInbound) (done int, failed []InboundFailure) {
	for len(rows) > 0 {
		n, size := 1, rows[0].Size
		for n < min(o.PerTx, len(rows)) && size+rows[n].Size <= perTxBytes {
			size += rows[n].Size
			n++
		}
		release := func() {}
		if o.Hold != nil {
			release = o.Hold(size)
		}
		start := time.Now()
		err := s.receiveQueued(ctx, o.Owner, rows[:n])
		release()
		if o.Pace != nil {
			o.Pace(time.Since(start))
		}
		if err == nil {
			done += n
			rows = rows[n:]
			continue
		}
		for i, r := range rows[:n] {
			release := func() {}
			if o.Hold != nil {
				release = o.Hold(r.Size)
			}
			err := s.receiveQueued(ctx, o.Owner, rows[i:i+1])
			release()
			switch {
			case err == nil:
				done++
				continue
			case errors.Is(err, errInboundTaken):
				continue
			case ctx.Err() != nil:
				// Stopping: the leases run out, or this owner takes
				// the rows back at its next start.
				return done, failed
			}
			failed = append(failed, s.retryQueued(ctx, o.Owner, r, err))
			s.releaseQueued(ctx, o.Owner, rows[i+1:], failed[len(failed)-1].NextTry)
			return done, failed
		}
		rows = rows[n:]
	}
	return done, failed
}

// receiveQueued turns rows into tickets or entries in one transaction
// that also deletes them.
func (s *Service) receiveQueued(ctx context.Context, owner string, rows []QueuedInbound) error {
	type prepared struct {
		m       InboundMessage
		badFrom string
		reason  string
	}
	ps := make([]prepared, len(rows))
	results := make([]ReceiveResult, len(rows))
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		for i := range rows {
			// Read here, not with the claim: one transaction's messages
			// are in memory at a time.
			data, err := tx.InboundMessage(ctx, rows[i].ID)
			if err != nil {
				return err
			}
			m, err := DecodeInbound(data)
			if err != nil {
				return fmt.Errorf("queued message %d: %w", rows[i].ID, err)
			}
			if m.Door == "" {
				m.Door = rows[i].Door
			}
			p := prepared{m: m}
			p.m, p.badFrom, err = s.cleanInbound(p.m)
			if err != nil {
				return err
			}
			p.reason = AutomaticReason(p.m, s.ownAddresses())
			ps[i] = p
			res, err := s.receiveTx(ctx, tx, p.m, p.badFrom, p.reason, now)
			if err != nil {
				return fmt.Errorf("receive queued message %d (%s): %w", rows[i].ID, p.m.MessageID, err)
			}
			ok, err := tx.DeleteInbound(ctx, rows[i].ID, owner)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("queued message %d: %w", rows[i].ID, errInboundTaken)
			}
			results[i] = res
		}
		return nil
	})
	// Rows of a failed transaction of several are tried again one by one;
	// a row taken over is another claimer's to count.
	if s.cfg.OnReceive != nil && (err == nil || len(rows) == 1 && !errors.Is(err, errInboundTaken)) {
		for i, p := range ps {
			if err != nil {
				results[i] = ReceiveResult{}
			}
			door := p.m.Door
			if door == "" {
				door = rows[i].Door
			}
			s.cfg.OnReceive(door, results[i], err)
		}
	}
	return err
}

// retryQueued records r's failed attempt and when it is tried again.
func (s *Service) retryQueued(ctx context.Context, owner string, r QueuedInbound, cause error) InboundFailure {
	f := InboundFailure{ID: r.ID, Attempts: r.Attempts + 1, Err: cause}
	f.NextTry = s.now().Add(InboundBackoff(f.Attempts))
	msg := cause.Error()
	if len(msg) > 500 {
		msg = strings.ToValidUTF8(msg[:500], "")
	}
	if err := s.store.Update(ctx, func(tx Tx) error { return tx.RetryInbound(ctx, r.ID, owner, f.NextTry, msg) }); err != nil {
		// The lease runs out and the row is claimed again then.
		f.Err = errors.Join(cause, fmt.Errorf("record the failure: %w", err))
	}
	return f
}

// releaseQueued gives rows back, due at notBefore.
func (s *Service) releaseQueued(ctx context.Context, owner string, rows []QueuedInbound, notBefore time.Time) {
	if len(rows) == 0 {
		return
	}
	// An error leaves the leases to run out.
	_ = s.store.Update(ctx, func(tx Tx) error {
		for _, r := range rows {
			if err := tx.ReleaseInbound(ctx, r.ID, owner, notBefore); err != nil {
				return err
			}
		}
		return nil
	})
}
