package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"trivialtickets/store"
)

// classify marks errors that mean "try again later" as core.ErrUnavailable
// (through store.Unavailable): the server unreachable, refusing connections
// or shutting down, too many connections, a full disk or memory, a
// serialization failure or deadlock that Update gave up retrying, a lock or
// statement timeout, a broken connection, and a deadline that ended.
// Anything else, including a caller that went away, stays as it is.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if transient(err) {
		return store.Unavailable(err)
	}
	return err
}

// transient reports whether err is one that classify marks.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || unreachable(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"), // insufficient resources: disk full, out of memory, too many connections
			pe.Code == codeSerializationFailure, pe.Code == codeDeadlockDetected,
			pe.Code == "55P03",                                         // lock not available
			pe.Code == "57014",                                         // query cancelled (statement_timeout)
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutting down, starting up
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}

// unreachable reports whether err says that no connection could be had:
// the connect failed, the server refused it for now (too many connections,
// starting up or shutting down), or a pooled connection turned out to be
// closed by the server's shutdown. Where run asks (at BEGIN) nothing
// reached the database, so the transaction may be begun again.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "53300" || pe.Code == "57P03" || pe.Code == "57P01" || pe.Code == "57P02")
}

// connectError is a failed connect whose message begins with the root
// cause. pgx's message begins with the user and database and, with the
// default sslmode=prefer, with the refused TLS attempt ("tls error: server
// refused TLS connection") before the plain attempt's real cause on a line
// of its own, which logs and /healthz that show one line lose.
type connectError struct {
	err   error
	cause string
}

func (e *connectError) Error() string { return "cannot connect: " + e.cause }
func (e *connectError) Unwrap() error { return e.err }

// rootCause returns err with a message that begins with the last (the
// innermost) cause of a failed connect; other errors are returned as they
// are.
func rootCause(err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return err
	}
	var lines []string
	for i, l := range strings.Split(ce.Error(), "\n") {
		l = strings.TrimSpace(l)
		if i == 0 {
			// "failed to connect to `user=… database=…`:" and, on one
			// line, the cause.
			if _, rest, ok := strings.Cut(l, "`:"); ok {
				l = strings.TrimSpace(rest)
			}
		}
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return err
	}
	cause := lines[len(lines)-1]
	var earlier []string
	for _, l := range lines[:len(lines)-1] {
		if !strings.Contains(l, "server refused TLS connection") && l != cause && !slices.Contains(earlier, l) {
			earlier = append(earlier, l)
		}
	}
	if len(earlier) > 0 {
		cause += " (before: " + strings.Join(earlier, "; ") + ")"
	}
	return &connectError{err: err, cause: cause}
}
