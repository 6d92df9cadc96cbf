package smtpin

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"trivialtickets/core"
)

// QueueConfig is what the inbound queue's worker needs.
type QueueConfig struct {
	Service *core.Service
	// Owner names this daemon in the queue's leases.
	Owner string
	// MaxQueued is the most queued messages before the gateway answers
	// 451 (ErrQueueFull); 100,000 when 0.
	MaxQueued int
	// Poll is how often the worker looks for rows that other daemons
	// queued or whose next try came; 1 s when 0.
	Poll time.Duration
	// MaxLag is how long the worker leaves the writer to the doors while
	// mail comes in: until the oldest queued message has waited this
	// long, it makes no tickets; then it takes half the writer. 5 s when
	// 0.
	MaxLag time.Duration
	// MaxLarge bounds the large messages (over LargeBytes) that are
	// encoded and stored, or turned into tickets by the worker, at once;
	// 1 when 0 (each costs about four times its size while it is stored).
	// LargeBytes is 1 MiB when 0.
	MaxLarge   int
	LargeBytes int
	Logger     *slog.Logger
}

// Queue is the durable inbound queue as the gateway sees it: Data records
// each message through Enqueue and answers 250 after its commit, and Run,
// the worker, turns the queued messages into tickets (core.ProcessInbound).
// It keeps the queue's depth for the gateway's back-pressure and the
// metrics.
type Queue struct {
	cfg  QueueConfig
	kick chan struct{}
	// depth is the queue's depth as last read plus what this daemon
	// queued and processed since; oldest the oldest row's QueuedAt in unix
	// nanoseconds (0: empty), failing the rows that failed at least once.
	depth, oldest, failing atomic.Int64
	// lastEnqueue and prevEnqueue are when the last two messages were
	// queued (unix nanoseconds): while mail comes in (busy), the worker
	// holds off for a while (holdOff), so that the doors' commits do not
	// wait for it.
	lastEnqueue, prevEnqueue atomic.Int64
	processed                atomic.Int64
	// large holds a turn per large message in memory (MaxLarge).
	large chan struct{}
}

// hold waits for a turn when size is large and returns its release.
func (q *Queue) hold(ctx context.Context, size int) (release func(), err error) {
	if size <= q.cfg.LargeBytes {
		return func() {}, nil
	}
	select {
	case q.large <- struct{}{}:
		// A large message leaves tens of MiB of garbage (its parts, its
		// encoded form, the database's copies): collected before the
		// next one and after the last, it never adds to the next one's,
		// and the daemon's peak memory stays about what one large
		// message in the queue and the spool's turns need.
		runtime.GC()
		return func() {
			<-q.large
			runtime.GC()
		}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// NewQueue returns the queue of cfg; Run starts its worker.
func NewQueue(cfg QueueConfig) *Queue {
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 100_000
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxLarge <= 0 {
		cfg.MaxLarge = 1
	}
	if cfg.LargeBytes <= 0 {
		cfg.LargeBytes = 1 << 20
	}
	return &Queue{cfg: cfg, kick: make(chan struct{}, 1), large: make(chan struct{}, cfg.MaxLarge)}
}

// Depth is the number of queued messages as this daemon knows it.
func (q *Queue) Depth() int { return int(max(q.depth.Load(), 0)) }

// Failing is the number of queued messages that failed at least once.
func (q *Queue) Failing() int { return int(q.failing.Load()) }

// OldestAge is how long the oldest queued message has waited; 0 when the
// queue is empty.
func (q *Queue) OldestAge() time.Duration {
	o := q.oldest.Load()
	if o == 0 || q.depth.Load() <= 0 {
		return 0
	}
	return time.Since(time.Unix(0, o))
}

// Processed counts the messages this daemon's worker turned into tickets
// or entries.
func (q *Queue) Processed() int64 { return q.processed.Load() }

// full reports whether the queue holds MaxQueued messages or more.
func (q *Queue) full() bool { return q.depth.Load() >= int64(q.cfg.MaxQueued) }

// enqueue records m durably and wakes the worker.
// It empties *m: a large message's parsed form is garbage once it is
// encoded, and is collected before the database makes its copies.
func (q *Queue) enqueue(ctx context.Context, m *core.InboundMessage) error {
	size := len(m.Text) + len(m.HTML)
	for _, a := range m.Attachments {
		size += len(a.Data)
	}
	release, err := q.hold(ctx, size)
	if err != nil {
		return err
	}
	defer release()
	var row core.QueuedInbound
	deepRun(func() { row, err = core.QueueInbound(*m) })
	*m = core.InboundMessage{}
	if err != nil {
		return err
	}
	if size > q.cfg.LargeBytes {
		runtime.GC()
	}
	now := time.Now().UnixNano()
	if err := q.cfg.Service.Enqueue(ctx, &row); err != nil {
		return err
	}
	q.prevEnqueue.Store(q.lastEnqueue.Swap(now))
	if q.depth.Add(1) == 1 {
		q.oldest.CompareAndSwap(0, now)
	}
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return nil
}

// Run is the worker: it drains what is queued (also what a previous run
// left), then waits to be woken by a new message or for the next poll,
// until ctx ends. Failures are logged and tried again with backoff.
func (q *Queue) Run(ctx context.Context) {
	var lastStats time.Time
	for {
		if time.Since(lastStats) >= q.cfg.Poll/4 {
			q.refresh(ctx)
			lastStats = time.Now()
		}
		if !q.holdOff(ctx) {
			return
		}
		run, err := q.cfg.Service.ProcessInbound(ctx, q.options(ctx))
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			q.cfg.Logger.Error("inbound queue: could not claim messages; trying again", "err", err)
		}
		q.processed.Add(int64(run.Done))
		q.depth.Add(-int64(run.Done))
		for _, f := range run.Failed {
			q.cfg.Logger.Error("inbound queue: could not process a message; it stays queued", "row", f.ID,
				"attempts", f.Attempts, "next_try", f.NextTry, "err", f.Err)
		}
		if err == nil && run.Claimed > 0 && run.Done > 0 {
			continue
		}
		q.refresh(ctx)
		lastStats = time.Now()
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		case <-time.After(q.cfg.Poll):
		}
	}
}

