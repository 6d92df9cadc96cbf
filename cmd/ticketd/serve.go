package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"trivialtickets/core"
	"trivialtickets/mailgw/outbound"
)

// serve runs the daemon until ctx is cancelled (SIGINT or SIGTERM), then
// drains: it stops accepting, lets requests in flight finish and closes the
// store.
func serve(ctx context.Context, c Config, stdout, stderr io.Writer) error {
	c.applyRuntime()
	d, err := newDaemon(ctx, c, stdout, stderr)
	if err != nil {
		return err
	}
	defer d.close()
	return d.run(ctx)
}

// newDispatcher makes the relay dispatcher of outbound = "smtp".
func newDispatcher(c Config, svc *core.Service, domain, daemonID string, log *slog.Logger) (*outbound.Dispatcher, error) {
	r := c.Relay
	tc, err := clientTLS(r.Host, r.CAFile)
	if err != nil {
		return nil, fmt.Errorf("[relay]: %w", err)
	}
	hello := r.HelloName
	if hello == "" {
		hello = domain
	}
	relay := outbound.Relay{Host: r.Host, Port: r.Port, TLS: r.TLS, TLSConfig: tc,
		Username: r.Username, Password: r.Password, From: r.From, HelloName: hello}
	if r.OAuth.enabled() {
		src, err := r.OAuth.source()
		if err != nil {
			return nil, fmt.Errorf("[relay]: %w", err)
		}
		relay.OAuth2, relay.AuthMechanism = src, r.OAuth.mechanism()
	}
	d, err := outbound.New(outbound.Config{
		Outbox:     svc,
		Relay:      relay,
		LoopID:     svc.MessageIDDomain(),
		Owner:      daemonID,
		MaxAge:     r.RetryFor,
		MinBackoff: r.RetryMin,
		MaxBackoff: r.RetryMax,
		Logger:     log,
	})
	if err != nil {
		return nil, fmt.Errorf("[relay]: %w", err)
	}
	return d, nil
}

// statusBoard collects the informational lines of /healthz from the parts
// that run in the background.
type statusBoard struct {
	mu    sync.Mutex
	parts []func() string
}

func (b *statusBoard) add(f func() string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.parts = append(b.parts, f)
}

func (b *statusBoard) lines() []string {
	b.mu.Lock()
	parts := append([]func() string(nil), b.parts...)
	b.mu.Unlock()
	out := make([]string, len(parts))
	for i, f := range parts {
		out[i] = f()
	}
	return out
}

// dispatcherStatus is the /healthz line of the relay dispatcher.
func dispatcherStatus(d *outbound.Dispatcher) string {
	s := d.Stats()
	line := fmt.Sprintf("relay %s: %d sent, %d deferred, %d failed", d.Relay(), s.Sent, s.Deferred, s.Failed)
	if s.Unrecorded > 0 {
		line += fmt.Sprintf(", %d accepted by the relay but not yet recorded (sending paused)", s.Unrecorded)
	}
	if !s.LastSuccess.IsZero() {
		line += ", last delivery " + s.LastSuccess.UTC().Format(time.RFC3339)
	}
	if s.LastError != "" && s.LastErrorAt.After(s.LastSuccess) {
		line += fmt.Sprintf(", last error %s: %s", s.LastErrorAt.UTC().Format(time.RFC3339), s.LastError)
	}
	return line
}
