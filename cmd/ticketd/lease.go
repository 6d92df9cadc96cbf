package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// leaseStore is what a leaser needs of the service: leases in the store,
// shared by every daemon on one database.
type leaseStore interface {
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, owner string) error
}

// leaser runs jobs that one daemon of several does at a time (polling an
// IMAP account, retention), each while this daemon holds its lease.
//
// A holder renews every renew; a daemon that died is replaced after at
// most ttl (plus one retry).
type leaser struct {
	store leaseStore
	owner string // this daemon's name in leases
	log   *slog.Logger

	ttl, renew, retry time.Duration
}

// newLeaser returns the leaser of daemon owner with the daemon's timing.
func newLeaser(st leaseStore, owner string, log *slog.Logger) *leaser {
	return &leaser{store: st, owner: owner, log: log,
		ttl: 15 * time.Second, renew: 5 * time.Second, retry: 2 * time.Second}
}

// run runs job while this daemon holds the lease name, until ctx ends. It
// renews the lease while job runs, cancels job when a renewal fails (and
// then tries to take the lease again), and gives the lease back when ctx
// ends, after job returned. held reports whether this daemon holds the
// lease now.
func (l *leaser) run(ctx context.Context, name string, held func(bool), job func(context.Context)) {
	for ctx.Err() == nil {
		ok, err := l.store.AcquireLease(ctx, name, l.owner, l.ttl)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("could not take lease", "lease", name, "err", err)
		}
		if !ok {
			select {
			case <-ctx.Done():
			case <-time.After(l.retry):
			}
			continue
		}
		held(true)
		l.log.Info("took lease", "lease", name, "owner", l.owner)
		jctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { job(jctx) })
		l.keep(ctx, name)
		cancel()
		wg.Wait()
		held(false)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := l.store.ReleaseLease(rctx, name, l.owner); err != nil {
			l.log.Warn("could not release lease", "lease", name, "err", err)
		}
		rcancel()
	}
}

// keep renews the lease name until ctx ends or a renewal fails.
func (l *leaser) keep(ctx context.Context, name string) {
	renew := time.NewTicker(l.renew)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			ok, err := l.store.AcquireLease(ctx, name, l.owner, l.ttl)
			if !ok || err != nil {
				if ctx.Err() == nil {
					l.log.Warn("lost lease; stopping", "lease", name, "err", err)
				}
				return
			}
		}
	}
}