// While mail comes in (two messages within busyWindow), the worker holds
// off (holdOff): acceptance first, as an MTA's queue manager does not hold
// up its smtpd. A new ticket is ten times or more the database work of a
// queue row, in the one writer that every 250 waits for: during an
// smtp-source burst, with the worker paced to a quarter of the time,
// batches of more than 3 ms (mostly the worker's) took about half of the
// writer's time, and the worker's CPU competes with the sessions' on a
// machine of two cores. Once the oldest queued message has waited MaxLag,
// the worker claims busyLimit rows at a time (a claim rewrites each row it
// leases), runs one transaction of busyPerTx rows at a time and then waits
// as long as it took (lagShare), so that under a steady flow the tickets
// do not fall further and further behind; above MaxQueued the doors answer
// 451. Once the mail stops, it drains the rest in large transactions.
const (
	busyWindow = 50 * time.Millisecond
	busyPerTx  = 4
	busyLimit  = 32
	lagShare   = 2 // past MaxLag the worker's transactions take 1/lagShare of the time
)

// busy reports whether mail comes in: two messages within busyWindow. A
// message alone becomes a ticket at once.
func (q *Queue) busy() bool {
	return time.Since(time.Unix(0, q.prevEnqueue.Load())) < busyWindow
}

// holdOff waits while mail comes in and the oldest queued message has
// waited less than MaxLag; it reports false when ctx ended.
func (q *Queue) holdOff(ctx context.Context) bool {
	lastStats := time.Now()
	for q.busy() && q.OldestAge() < q.cfg.MaxLag {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(busyWindow / 2):
		}
		if time.Since(lastStats) >= q.cfg.Poll/4 {
			q.refresh(ctx) // the oldest message's age as the store knows it
			lastStats = time.Now()
		}
	}
	return true
}

// options are ProcessInbound's options for now.
func (q *Queue) options(ctx context.Context) core.InboundOptions {
	o := core.InboundOptions{Owner: q.cfg.Owner, Hold: func(size int) func() {
		release, err := q.hold(context.Background(), size)
		if err != nil {
			return func() {}
		}
		return release
	}}
	if q.busy() {
		o.Limit, o.PerTx, o.Parallel = busyLimit, busyPerTx, 1
		o.Pace = func(took time.Duration) {
			if q.holdOff(ctx) && q.busy() {
				time.Sleep(took * (lagShare - 1))
			}
		}
	}
	return o
}

// refresh reads the queue's depth, oldest row and failing rows.
func (q *Queue) refresh(ctx context.Context) {
	st, err := q.cfg.Service.InboundQueueStats(ctx)
	if err != nil {
		if ctx.Err() == nil {
			q.cfg.Logger.Warn("inbound queue: could not read its depth", "err", err)
		}
		return
	}
	q.depth.Store(int64(st.Depth))
	q.failing.Store(int64(st.Failing))
	var o int64
	if !st.Oldest.IsZero() {
		o = st.Oldest.UnixNano()
	}
	q.oldest.Store(o)
}

// Drained reports whether the queue is empty as this daemon knows it.
func (q *Queue) Drained() bool { return q.depth.Load() <= 0 }
