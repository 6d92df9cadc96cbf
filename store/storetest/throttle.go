package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"trivialtickets/core"
)

// svcLoginThrottle: the login throttle's rules on the store, so that every
// daemon on it throttles together: budgets per account at one address,
// per address and per account, a trusted browser's own budget, and what a
// success clears.
func svcLoginThrottle(e *env) {
	t, ctx := e.t, e.t.Context()
	type try struct {
		advance time.Duration // before the attempt
		user    string        // default alice
		client  string        // default 192.0.2.1
		right   bool          // the right password
		device  string        // the device token of an earlier success, by name
		n       int           // this many times (default 1)
		want    string        // "ok", "bad" or a wait such as "15m"
	}
	e.agent("alice", false)
	for i := range 30 {
		e.agent(fmt.Sprintf("u%d", i), false)
	}
	tests := []struct {
		name  string
		tries []try
	}{
		{"five wrong at one address lock the account there only", []try{
			{n: 5, want: "bad"}, {right: true, want: "15m"}, {client: "203.0.113.5", right: true, want: "ok"}}},
		{"the lockout runs out", []try{
			{n: 5, want: "bad"}, {advance: 10 * time.Minute, right: true, want: "5m"},
			{advance: 5 * time.Minute, right: true, want: "ok"}}},
		{"the second lockout is twice as long", []try{
			{n: 5, want: "bad"}, {advance: 16 * time.Minute, n: 5, want: "bad"}, {right: true, want: "30m"}}},
		{"a success clears the account's failures", []try{
			{n: 4, want: "bad"}, {right: true, want: "ok"}, {n: 4, want: "bad"}, {right: true, want: "ok"}}},
		{"one address guessing through many accounts is capped at 30", func() []try {
			var ts []try
			for i := range 30 {
				ts = append(ts, try{user: fmt.Sprintf("u%d", i), want: "bad"})
			}
			return append(ts, try{right: true, want: "15m"}, try{client: "203.0.113.5", right: true, want: "ok"})
		}()},
		{"an office behind one address logs in all day", []try{{right: true, n: 40, want: "ok"}}},
		{"a guess spread over addresses is capped per account, not for a trusted browser", func() []try {
			ts := []try{{client: "203.0.113.5", right: true, device: "home", want: "ok"}}
			for i := range 10 {
				ts = append(ts, try{client: fmt.Sprintf("198.51.100.%d", i), want: "bad"})
			}
			return append(ts, try{client: "203.0.113.9", right: true, want: "15m"},
				try{client: "203.0.113.5", right: true, device: "home", want: "ok"})
		}()},
		{"a trusted browser's own budget, then it counts as untrusted", func() []try {
			ts := []try{{right: true, device: "home", want: "ok"}, {device: "home", n: 5, want: "bad"}}
			for i := range 10 {
				ts = append(ts, try{client: fmt.Sprintf("198.51.100.%d", i), want: "bad"})
			}
			return append(ts, try{right: true, device: "home", want: "15m"})
		}()},
	}
	for _, tt := range tests {
		// A day apart, so that cases do not meet; every case is alice's.
		e.clock.Advance(48 * time.Hour)
		update(t, e.st, func(tx core.Tx) error { return tx.DeleteTrustedDevices(ctx, "alice") })
		devices := map[string]string{}
		for i, tr := range tt.tries {
			e.clock.Advance(tr.advance)
			for range max(tr.n, 1) {
				user, client := tr.user, tr.client
				if user == "" {
					user = "alice"
				}
				if client == "" {
					client = "192.0.2.1"
				}
				password := "wrong password"
				if tr.right {
					password = "password-" + user
				}
				at := core.LoginAttempt{Username: user, Password: password, Client: client, DeviceToken: devices[tr.device]}
				before := e.svc.PasswordChecks()
				res, err := e.svc.LoginThrottled(ctx, at)
				checked := e.svc.PasswordChecks() - before
				var thr *core.ThrottledError
				got := "ok"
				switch {
				case errors.As(err, &thr):
					got = thr.Wait.Round(time.Minute).String()
					got = got[:len(got)-2] // "15m0s" → "15m"
					if checked != 0 {
						t.Errorf("%s, try %d: a throttled login checked the password", tt.name, i)
					}
				case errors.Is(err, core.ErrBadCredentials):
					got = "bad"
				case err != nil:
					t.Fatalf("%s, try %d: %v", tt.name, i, err)
				default:
					if tr.device != "" && devices[tr.device] == "" {
						devices[tr.device] = res.DeviceToken
					}
					if res.DeviceToken == "" || res.Session == "" {
						t.Errorf("%s, try %d: login without session or device token: %+v", tt.name, i, res)
					}
				}
				if got != tr.want {
					t.Errorf("%s, try %d: got %s, want %s", tt.name, i, got, tr.want)
				}
			}
		}
	}

	// A new password ends the trust in the agent's browsers.
	e.clock.Advance(48 * time.Hour)
	res, err := e.svc.LoginThrottled(ctx, core.LoginAttempt{Username: "u1", Password: "password-u1", Client: "203.0.113.5"})
	e.must("login u1", err)
	e.must("set password", e.svc.SetPassword(ctx, "u1", "a new password"))
	if _, err := e.svc.LoginThrottled(ctx, core.LoginAttempt{Username: "u1", Password: "a new password",
		Client: "203.0.113.5", DeviceToken: res.DeviceToken}); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	var d core.TrustedDevice
	err = e.st.View(ctx, func(tx core.Tx) error {
		var err error
		d, err = tx.TrustedDevice(ctx, hashOf(res.DeviceToken))
		return err
	})
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("trusted device after a new password: %+v, %v; want ErrNotFound", d, err)
	}
}

