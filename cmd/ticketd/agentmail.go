package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"trivialtickets/core"
)

// defaultNotify is what an agent given an address is told of unless
// --notify says otherwise.
const defaultNotify = core.NotifyAssigned | core.NotifyReply

// optional is a string flag that knows whether it was given.
type optional struct {
	v   string
	set bool
}

func (o *optional) String() string     { return o.v }
func (o *optional) Set(v string) error { o.v, o.set = v, true; return nil }

// agentMailFlags are --email and --notify of "user add" and "user edit".
type agentMailFlags struct{ email, notify optional }

func (f *agentMailFlags) define(fs *flag.FlagSet) {
	fs.Var(&f.email, "email", `the agent's e-mail address for notifications and answers by mail; "" removes it (user add, user edit)`)
	fs.Var(&f.notify, "notify", "notifications by mail, comma-separated: new, assigned, reply, or none (user add, user edit)")
}

func (f agentMailFlags) given() bool { return f.email.set || f.notify.set }

// apply sets the agent's address and choices: what was not given stays as
// it was (a first address gets defaultNotify).
func (f agentMailFlags) apply(ctx context.Context, svc *core.Service, user string, stdout io.Writer) error {
	cur, err := svc.AgentMail(ctx, user)
	if err != nil {
		return err
	}
	email, notify := cur.Email, cur.Notify
	if cur.Email == "" {
		notify = defaultNotify
	}
	if f.email.set {
		email = f.email.v
	}
	if f.notify.set {
		if notify, err = core.ParseNotify(f.notify.v); err != nil {
			return fmt.Errorf("--notify: %w", err)
		}
	}
	if email == "" && f.notify.set && !f.email.set {
		return usageError(fmt.Sprintf("agent %s has no e-mail address: give one with --email", user))
	}
	if err := svc.SetAgentMail(ctx, user, email, notify); err != nil {
		return err
	}
	now, err := svc.AgentMail(ctx, user)
	if err != nil {
		return err
	}
	if now.Email == "" {
		fmt.Fprintf(stdout, "agent %s has no e-mail address now\n", user)
		return nil
	}
	fmt.Fprintf(stdout, "agent %s: e-mail %s, notified of %s\n", user, now.Email, now.Notify)
	return nil
}
