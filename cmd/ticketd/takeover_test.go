//go:build linux

package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"trivialtickets/mailgw/dovecottest"
	"trivialtickets/store/postgres/pgtest"
	"trivialtickets/webui/mailapi/client"
	"trivialtickets/webui/mailapi/wire"
)

// TestIMAPTakeoverAfterKill runs two daemon processes on one PostgreSQL
// database with the same Dovecot account and SIGKILLs the one that polls
// it: it cannot give the lease back, so the other takes over when the lease
// runs out (15 s) and ingests the mail that arrived meanwhile. The Mail API
// answers the same on both: a ticket made through one is fetched and
// verified through the other.
func TestIMAPTakeoverAfterKill(t *testing.T) {
	dove := dovecottest.Start(t)
	db := pgtest.Start(t).NewDatabase(t)
	args := []string{"--config", dovecotConfig(t, dove, ""), "--database", db, "--no-api-token", "--support-address", "help@help.example"}
	a := startCrashDaemon(t, args...)
	b := startCrashDaemon(t, args...)
	hc := &http.Client{Timeout: 5 * time.Second}
	apiA, apiB := client.New(a.url(), "", hc), client.New(b.url(), "", hc)

	// The Mail API across daemons.
	res, err := apiA.Receive(t.Context(), wire.ReceiveRequest{From: "api@example.org", Subject: "Via A", Message: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	mails, err := apiB.FetchMails(t.Context())
	if err != nil || len(mails) != 1 || mails[0].To != "api@example.org" || !strings.Contains(mails[0].Message, res.TicketID) {
		t.Fatalf("fetch through B: %+v, %v", mails, err)
	}
	if ok, err := apiB.VerifyMail(t.Context(), mails[0].ID); !ok || err != nil {
		t.Fatalf("verify through B: %v, %v", ok, err)
	}
	if ms, err := apiA.FetchMails(t.Context()); err != nil || len(ms) != 0 {
		t.Fatalf("fetch through A after B verified: %+v, %v", ms, err)
	}

	pending := func(api *client.Client, addr string) bool { return hasMailTo(t, api, addr) }
	holder, other := a, apiB
	if waitForPoller(t, a.url(), b.url(), 30*time.Second) == 1 {
		holder, other = b, apiA
	}
	appendMail(t, dove, "first@example.org", "Printer", "kill-1@example.org")
	waitUntil(t, "the first mail is a ticket", 10*time.Second, func() bool { return pending(other, "first@example.org") })

	holder.killGroup()
	appendMail(t, dove, "second@example.org", "Scanner", "kill-2@example.org")
	took := waitUntil(t, "the other daemon takes over", 45*time.Second, func() bool { return pending(other, "second@example.org") })
	t.Logf("after SIGKILL of the holder, the other daemon ingested the next mail in %s", took.Round(100*time.Millisecond))
	if _, n := mailboxCounts(t, dove); n != 2 {
		t.Errorf("Processed holds %d mails, want 2", n)
	}
}
