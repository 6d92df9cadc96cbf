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
	"trivialtickets/mailgw/parse"
	"trivialtickets/mailgw/smtpin"
	"trivialtickets/store"
	"trivialtickets/webui"
	"trivialtickets/webui/mailapi"
)

// daemon is one run of `ticketd serve`: built part by part by newDaemon,
// then run until its context ends, then closed.
type daemon struct {
	c      Config
	log    *slog.Logger
	stdout io.Writer

	st        core.Store
	guard     *store.Guard
	svc       *core.Service
	met       *metrics
	lm        *listenerMetrics
	status    *statusBoard
	ln        net.Listener // the web port, with its limits
	publicURL string
	domain    string // the host name of publicURL: SMTP greeting, HELO to the relay
	id        string // names this daemon in leases
	spool     *parse.Spool
	tlsConfig *tls.Config
	certPath  string // the certificate in use when made by the daemon
	token     string // the Mail API token; empty when switched off
	firstUser string // the first agent, when this start made it
	firstPass string
	srv       *http.Server
	gateway   *smtpin.Server // nil without --smtp
	lmtp      *smtpin.Server // nil without --lmtp
	inq       *smtpin.Queue  // the durable inbound queue (inqueue.go)

	// jobs run in the background from run until the daemon stops; each
	// returns when its context ends.
	jobs []func(context.Context)
	// closers undo what the constructors opened, last first.
	closers []func()
}

