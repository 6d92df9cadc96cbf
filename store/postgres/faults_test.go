package postgres

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/store/postgres/pgtest"
)

// countTickets reads in a View, the smallest transaction a request makes.
func countTickets(ctx context.Context, st *Store) error {
	return st.View(ctx, func(tx core.Tx) error {
		_, err := tx.CountTickets(ctx, core.TicketQuery{})
		return err
	})
}

// TestOpenNamesRootCause: connecting to a port where nothing listens, with
// pgx's default sslmode=prefer, the message begins with the refused
// connection, not with the TLS attempt.
func TestOpenNamesRootCause(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Open(t.Context(), "postgres://nobody@"+addr+"/nothing?sslmode=prefer")
	if err == nil {
		t.Fatal("Open succeeded without a server")
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	if !strings.Contains(first, "cannot connect: ") || !strings.Contains(first, "connection refused") || strings.Contains(first, "tls error") {
		t.Errorf("error = %q; want the refused connection on the first line", err)
	}
}

// TestServerDownIsUnavailable shuts a private server down: transactions
// fail with core.ErrUnavailable when their deadline ends (a failed connect
// is tried again until then), and work again once it is back.
func TestServerDownIsUnavailable(t *testing.T) {
	cl := pgtest.StartPrivate(t)
	st := openURL(t, cl.NewDatabase(t))
	if err := countTickets(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	cl.Down(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	err := countTickets(ctx, st)
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("with the server down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took < 900*time.Millisecond || took > 3*time.Second {
		t.Errorf("gave up after %v, want at the deadline (1 s): the connect is retried until then", took)
	}
	if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.Contains(first, "connection refused") {
		t.Errorf("error = %q; want the refused connection on the first line", err)
	}
	// Back within the deadline: the retried connect succeeds.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		done <- countTickets(ctx, st)
	}()
	time.Sleep(300 * time.Millisecond)
	cl.Up(t)
	if err := <-done; err != nil {
		t.Errorf("a transaction begun while the server was down and given time: %v", err)
	}
}

// TestTooManyConnectionsIsUnavailable takes every connection of a server
// with max_connections = 3: a store that cannot get one answers
// core.ErrUnavailable at its deadline, and succeeds when one is freed
// before it.
func TestTooManyConnectionsIsUnavailable(t *testing.T) {
	cl := pgtest.StartPrivate(t, "max_connections=3", "superuser_reserved_connections=0")
	url := cl.NewDatabase(t)
	st := openURL(t, url)
	st.pool.Reset() // give the store's connection back to the server
	// The pool closes its connection in the background, so the server may
	// still count it for a moment: take slots until only the admin pool's
	// one is left besides the hogs (two of three), or all three.
	var hogs []*pgx.Conn
	deadline := time.Now().Add(10 * time.Second)
	for len(hogs) < 3 {
		c, err := pgx.Connect(t.Context(), url)
		if err == nil {
			hogs = append(hogs, c)
			continue
		}
		if len(hogs) >= 2 {
			break // the admin pool holds one
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d connections to hog: %v", len(hogs), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	err := countTickets(ctx, st)
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "53300") {
		t.Fatalf("with no connection left: %v, want ErrUnavailable with SQLSTATE 53300", err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		hogs[0].Close(context.Background())
	}()
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := countTickets(ctx, st); err != nil {
		t.Errorf("once a connection was freed: %v", err)
	}
	for _, c := range hogs[1:] {
		c.Close(context.Background())
	}
}

// TestHungServerKeepsTheBudget stops the server's processes (SIGSTOP) in
// the middle of a transaction whose statements get a context without a
// deadline (core passes its caller's): the statement still ends at the
// transaction's deadline, with core.ErrUnavailable.
func TestHungServerKeepsTheBudget(t *testing.T) {
	cl := pgtest.StartPrivate(t)
	st := openURL(t, cl.NewDatabase(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	err := st.Update(ctx, func(tx core.Tx) error {
		cl.Pause(t)
		_, err := tx.CountTickets(context.Background(), core.TicketQuery{})
		return err
	})
	took := time.Since(start)
	cl.Resume(t)
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("with the server hung: %v, want ErrUnavailable", err)
	}
	if took > 3*time.Second {
		t.Errorf("ended after %v, want at the 1 s deadline", took)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := countTickets(ctx, st); err != nil {
		t.Errorf("after the server continued: %v", err)
	}
}
