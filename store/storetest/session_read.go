package storetest

import (
	"reflect"

	"trivialtickets/core"
)

// svcSessionAgent: a session's agent is found through the store's
// one-statement read (core.SessionReader) as through a View, with the
// agent's current settings; an expired session, an unknown token, a
// logged-out session and the session of a deleted agent find nobody.
func svcSessionAgent(e *env) {
	t, ctx := e.t, e.t.Context()
	if _, ok := e.st.(core.SessionReader); !ok {
		t.Errorf("%T has no one-statement session read (core.SessionReader): every page would cost a transaction", e.st)
	}
	e.agent("bob", false)
	e.agent("carol", false)
	bob, _, err := e.svc.Login(ctx, "bob", "password-bob", "")
	e.must("login bob", err)
	carol, _, err := e.svc.Login(ctx, "carol", "password-carol", "")
	e.must("login carol", err)

	a, err := e.svc.SessionAgent(ctx, bob)
	e.must("SessionAgent(bob)", err)
	var want core.Agent
	view(t, e.st, func(tx core.Tx) error {
		var err error
		want, err = tx.Agent(ctx, "bob")
		return err
	})
	if !reflect.DeepEqual(a, want) {
		t.Errorf("SessionAgent(bob) = %+v, want %+v", a, want)
	}
	e.must("vacation", e.svc.SetVacation(ctx, "bob", true))
	if a, err := e.svc.SessionAgent(ctx, bob); err != nil || !a.Vacation || a.Username != "bob" {
		t.Errorf("SessionAgent after vacation = %+v, %v; want bob on vacation", a, err)
	}
	_, err = e.svc.SessionAgent(ctx, "no-such-token")
	wantErr(t, "SessionAgent(unknown token)", err, core.ErrNotFound)

	e.must("logout bob", e.svc.Logout(ctx, bob))
	_, err = e.svc.SessionAgent(ctx, bob)
	wantErr(t, "SessionAgent after logout", err, core.ErrNotFound)

	if a, err := e.svc.SessionAgent(ctx, carol); err != nil || a.Username != "carol" {
		t.Errorf("SessionAgent(carol) = %+v, %v", a, err)
	}
	e.clock.Advance(core.SessionLifetime)
	_, err = e.svc.SessionAgent(ctx, carol)
	wantErr(t, "SessionAgent of an expired session", err, core.ErrNotFound)

	dave := "dave"
	e.agent(dave, false)
	tok, _, err := e.svc.Login(ctx, dave, "password-dave", "")
	e.must("login dave", err)
	update(t, e.st, func(tx core.Tx) error { return tx.DeleteAgent(ctx, dave) })
	_, err = e.svc.SessionAgent(ctx, tok)
	wantErr(t, "SessionAgent of a deleted agent", err, core.ErrNotFound)
}