// newDaemon builds the daemon of c: the store, the service, the listeners,
// the web server and the background jobs. On an error it closes what it
// opened.
func newDaemon(ctx context.Context, c Config, stdout, stderr io.Writer) (_ *daemon, err error) {
	d := &daemon{c: c, log: newLogger(c, stderr), stdout: stdout, status: &statusBoard{}, met: newMetrics()}
	d.lm = newListenerMetrics(d.met.reg)
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	steps := []func(*daemon, context.Context) error{
		(*daemon).openStore, (*daemon).listenWeb, (*daemon).startService, (*daemon).loadSecrets,
		(*daemon).ensureFirstAgent, (*daemon).newWebServer, (*daemon).addInboundQueue, (*daemon).listenSMTP, (*daemon).listenLMTP,
		(*daemon).addDispatcher, (*daemon).addPollers, (*daemon).addRetention,
	}
	for _, step := range steps {
		if err := step(d, ctx); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// onClose adds f to what close undoes.
func (d *daemon) onClose(f func()) { d.closers = append(d.closers, f) }

// close undoes the constructors, last first: listeners, then the store.
func (d *daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// openStore opens the store, warning about files others can read.
func (d *daemon) openStore(ctx context.Context) error {
	exposed := readableByOthers(d.c.Data)
	st, err := openStore(ctx, d.c)
	if err != nil {
		return err
	}
	d.st = st
	d.onClose(func() { st.Close() })
	warnExposedFiles(d.log, exposed, readableByOthers(d.c.Data))
	return nil
}

// listenWeb opens the web port; the public URL defaults from its address.
func (d *daemon) listenWeb(context.Context) error {
	ln, err := net.Listen("tcp", d.c.HTTP)
	if err != nil {
		return fmt.Errorf("setting http: listen on %s: %w", d.c.HTTP, err)
	}
	d.onClose(func() { ln.Close() })
	d.publicURL = d.c.publicURL(ln.Addr())
	d.domain = "localhost"
	if u, err := url.Parse(d.publicURL); err == nil && u.Hostname() != "" {
		d.domain = u.Hostname()
	}
	d.ln = d.lm.limit(d.met.reg, ln, connlimit.Config{Name: "http",
		MaxTotal: d.c.Limits.HTTPMaxConnections, MaxPerAddress: d.c.Limits.HTTPMaxPerAddress}, d.log.With("part", "http"))
	return nil
}

// startService makes the service over the store. Every transaction of the
// daemon's doors and workers has a time budget; /healthz sees failed
// writes. The outbox metrics read the service, so they come after it.
func (d *daemon) startService(context.Context) error {
	d.guard = store.NewGuard(d.st, d.c.StoreTimeout)
	d.svc = newService(d.guard, d.c, d.publicURL, d.met.observeReceive)
	d.met.addOutbox(d.svc)
	// On SQLite this daemon is the only one, so its name in leases stays
	// the same across restarts: after a crash it takes back at once what
	// its predecessor held instead of waiting for the leases to run out.
	d.id = newDaemonID()
	if d.c.Database == "" {
		d.id = "local"
	}
	spool, err := newSpool(d.c)
	if err != nil {
		return err
	}
	d.spool = spool
	return nil
}

// loadSecrets loads or makes the TLS certificate and the Mail API token.
func (d *daemon) loadSecrets(context.Context) error {
	if !d.c.NoTLS {
		cert, path, created, err := loadCertificate(d.c)
		if err != nil {
			return err
		}
		if created {
			d.log.Info("made a self-signed certificate", "file", path)
		}
		d.certPath = path
		d.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if d.c.NoAPIToken {
		d.log.Warn("the Mail API token check is switched off: anyone who reaches the port can read outgoing mail")
		return nil
	}
	token, created, err := loadOrCreateToken(d.c.Data)
	if err != nil {
		return err
	}
	if created {
		d.log.Info("made a Mail API token", "file", filepath.Join(d.c.Data, tokenFile))
	}
	d.token = token
	return nil
}

// ensureFirstAgent makes the first agent of an empty store.
func (d *daemon) ensureFirstAgent(ctx context.Context) error {
	user, password, created, err := d.svc.EnsureFirstAgent(ctx)
	if err != nil {
		return err
	}
	if created {
		d.firstUser, d.firstPass = user, password
	}
	return nil
}

// newWebServer makes the HTTP server of the pages and the Mail API.
func (d *daemon) newWebServer(ctx context.Context) error {
	limits := parse.DefaultLimits()
	limits.MaxSize = d.c.MaxMessageSize
	api := mailapi.LimitInFlight(mailapi.New(mailapi.Config{
		Service:      d.svc,
		Token:        d.token,
		MaxBodyBytes: d.c.MaxMessageSize,
		ParseRaw:     parseRaw(d.spool, limits),
		Logger:       d.log.With("part", "mailapi"),
	}), d.c.Limits.APIMaxRequestsAtOnce, 5*time.Second)
	metricsOnWeb, metricsToken, err := metricsOnWebPort(d.c, d.met.handler(), d.log)
	if err != nil {
		return err
	}
	handler, err := webui.New(webui.Config{
		Service: d.svc,
		Logger:  d.log.With("part", "webui"),
		Secure:  !d.c.NoTLS,
		MailAPI: api,
		Health:  d.guard.Health,
		Status:  d.status.lines,
		Metrics: metricsOnWeb,

		MetricsToken:     metricsToken,
		FormRate:         d.c.FormRate,
		APIRate:          d.c.APIRate,
		ObserveRequest:   d.met.observeRequest,
		ObservePageCache: d.met.observePageCache,
	})
	if err != nil {
		return err
	}
	d.srv = &http.Server{
		Handler:           handler,
		TLSConfig:         d.tlsConfig,
		ReadHeaderTimeout: d.c.Limits.HTTPHeaderTimeout,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       d.c.Limits.HTTPIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.With("part", "http").Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	return nil
}

// mailListen opens the SMTP and LMTP listeners without TCP keep-alive:
// keep-alive cost four setsockopt calls on every accepted connection (one
// message each, from most MTAs), and a peer that vanished is already let go
// by the gateway's own timeouts (smtpin.Config: the first command, then
// each command, and each write).
var mailListen = net.ListenConfig{KeepAlive: -1}

// listenSMTP opens the SMTP gateway (setting smtp) and starts serving it.
func (d *daemon) listenSMTP(context.Context) error {
	if d.c.SMTP == "" {
		return nil
	}
	ln, err := mailListen.Listen(context.Background(), "tcp", d.c.SMTP)
	if err != nil {
		return fmt.Errorf("setting smtp: listen on %s: %w", d.c.SMTP, err)
	}
	ln = d.lm.limit(d.met.reg, ln, connlimit.Config{Name: "smtp",
		MaxTotal: d.c.Limits.SMTPMaxConnections, MaxPerAddress: d.c.Limits.SMTPMaxPerAddress,
		RefuseTotal: smtpRefuseTotal, RefuseAddress: smtpRefuseAddress}, d.log.With("part", "smtp"))
	cfg := d.c.smtpConfig(d.svc, d.domain, d.spool, d.tlsConfig, false, d.log.With("part", "smtp"))
	cfg.Queue = d.inq
	d.gateway = smtpin.New(cfg)
	d.serveSMTP(d.gateway, ln, "SMTP gateway")
	fmt.Fprintf(d.stdout, "SMTP gateway:               %s (for %s)\n", ln.Addr(), strings.Join(d.c.SupportAddresses, ", "))
	return nil
}

// listenLMTP opens the LMTP door (setting lmtp, TCP or a Unix socket) and
// starts serving it.
func (d *daemon) listenLMTP(context.Context) error {
	if d.c.LMTP == "" {
		return nil
	}
	network, addr := "tcp", d.c.LMTP
	if path, ok := strings.CutPrefix(d.c.LMTP, "unix:"); ok {
		network, addr = "unix", path
		os.Remove(path) // a socket left by a daemon that did not stop cleanly
	}
	ln, err := mailListen.Listen(context.Background(), network, addr)
	if err != nil {
		return fmt.Errorf("setting lmtp: listen on %s: %w", d.c.LMTP, err)
	}
	if network == "unix" {
		if err := setSocketAccess(addr, d.c.LMTPSocketMode, d.c.LMTPSocketGroup); err != nil {
			ln.Close()
			return err
		}
	}
	ln = d.lm.limit(d.met.reg, ln, connlimit.Config{Name: "lmtp",
		MaxTotal: d.c.Limits.LMTPMaxConnections, MaxPerAddress: d.c.Limits.LMTPMaxPerAddress,
		RefuseTotal: smtpRefuseTotal, RefuseAddress: smtpRefuseAddress}, d.log.With("part", "lmtp"))
	cfg := d.c.smtpConfig(d.svc, d.domain, d.spool, nil, true, d.log.With("part", "lmtp"))
	cfg.Queue = d.inq
	d.lmtp = smtpin.New(cfg)
	d.serveSMTP(d.lmtp, ln, "LMTP server")
	fmt.Fprintf(d.stdout, "LMTP:                       %s\n", d.c.LMTP)
	return nil
}

// serveSMTP serves s on ln in the background until the daemon closes.
func (d *daemon) serveSMTP(s *smtpin.Server, ln net.Listener, name string) {
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			d.log.Error(name+" stopped", "err", err)
		}
	}()
	d.onClose(func() { s.Close() })
}

// addDispatcher adds the relay dispatcher of outbound = "smtp".
func (d *daemon) addDispatcher(context.Context) error {
	if d.c.Outbound != "smtp" {
		return nil
	}
	disp, err := newDispatcher(d.c, d.svc, d.domain, d.id, d.log.With("part", "outbound"))
	if err != nil {
		return err
	}
	d.met.addDispatcher(disp)
	d.status.add(func() string { return dispatcherStatus(disp) })
	d.jobs = append(d.jobs, func(ctx context.Context) { disp.Run(ctx) })
	fmt.Fprintf(d.stdout, "Outgoing mail:              through relay %s\n", disp.Relay())
	return nil
}

// addPollers adds one IMAP poller per [[imap]] table, each polling while
// this daemon holds the account's lease.
func (d *daemon) addPollers(context.Context) error {
	log := d.log.With("part", "imap")
	pollers, err := newPollers(d.c, d.svc, d.c.MaxMessageSize, log)
	if err != nil {
		return err
	}
	leases := d.leaser(d.log)
	for i, p := range pollers {
		d.met.addPoller(p, d.c.IMAP[i])
		var held atomic.Bool
		d.status.add(func() string { return pollerStatus(p, held.Load()) })
		name := d.c.IMAP[i].lease()
		d.jobs = append(d.jobs, func(ctx context.Context) {
			leases.run(ctx, name, held.Store, func(ctx context.Context) { p.Run(ctx) })
		})
		fmt.Fprintf(d.stdout, "IMAP account:               %s\n", p.Status().Account)
	}
	return nil
}

// addRetention adds the retention job of setting retention.
func (d *daemon) addRetention(context.Context) error {
	if d.c.Retention <= 0 {
		return nil
	}
	log := d.log.With("part", "retention")
	d.jobs = append(d.jobs, retentionJob(d.c.Retention, d.svc, d.met, d.leaser(log), log))
	fmt.Fprintf(d.stdout, "Retention:                  tickets closed for longer than %s are deleted\n", d.c.Retention)
	return nil
}

// leaser takes this daemon's leases in the store.
func (d *daemon) leaser(log *slog.Logger) *leaser {
	return newLeaser(d.svc, d.id, log)
}

// run starts the background jobs and the optional listeners, serves the
// web port until ctx ends (SIGINT or SIGTERM), then drains: it stops
// accepting, lets requests and SMTP sessions in flight finish, and stops
// the jobs before close closes the store.
func (d *daemon) run(ctx context.Context) error {
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	d.onClose(func() {
		stopWork()
		workers.Wait()
	})
	for _, job := range d.jobs {
		workers.Go(func() { job(work) })
	}
	d.printBanner()
	if err := d.listenExtra(); err != nil {
		return err
	}
	d.log.Info("serving", "listen", d.ln.Addr().String(), "public_url", d.publicURL, "tls", !d.c.NoTLS)
	errc := make(chan error, 1)
	go func() {
		if d.tlsConfig != nil {
			errc <- d.srv.ServeTLS(d.ln, "", "")
		} else {
			errc <- d.srv.Serve(d.ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	return d.shutdown()
}

// printBanner tells the operator where everything is, and the first
// agent's password once.
func (d *daemon) printBanner() {
	fmt.Fprintf(d.stdout, "Trivial Tickets %s\n", version)
	fmt.Fprintf(d.stdout, "Web interface and Mail API: %s/\n", d.publicURL)
	if d.certPath != "" && d.c.TLSCert == "" {
		fmt.Fprintf(d.stdout, "Self-signed certificate:    %s (trust it in ticketcli with --ca %s)\n", d.certPath, d.certPath)
	}
	if d.token != "" {
		fmt.Fprintf(d.stdout, "Mail API token:             in %s\n", filepath.Join(d.c.Data, tokenFile))
	}
	if d.firstUser != "" {
		fmt.Fprintf(d.stdout, "First agent:                user %q, password %q\n", d.firstUser, d.firstPass)
		fmt.Fprintf(d.stdout, "                            (shown once; change it with: ticketd user passwd %s)\n", d.firstUser)
	}
}

// listenExtra opens the debug and metrics listeners when asked for.
func (d *daemon) listenExtra() error {
	for _, x := range []struct {
		setting, addr, banner string
		h                     http.Handler
	}{
		{"debug-listen", d.c.DebugListen, "Debug profiles:             http://%s/debug/pprof/\n", debugHandler()},
		{"metrics-listen", d.c.MetricsListen, "Metrics:                    http://%s/metrics\n", metricsOnly(d.met.handler())},
	} {
		if x.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", x.addr)
		if err != nil {
			return fmt.Errorf("setting %s: listen on %s: %w", x.setting, x.addr, err)
		}
		srv := &http.Server{Handler: x.h, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		d.onClose(func() { srv.Close() })
		fmt.Fprintf(d.stdout, x.banner, ln.Addr())
	}
	return nil
}

// shutdown drains every door at once within the shutdown timeout:
// sessions in DATA finish their commit before their connection closes,
// and an idle SMTP session does not eat the HTTP requests' time.
func (d *daemon) shutdown() error {
	d.log.Info("shutting down: finishing requests in flight", "timeout", d.c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), d.c.ShutdownTimeout)
	defer cancel()
	var doors sync.WaitGroup
	for name, g := range map[string]*smtpin.Server{"SMTP gateway": d.gateway, "LMTP server": d.lmtp} {
		if g != nil {
			doors.Go(func() {
				if err := g.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
					d.log.Warn(name+" shutdown", "err", err)
				}
			})
		}
	}
	err := d.srv.Shutdown(sctx)
	doors.Wait()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	d.log.Info("stopped")
	return nil
}