// svcLoginThrottleParallel: 60 wrong passwords at once for one account
// from one address cost exactly the budget of 5 password checks; the
// others are refused before bcrypt runs. Two services on the store play
// two daemons.
func svcLoginThrottleParallel(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("alice", false)
	other := core.NewService(e.st, e.svc.Config())
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 60 {
		svc := e.svc
		if i%2 == 1 {
			svc = other
		}
		wg.Go(func() {
			_, err := svc.LoginThrottled(ctx, core.LoginAttempt{Username: "alice", Password: "guess", Client: "192.0.2.66"})
			kind := "other: " + fmt.Sprint(err)
			switch {
			case errors.Is(err, core.ErrThrottled):
				kind = "throttled"
			case errors.Is(err, core.ErrBadCredentials):
				kind = "bad"
			}
			mu.Lock()
			counts[kind]++
			mu.Unlock()
		})
	}
	wg.Wait()
	checks := e.svc.PasswordChecks() + other.PasswordChecks()
	if checks != 5 || counts["bad"] != 5 || counts["throttled"] != 55 {
		t.Errorf("60 parallel wrong logins: %d password checks, answers %v; want 5 checks, 5 bad, 55 throttled", checks, counts)
	}
}

// svcUnanswerableSender: mail from a sender that is not one valid address
// (several addresses, junk) makes a ticket without a customer address,
// marked unanswerable, and no mail ever goes to it.
func svcUnanswerableSender(e *env) {
	t, ctx := e.t, e.t.Context()
	e.agent("bob", false)
	for _, from := range []string{"a@evil.test,b@evil.test", `x"y,z@evil.test>@evil.test`, "a@evil.test b@evil.test"} {
		m := mail("Help", "Please answer")
		m.From = from
		res := e.receive(m)
		tk := e.ticket(res.TicketID)
		if tk.Customer != "" {
			t.Errorf("From %q: customer %q, want none", from, tk.Customer)
		}
		es := e.entries(res.TicketID, true)
		if len(es) != 2 || es[0].Author != from || !es[1].Internal || !containsAll(es[1].Text, "Unanswerable", from) {
			t.Errorf("From %q: entries %+v, want the mail and an internal note that it cannot be answered", from, es)
		}
		e.must("assign", e.svc.Assign(ctx, "bob", res.TicketID, "bob"))
		e.must("comment", e.svc.Save(ctx, "bob", res.TicketID, core.Change{Comment: "We answer", External: true}))
	}
	if ms := e.pending(); len(ms) != 0 {
		t.Errorf("outbox: %+v, want no mail to an unanswerable sender", ms)
	}
}

// svcAutoReplyLimitVariants: the cap on automatic mails counts the
// mailbox, not the spelling: case and +tag variants of one address share
// it.
func svcAutoReplyLimitVariants(e *env) {
	t := e.t
	for _, from := range []string{"Alice+1@example.com", "alice+2@EXAMPLE.com", "ALICE@example.com", "alice@example.com", "aLiCe+x@example.com"} {
		m := mail("Help", "Please answer")
		m.From = from
		e.receive(m)
	}
	if ms := e.pending(); len(ms) != 3 {
		t.Errorf("confirmations to variants of one address: %d, want the cap of 3", len(ms))
	}
	m := mail("Help", "Please answer")
	m.From = "bob@example.com"
	e.receive(m)
	if ms := e.pending(); len(ms) != 4 {
		t.Errorf("confirmations after another address wrote: %d, want 4", len(ms))
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// hashOf is the stored hash of a token (core's hashToken).
func hashOf(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
