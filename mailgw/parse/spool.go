package parse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"trivialtickets/core"
)

// ErrBusy is returned (wrapped) by Spool.Parse when a large message could
// not get a turn within SpoolConfig.MaxWait: the sender should try again
// later.
var ErrBusy = errors.New("too many large messages at once")

// ErrRead is returned (wrapped, with the reader's error) by Spool.Parse
// when the message could not be read from its sender.
var ErrRead = errors.New("reading the message")

// ErrSpool is returned (wrapped) by Spool.Parse when the spool file could
// not be written or read: a local problem, not the sender's.
var ErrSpool = errors.New("spooling the message")

// spoolPattern names the spool files, so that Clean removes only those.
const spoolPattern = "message-*.eml"

// firstRead is the room a message is first read into: a short text mail
// fits, a larger one grows it by doubling.
const firstRead = 4 << 10

// SpoolConfig sets how a Spool holds messages. A zero field means its
// default.
type SpoolConfig struct {
	Dir       string // directory of the temporary files; must exist
	Threshold int64  // bytes kept in memory; a larger message goes to a file; 1 MiB when 0
	MaxLarge  int    // large messages parsed at once; the others wait their turn; 2 when 0
	// MaxWait is how long a large message waits for its turn before
	// Parse gives up with ErrBusy; 1 min when 0.
	MaxWait time.Duration
}

// Spool reads raw messages for Parse, keeping small ones in memory and
// writing large ones to a temporary file, so that a message is held in
// memory once, and only while it is parsed and stored; at most MaxLarge
// large messages are in that step at once.
type Spool struct {
	cfg   SpoolConfig
	turns chan struct{}
}

// NewSpool returns a spool for cfg.
func NewSpool(cfg SpoolConfig) *Spool {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 1 << 20
	}
	if cfg.MaxLarge <= 0 {
		cfg.MaxLarge = 2
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Minute
	}
	return &Spool{cfg: cfg, turns: make(chan struct{}, cfg.MaxLarge)}
}

// Clean removes spool files left in dir by a daemon that did not stop
// cleanly.
func Clean(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return fmt.Errorf("parse: %w: %w", ErrSpool, err)
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: removing a left-over file: %w", err)
		}
	}
	return nil
}

// Parse reads one message from r (at most lim.MaxSize bytes), waits for a
// turn if it is large, and parses it with ParseBytes. It gives ErrTooLarge
// for a message over the limit, ErrRead when r fails, ErrBusy when no turn
// came within MaxWait, and ctx's error when ctx ends while it waits. The
// temporary file is removed before Parse returns. The caller keeps the
// turn while it stores the message and ends it by calling release (always
// non-nil; a no-op for a small message or an error).
func (s *Spool) Parse(ctx context.Context, r io.Reader, lim Limits) (m core.InboundMessage, release func(), err error) {
	lim = lim.withDefaults()
	release = func() {}
	var head bytes.Buffer
	// One allocation for a mail of a few KiB, instead of a buffer
	// doubled from 512 bytes (4 allocations and 7.5 KiB for 2 KiB).
	head.Grow(int(min(firstRead, s.cfg.Threshold+1)))
	n, err := io.Copy(&head, io.LimitReader(r, min(s.cfg.Threshold, lim.MaxSize)+1))
	if err != nil {
		return m, release, fmt.Errorf("parse: %w: %w", ErrRead, err)
	}
	if n <= s.cfg.Threshold {
		m, err = ParseBytes(head.Bytes(), lim)
		return m, release, err
	}

	f, err := os.CreateTemp(s.cfg.Dir, spoolPattern)
	if err != nil {
		return m, release, fmt.Errorf("parse: %w: %w", ErrSpool, err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	size, err := io.Copy(f, io.MultiReader(&head, io.LimitReader(r, lim.MaxSize+1-n)))
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == f.Name() {
			return m, release, fmt.Errorf("parse: %w: %w", ErrSpool, err)
		}
		return m, release, fmt.Errorf("parse: %w: %w", ErrRead, err)
	}
	head = bytes.Buffer{}
	if size > lim.MaxSize {
		return m, release, fmt.Errorf("parse: message of more than %d bytes: %w", lim.MaxSize, ErrTooLarge)
	}

	select {
	case s.turns <- struct{}{}:
	default:
		wait := time.NewTimer(s.cfg.MaxWait)
		defer wait.Stop()
		select {
		case s.turns <- struct{}{}:
		case <-wait.C:
			return m, release, fmt.Errorf("parse: %w: no turn within %v", ErrBusy, s.cfg.MaxWait)
		case <-ctx.Done():
			return m, release, fmt.Errorf("parse: waiting for a turn: %w", ctx.Err())
		}
	}
	release = func() { <-s.turns }
	raw := make([]byte, size)
	if _, err := f.ReadAt(raw, 0); err != nil && !errors.Is(err, io.EOF) {
		release()
		return m, func() {}, fmt.Errorf("parse: %w: %w", ErrSpool, err)
	}
	m, err = ParseBytes(raw, lim)
	if err != nil {
		release()
		return m, func() {}, err
	}
	return m, release, nil
}
