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
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/mailgw/parse"
	"trivialtickets/mailgw/smtpin"
	"trivialtickets/webui"
	"trivialtickets/webui/mailapi"
)

// serve runs the daemon until ctx is cancelled (SIGINT or SIGTERM), then
// drains: it stops accepting, lets requests in flight finish and closes the
// store.
func serve(ctx context.Context, c Config, stdout, stderr io.Writer) error {
	log := newLogger(c, stderr)
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", c.HTTP)
	if err != nil {
		return fmt.Errorf("setting http: listen on %s: %w", c.HTTP, err)
	}
	defer ln.Close()
	publicURL := c.publicURL(ln.Addr())
	svc := newService(st, c, publicURL)

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

	limits := parse.DefaultLimits()
	limits.MaxSize = c.MaxMessageSize
	api := mailapi.New(mailapi.Config{
		Service:      svc,
		Token:        token,
		MaxBodyBytes: c.MaxMessageSize,
		ParseRaw:     func(r io.Reader) (core.InboundMessage, error) { return parse.Parse(r, limits) },
		Logger:       log.With("part", "mailapi"),
	})
	handler, err := webui.New(webui.Config{
		Service: svc,
		Logger:  log.With("part", "webui"),
		Secure:  !c.NoTLS,
		MailAPI: api,
		Health:  svc.Check,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.With("part", "http").Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	var gateway *smtp.Server
	if c.SMTP != "" {
		sln, err := net.Listen("tcp", c.SMTP)
		if err != nil {
			return fmt.Errorf("setting smtp: listen on %s: %w", c.SMTP, err)
		}
		domain := "localhost"
		if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
			domain = u.Hostname()
		}
		gateway = smtpin.New(smtpin.Config{
			Service:         svc,
			Domain:          domain,
			MaxMessageBytes: c.MaxMessageSize,
			TLSConfig:       tlsConfig,
			Logger:          log.With("part", "smtp"),
		})
		go func() {
			if err := gateway.Serve(sln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				log.Error("SMTP gateway stopped", "err", err)
			}
		}()
		defer gateway.Close()
		fmt.Fprintf(stdout, "SMTP gateway:               %s (for %s)\n", sln.Addr(), strings.Join(c.SupportAddresses, ", "))
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
	if gateway != nil {
		// Sessions in DATA finish their commit before the connection closes.
		if err := gateway.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Warn("SMTP gateway shutdown", "err", err)
		}
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
