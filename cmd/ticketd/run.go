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
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"trivialtickets/core"
	"trivialtickets/store/postgres"
	"trivialtickets/store/sqlite"
	"trivialtickets/webui/mailapi"
)

// run is the whole program behind main, callable from tests. It returns the
// exit code: 0 for success, 1 for failure, 2 for bad usage.
func run(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var name, to string
	var mail agentMailFlags
	c, cmd, err := loadConfig(args, env, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "display name of the agent (user add)")
		fs.StringVar(&to, "to", "", "PostgreSQL URL of the empty database to copy the data directory into (migrate-store)")
		mail.define(fs)
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
		err = userCommand(ctx, c, cmd[1:], name, mail, stdin, stdout, stderr)
	case cmd[0] == "migrate-store" && len(cmd) == 1:
		err = migrateStore(ctx, c, to, stdout)
	case cmd[0] == "backup":
		err = backupCommand(ctx, c, cmd[1:], stdout)
	case cmd[0] == "restore":
		err = restoreCommand(ctx, c, cmd[1:], stdout)
	case cmd[0] == "customer":
		err = customerCommand(ctx, c, cmd[1:], stdout)
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
	if err := secureDataDir(c.Data, c.Database == ""); err != nil {
		return nil, err
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
	var mailboxes []core.Mailbox
	for _, mb := range c.Mailboxes {
		mailboxes = append(mailboxes, core.Mailbox{Address: mb.Address, Name: mb.Name})
	}
	return core.NewService(st, core.Config{
		Mailboxes:        mailboxes,
		PublicURL:        publicURL,
		SupportAddresses: c.SupportAddresses,
		FromAddress:      c.FromAddress,
		AutoReplyLimit:   c.AutoReplyLimit,
		RelayOutbound:    c.Outbound == "smtp",
		OnReceive:        onReceive,
		DefaultTimeZone:  c.TimeZone,
		ListMail:         mailapi.ListMail,
	})
}

// newLogger makes the daemon's logger. Ticket ids are the customers' keys
// to their tickets, so log lines name a ticket by the first characters of
// its id only: enough to tell tickets apart in a log, too few to open one.
func newLogger(c Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: shortTicketIDs}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// shortTicketIDs shortens the value of every "ticket" attribute that is a
// ticket id to its first 4 characters and "…".
func shortTicketIDs(_ []string, a slog.Attr) slog.Attr {
	if a.Key != "ticket" || a.Value.Kind() != slog.KindString {
		return a
	}
	if id := a.Value.String(); core.ValidTicketID(id) {
		return slog.String(a.Key, id[:4]+"…")
	}
	return a
}

// userCommand runs "ticketd user add|list|passwd|remove".
func userCommand(ctx context.Context, c Config, args []string, name string, mail agentMailFlags, stdin io.Reader, stdout, stderr io.Writer) error {
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
		mails, err := svc.AgentMails(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tNAME\tVACATION\tSINCE\tE-MAIL\tNOTIFY")
		for _, a := range as {
			vac := "no"
			if a.Vacation {
				vac = "yes"
			}
			email, notify := "-", "-"
			if i := slices.IndexFunc(mails, func(m core.AgentMail) bool { return m.Username == a.Username }); i >= 0 {
				email, notify = mails[i].Email, mails[i].Notify.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Username, a.Name, vac, a.CreatedAt.Format("2006-01-02"), email, notify)
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
		if mail.given() {
			return mail.apply(ctx, svc, user, stdout)
		}
	case "edit":
		user, err := needName()
		if err != nil {
			return err
		}
		if !mail.given() {
			return usageError("usage: ticketd user edit NAME [--email ADDRESS] [--notify new,assigned,reply]")
		}
		return mail.apply(ctx, svc, user, stdout)
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
		return usageError(fmt.Sprintf("unknown user command %q: use add, edit, list, passwd or remove", args[0]))
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
