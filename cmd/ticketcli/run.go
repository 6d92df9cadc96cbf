package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"trivialtickets/webui/mailapi/client"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the server or the connection failed
	exitUsage = 2 // wrong command line
)

// defaultTokenFile is where ticketd keeps the Mail API token, relative to
// the directory ticketd runs in (its default data directory ./data).
const defaultTokenFile = "data/mailapi-token"

const usageText = `ticketcli plays a mail service against the Mail API of a Trivial Tickets daemon.

Usage:
  ticketcli [options]                         interactive menu on stdin/stdout
  ticketcli [options] submit --from ADDR --subject S --message M [--ticket ID]
  ticketcli [options] submit --eml FILE
  ticketcli [options] fetch [--no-verify]

Commands:
  submit   hand a customer message to the daemon (POST /api/receive).
           --from ADDR      the customer's e-mail address
           --subject S      the subject line
           --message M      the text; "-" reads it from standard input
           --ticket ID      answer ticket ID: puts the reply tag [Ticket "ID"]
                            before the subject (unless it is there already);
                            the ticket's link works as ID too
           --eml FILE       send a whole raw RFC 5322 message instead
                            (Content-Type message/rfc822); "-" = standard input
           Prints "Created ticket <id>" or "Added to ticket <id>" and the link.
  fetch    print every pending outgoing mail (GET /api/fetchMails), then
           confirm each as sent (POST /api/verifyMail).
           --no-verify      only print, confirm nothing

  Without a command, a menu offers: 1 submit a message, 2 fetch and confirm
  mails, 3 fetch only, 4 quit. It reads one answer per line, so it can be
  driven through a pipe; a message ends with a line holding only ".".

Options (before or after the command):
  --server URL      the daemon (default https://localhost:8443; or $TICKETCLI_SERVER)
  --token T         the Mail API token
  --token-file FILE read the token from FILE
  --ca FILE         trust the certificate(s) in PEM FILE, e.g. the daemon's
                    self-signed data/cert.pem
  --insecure        do not check the server's certificate (tests only)
  --timeout D       give up on a request after D (default 1m)
  --help            this text

The token is taken from --token, else --token-file, else $TICKETCLI_TOKEN,
else ./data/mailapi-token if that file exists (the daemon's default data
directory, so running ticketcli where ticketd runs just works). Without any,
no token is sent (for daemons whose token check is switched off).

Exit status: 0 success, 1 the request failed (the server's message is
printed as "ticketcli: ..."), 2 wrong usage.
`

// options are the settings every command shares.
type options struct {
	server    string
	token     string
	tokenFile string
	ca        string
	insecure  bool
	timeout   time.Duration
}

// register adds the shared options to flags, so that they work before and
// after the command.
func (o *options) register(flags *flag.FlagSet) {
	flags.StringVar(&o.server, "server", o.server, "daemon base URL")
	flags.StringVar(&o.token, "token", o.token, "Mail API token")
	flags.StringVar(&o.tokenFile, "token-file", o.tokenFile, "file holding the Mail API token")
	flags.StringVar(&o.ca, "ca", o.ca, "PEM file with certificates to trust")
	flags.BoolVar(&o.insecure, "insecure", o.insecure, "do not check the server certificate")
	flags.DurationVar(&o.timeout, "timeout", o.timeout, "timeout per request")
}

// usageError is a wrong command line; it exits with 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// app is one run of the program.
type app struct {
	opts   options
	api    *client.Client
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run is the whole program: it parses args, runs the command and returns
// the exit code. Tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	a.opts = options{server: "https://localhost:8443", timeout: time.Minute}
	if s := os.Getenv("TICKETCLI_SERVER"); s != "" {
		a.opts.server = s
	}
	flags := newFlagSet("ticketcli")
	a.opts.register(flags)
	rest, err := parseFlags(flags, args)
	if err != nil {
		return a.exit(err)
	}
	cmd, cmdArgs := "", []string(nil)
	if len(rest) > 0 {
		cmd, cmdArgs = rest[0], rest[1:]
	}
	switch cmd {
	case "":
		err = a.connectThen(func() error { return a.menu(ctx) })
	case "submit":
		err = a.submitCommand(ctx, cmdArgs)
	case "fetch":
		err = a.fetchCommand(ctx, cmdArgs)
	case "help":
		fmt.Fprint(stdout, usageText)
	default:
		err = usagef("unknown command %q: use submit or fetch (or none for the menu)", cmd)
	}
	return a.exit(err)
}

// newFlagSet returns a flag set that reports instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// errHelp asks for the usage text on stdout.
var errHelp = errors.New("help")

// parseFlags parses args with flags and returns the arguments left over.
func parseFlags(flags *flag.FlagSet, args []string) ([]string, error) {
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, &usageError{msg: err.Error()}
	}
	return flags.Args(), nil
}

// exit prints err as one line and maps it to the exit code.
func (a *app) exit(err error) int {
	var ue *usageError
	var apiErr *client.APIError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errReported):
		return exitError
	case errors.Is(err, errHelp):
		fmt.Fprint(a.stdout, usageText)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "ticketcli: %s\nRun \"ticketcli --help\" for usage.\n", ue.msg)
		return exitUsage
	case errors.As(err, &apiErr):
		fmt.Fprintf(a.stderr, "ticketcli: %s\n", apiErr.Error())
		return exitError
	}
	fmt.Fprintf(a.stderr, "ticketcli: %s\n", describe(err))
	return exitError
}

// describe adds a hint to errors whose cure is an option.
func describe(err error) string {
	msg := err.Error()
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var cv *tls.CertificateVerificationError
	if errors.As(err, &ua) || errors.As(err, &cv) || errors.As(err, &hn) {
		msg += " (trust the daemon's certificate with --ca FILE, or use --insecure for tests)"
	}
	return msg
}

// connectThen makes the API client from the options and calls fn.
func (a *app) connectThen(fn func() error) error {
	if a.opts.ca != "" && a.opts.insecure {
		return usagef("use either --ca or --insecure, not both")
	}
	if a.opts.token != "" && a.opts.tokenFile != "" {
		return usagef("use either --token or --token-file, not both")
	}
	if !strings.HasPrefix(a.opts.server, "https://") && !strings.HasPrefix(a.opts.server, "http://") {
		return usagef("--server %q: give a URL like https://localhost:8443", a.opts.server)
	}
	token, err := a.resolveToken()
	if err != nil {
		return err
	}
	hc, err := client.HTTPClient(a.opts.ca, a.opts.insecure, a.opts.timeout)
	if err != nil {
		return err
	}
	a.api = client.New(a.opts.server, token, hc)
	return fn()
}

// resolveToken finds the token: --token, --token-file, $TICKETCLI_TOKEN,
// ./data/mailapi-token, or none.
func (a *app) resolveToken() (string, error) {
	if a.opts.token != "" {
		return a.opts.token, nil
	}
	if a.opts.tokenFile != "" {
		b, err := os.ReadFile(a.opts.tokenFile)
		if err != nil {
			return "", fmt.Errorf("read token file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := strings.TrimSpace(os.Getenv("TICKETCLI_TOKEN")); t != "" {
		return t, nil
	}
	b, err := os.ReadFile(defaultTokenFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
