package core

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors returned (wrapped with %w) by Service and Store methods.
// Callers map them to responses with errors.Is.
var (
	// ErrNotFound: the ticket, agent, session or mail does not exist.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotAssignee: the ticket is assigned to another agent.
	ErrNotAssignee = errors.New("ticket is assigned to another agent")
	// ErrInvalid: the input breaks a rule; the wrapping message says which.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict: the change lost a race or contradicts the current state
	// (for example assigning a ticket that was assigned meanwhile).
	ErrConflict = errors.New("conflict")
	// ErrOnVacation: the agent is in vacation mode and takes no new tickets.
	ErrOnVacation = errors.New("agent is on vacation")
	// ErrBadCredentials: unknown user or wrong password.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrDuplicate: a unique value (Message-ID, username) exists already.
	ErrDuplicate = errors.New("already exists")
	// ErrUnavailable: the store could not do the work now (database down,
	// too many connections, a conflict it gave up retrying, a full disk, the
	// time budget spent). Nothing was changed; the same request may succeed
	// when tried again later.
	ErrUnavailable = errors.New("store temporarily unavailable")
	// ErrNoSession: the session token names no valid session (it ended,
	// expired or never was): the visitor is no agent.
	ErrNoSession = errors.New("no valid session")
)

// InvalidError is an ErrInvalid with a message meant for the user.
type InvalidError struct{ Msg string }

// Error returns the message for the user.
func (e *InvalidError) Error() string { return e.Msg }

// Is reports that an InvalidError is an ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns an error that is ErrInvalid and whose text is msg.
func Invalid(msg string) error { return &InvalidError{Msg: msg} }

// ErrThrottled: too many attempts; a ThrottledError says how long to wait.
var ErrThrottled = errors.New("too many attempts")

// ThrottledError is an ErrThrottled that says when to try again.
type ThrottledError struct{ Wait time.Duration }

// Error says how long to wait.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts; try again in %v", e.Wait.Round(time.Second))
}

// Is reports that a ThrottledError is an ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }
