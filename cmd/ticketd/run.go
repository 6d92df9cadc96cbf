package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"trivialtickets/core"
	"trivialtickets/store/postgres"
	"trivialtickets/store/sqlite"
)

// run is the whole program behind main, callable from tests. It returns the
// exit code: 0 for success, 1 for failure, 2 for bad usage.
func run(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var name, to string
	c, cmd, err := loadConfig(args, env, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "display name of the agent (user add)")
		fs.StringVar(&to, "to", "", "PostgreSQL URL of the empty database to copy the data directory into (migrate-store)")
	})
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ticketd: %v\n", err)
		return 2
	}
	if len(cmd) == 0 {
		cmd = []string{"serve"}
	}
	switch {
	case cmd[0] == "serve" && len(cmd) == 1:
		err = serve(ctx, c, stdout, stderr)
	case cmd[0] == "version" && len(cmd) == 1:
		fmt.Fprintf(stdout, "ticketd %s\n", version)
	case cmd[0] == "user" && len(cmd) >= 2:
		err = userCommand(ctx, c, cmd[1:], name, stdin, stdout, stderr)
	case cmd[0] == "migrate-store" && len(cmd) == 1:
		err = migrateStore(ctx, c, to, stdout)
	default:
		fmt.Fprintf(stderr, "ticketd: unknown command %q; see ticketd --help\n", strings.Join(cmd, " "))
		return 2
	}
	if err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintf(stderr, "ticketd: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "ticketd: %v\n", err)
		return 1
	}
	return 0
}

type usageError string

func (e usageError) Error() string { return string(e) }

// openStore opens the configured store, creating the data directory.
func openStore(ctx context.Context, c Config) (core.Store, error) {
	// The data directory also holds the certificate and the token.
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if c.Database != "" {
		st, err := postgres.Open(ctx, c.Database)
		if err != nil {
			return nil, fmt.Errorf("setting database: open %s: %w", redactURL(c.Database), err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, filepath.Join(c.Data, dbFile))
	if err != nil {
		return nil, fmt.Errorf("open database in %s: %w", c.Data, err)
	}
	return st, nil
}

func newService(st core.Store, c Config, publicURL string, onReceive func(string, core.ReceiveResult, error)) *core.Service {
	return core.NewService(st, core.Config{
		PublicURL:        publicURL,
		SupportAddresses: c.SupportAddresses,
		FromAddress:      c.FromAddress,
		AutoReplyLimit:   c.AutoReplyLimit,
		RelayOutbound:    c.Outbound == "smtp",
		OnReceive:        onReceive,
		DefaultTimeZone:  c.TimeZone,
	})
}

func newLogger(c Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// userCommand runs "ticketd user add|list|passwd|remove".
func userCommand(ctx context.Context, c Config, args []string, name string, stdin io.Reader, stdout, stderr io.Writer) error {
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := newService(st, c, "", nil)
	needName := func() (string, error) {
		if len(args) != 2 {
			return "", usageError(fmt.Sprintf("usage: ticketd user %s NAME", args[0]))
		}
		return args[1], nil
	}
	switch args[0] {
	case "list":
		as, err := svc.Agents(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tNAME\tVACATION\tSINCE")
		for _, a := range as {
			vac := "no"
			if a.Vacation {
				vac = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Username, a.Name, vac, a.CreatedAt.Format("2006-01-02"))
		}
		return tw.Flush()
	case "add":
		user, err := needName()
		if err != nil {
			return err
		}
		pw, err := readPassword(stdin, stderr, "Password for "+user)
		if err != nil {
			return err
		}
		if err := svc.AddAgent(ctx, user, name, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added agent %s\n", user)
	case "passwd":
		user, err := needName()
		if err != nil {
			return err
		}
		if _, err := svc.Agent(ctx, user); err != nil {
			return fmt.Errorf("no agent %q: %w", user, err)
		}
		pw, err := readPassword(stdin, stderr, "New password for "+user)
		if err != nil {
			return err
		}
		if err := svc.SetPassword(ctx, user, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed; their sessions ended\n", user)
	case "remove":
		user, err := needName()
		if err != nil {
			return err
		}
		if err := svc.RemoveAgent(ctx, user); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed agent %s; their tickets are unassigned\n", user)
	default:
		return usageError(fmt.Sprintf("unknown user command %q: use add, list, passwd or remove", args[0]))
	}
	return nil
}

// readPassword asks twice on a terminal; otherwise it reads one line from
// stdin, so that scripts can pipe a password in. Passwords are never flags:
// those show up in process lists and shell histories.
func readPassword(stdin io.Reader, prompt io.Writer, what string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(prompt, "%s: ", what)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprintf(prompt, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ; nothing changed")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on standard input: pipe it in, e.g. echo 'secret-pass' | ticketd user add NAME")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
