package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/connlimit"
	"trivialtickets/mailgw/outbound"
	"trivialtickets/mailgw/parse"
	"trivialtickets/mailgw/smtpin"
	"trivialtickets/store"
	"trivialtickets/webui"
	"trivialtickets/webui/mailapi"
)

// serve runs the daemon until ctx is cancelled (SIGINT or SIGTERM), then
// drains: it stops accepting, lets requests in flight finish and closes the
// store.
func serve(ctx context.Context, c Config, stdout, stderr io.Writer) error {
	log := newLogger(c, stderr)
	exposed := readableByOthers(c.Data)
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	warnExposedFiles(log, exposed, readableByOthers(c.Data))

	ln, err := net.Listen("tcp", c.HTTP)
	if err != nil {
		return fmt.Errorf("setting http: listen on %s: %w", c.HTTP, err)
	}
	defer ln.Close()
	publicURL := c.publicURL(ln.Addr())
	var svc *core.Service
	met := newMetrics(func() *core.Service { return svc })
	lm := newListenerMetrics(met.reg)
	ln = lm.limit(met.reg, ln, connlimit.Config{Name: "http",
		MaxTotal: c.Limits.HTTPMaxConnections, MaxPerAddress: c.Limits.HTTPMaxPerAddress}, log.With("part", "http"))
	// Every transaction of the daemon's doors and workers has a time
	// budget; /healthz sees failed writes.
	guard := store.NewGuard(st, c.StoreTimeout)
	svc = newService(guard, c, publicURL, met.observeReceive)

	var tlsConfig *tls.Config
	var certPath string
	if !c.NoTLS {
		cert, path, created, err := loadCertificate(c)
		if err != nil {
			return err
		}
		if created {
			log.Info("made a self-signed certificate", "file", path)
		}
		certPath = path
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	token := ""
	if !c.NoAPIToken {
		var created bool
		token, created, err = loadOrCreateToken(c.Data)
		if err != nil {
			return err
		}
		if created {
			log.Info("made a Mail API token", "file", filepath.Join(c.Data, tokenFile))
		}
	} else {
		log.Warn("the Mail API token check is switched off: anyone who reaches the port can read outgoing mail")
	}

	user, password, created, err := svc.EnsureFirstAgent(ctx)
	if err != nil {
		return err
	}

	spool, err := newSpool(c)
	if err != nil {
		return err
	}
	limits := parse.DefaultLimits()
	limits.MaxSize = c.MaxMessageSize
	api := mailapi.LimitInFlight(mailapi.New(mailapi.Config{
		Service:      svc,
		Token:        token,
		MaxBodyBytes: c.MaxMessageSize,
		ParseRaw:     parseRaw(spool, limits),
		Logger:       log.With("part", "mailapi"),
	}), c.Limits.APIMaxRequestsAtOnce, 5*time.Second)
	status := &statusBoard{}
	metricsOnWeb, metricsToken, err := metricsOnWebPort(c, met.handler(), log)
	if err != nil {
		return err
	}
	handler, err := webui.New(webui.Config{
		Service: svc,
		Logger:  log.With("part", "webui"),
		Secure:  !c.NoTLS,
		MailAPI: api,
		Health:  guard.Health,
		Status:  status.lines,
		Metrics: metricsOnWeb,

		MetricsToken:   metricsToken,
		FormRate:       c.FormRate,
		APIRate:        c.APIRate,
		ObserveRequest: met.observeRequest,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: c.Limits.HTTPHeaderTimeout,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       c.Limits.HTTPIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.With("part", "http").Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	domain := "localhost"
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		domain = u.Hostname()
	}
	var gateway, lmtp *smtpin.Server
	if c.SMTP != "" {
		sln, err := net.Listen("tcp", c.SMTP)
		if err != nil {
			return fmt.Errorf("setting smtp: listen on %s: %w", c.SMTP, err)
		}
		sln = lm.limit(met.reg, sln, connlimit.Config{Name: "smtp",
			MaxTotal: c.Limits.SMTPMaxConnections, MaxPerAddress: c.Limits.SMTPMaxPerAddress,
			RefuseTotal: smtpRefuseTotal, RefuseAddress: smtpRefuseAddress}, log.With("part", "smtp"))
		gateway = smtpin.New(c.smtpConfig(svc, domain, spool, tlsConfig, false, log.With("part", "smtp")))
		go func() {
			if err := gateway.Serve(sln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				log.Error("SMTP gateway stopped", "err", err)
			}
		}()
		defer gateway.Close()
		fmt.Fprintf(stdout, "SMTP gateway:               %s (for %s)\n", sln.Addr(), strings.Join(c.SupportAddresses, ", "))
	}

	if c.LMTP != "" {
		network, addr := "tcp", c.LMTP
		if path, ok := strings.CutPrefix(c.LMTP, "unix:"); ok {
			network, addr = "unix", path
			os.Remove(path) // a socket left by a daemon that did not stop cleanly
		}
		lln, err := net.Listen(network, addr)
		if err != nil {
			return fmt.Errorf("setting lmtp: listen on %s: %w", c.LMTP, err)
		}
		if network == "unix" {
			if err := setSocketAccess(addr, c.LMTPSocketMode, c.LMTPSocketGroup); err != nil {
				lln.Close()
				return err
			}
		}
		lln = lm.limit(met.reg, lln, connlimit.Config{Name: "lmtp",
			MaxTotal: c.Limits.LMTPMaxConnections, MaxPerAddress: c.Limits.LMTPMaxPerAddress,
			RefuseTotal: smtpRefuseTotal, RefuseAddress: smtpRefuseAddress}, log.With("part", "lmtp"))
		lmtp = smtpin.New(c.smtpConfig(svc, domain, spool, nil, true, log.With("part", "lmtp")))
		go func() {
			if err := lmtp.Serve(lln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				log.Error("LMTP server stopped", "err", err)
			}
		}()
		defer lmtp.Close()
		fmt.Fprintf(stdout, "LMTP:                       %s\n", c.LMTP)
	}

	// Background workers stop when work is cancelled, before the store
	// closes. id names this daemon in leases (outbox claims, IMAP
	// accounts). On SQLite this daemon is the only one, so its name stays
	// the same across restarts: after a crash it takes back at once what
	// its predecessor held instead of waiting for the leases to run out.
	id := newDaemonID()
	if c.Database == "" {
		id = "local"
	}
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	defer workers.Wait()
	defer stopWork()
	if c.Outbound == "smtp" {
		d, err := newDispatcher(c, svc, domain, id, log.With("part", "outbound"))
		if err != nil {
			return err
		}
		met.addDispatcher(d)
		status.add(func() string { return dispatcherStatus(d) })
		workers.Go(func() { d.Run(work) })
		fmt.Fprintf(stdout, "Outgoing mail:              through relay %s\n", d.Relay())
	}

	pollers, err := newPollers(c, svc, c.MaxMessageSize, log.With("part", "imap"))
	if err != nil {
		return err
	}
	for i, p := range pollers {
		met.addPoller(p, c.IMAP[i])
		var held atomic.Bool
		status.add(func() string { return pollerStatus(p, held.Load()) })
		lease := c.IMAP[i].lease()
		workers.Go(func() {
			runLeased(work, svc, lease, id, log, held.Store, func(ctx context.Context) { p.Run(ctx) })
		})
		fmt.Fprintf(stdout, "IMAP account:               %s\n", p.Status().Account)
	}

	if c.Retention > 0 {
		startRetention(work, &workers, c, svc, met, id, log.With("part", "retention"))
		fmt.Fprintf(stdout, "Retention:                  tickets closed for longer than %s are deleted\n", c.Retention)
	}

	fmt.Fprintf(stdout, "Trivial Tickets %s\n", version)
	fmt.Fprintf(stdout, "Web interface and Mail API: %s/\n", publicURL)
	if certPath != "" && c.TLSCert == "" {
		fmt.Fprintf(stdout, "Self-signed certificate:    %s (trust it in ticketcli with --ca %s)\n", certPath, certPath)
	}
	if token != "" {
		fmt.Fprintf(stdout, "Mail API token:             in %s\n", filepath.Join(c.Data, tokenFile))
	}
	if created {
		fmt.Fprintf(stdout, "First agent:                user %q, password %q\n", user, password)
		fmt.Fprintf(stdout, "                            (shown once; change it with: ticketd user passwd %s)\n", user)
	}
	if c.DebugListen != "" {
		dln, err := net.Listen("tcp", c.DebugListen)
		if err != nil {
			return fmt.Errorf("setting debug-listen: listen on %s: %w", c.DebugListen, err)
		}
		dsrv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go dsrv.Serve(dln)
		defer dsrv.Close()
		fmt.Fprintf(stdout, "Debug profiles:             http://%s/debug/pprof/\n", dln.Addr())
	}
	if c.MetricsListen != "" {
		mln, err := net.Listen("tcp", c.MetricsListen)
		if err != nil {
			return fmt.Errorf("setting metrics-listen: listen on %s: %w", c.MetricsListen, err)
		}
		msrv := &http.Server{Handler: metricsOnly(met.handler()), ReadHeaderTimeout: 10 * time.Second}
		go msrv.Serve(mln)
		defer msrv.Close()
		fmt.Fprintf(stdout, "Metrics:                    http://%s/metrics\n", mln.Addr())
	}
	log.Info("serving", "listen", ln.Addr().String(), "public_url", publicURL, "tls", !c.NoTLS)

	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	// All doors drain at once: sessions in DATA finish their commit
	// before their connection closes, and an idle SMTP session does not
	// eat the HTTP requests' time.
	var doors sync.WaitGroup
	for name, g := range map[string]*smtpin.Server{"SMTP gateway": gateway, "LMTP server": lmtp} {
		if g != nil {
			doors.Go(func() {
				if err := g.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
					log.Warn(name+" shutdown", "err", err)
				}
			})
		}
	}
	err = srv.Shutdown(sctx)
	doors.Wait()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
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
