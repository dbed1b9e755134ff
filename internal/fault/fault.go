// Package fault names the kinds of error every part of ixnstore returns. The data layer turns
// driver errors into these kinds (internal/database), the parts add their own messages, and
// the HTTP layer maps each kind to one status in one place. It imports nothing, so the HTTP
// layer can know the kinds without knowing the database.
package fault

import (
	"errors"
	"fmt"
)

// The kinds. Callers test for them with errors.Is.
var (
	// ErrInvalid: a value the caller sent cannot be used.
	ErrInvalid = errors.New("invalid value")
	// ErrNotFound: what was asked for is not there.
	ErrNotFound = errors.New("not found")
	// ErrConflict: it exists already, or the same id was used for something else.
	ErrConflict = errors.New("conflict")
	// ErrInvalidTransition: the stored state does not allow the change.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrSessionEnded: the session has ended and takes no more changes.
	ErrSessionEnded = errors.New("session ended")
	// ErrLeaseLost: the writer's lease epoch is not the session's (fencing).
	ErrLeaseLost = errors.New("lease lost")
	// ErrLeaseHeld refuses a claim on a session whose owner is alive.
	ErrLeaseHeld = errors.New("lease held")
	// ErrNodeNotLive refuses to give a session to a node whose lease has lapsed or that left.
	ErrNodeNotLive = errors.New("node not live")
	// ErrPartyLeft: a report names a party that has already left the interaction (released,
	// deleted, diverted or transferred away).
	ErrPartyLeft = errors.New("party left")
	// ErrIdempotencyKeyReused: an Idempotency-Key sent again with a different request.
	ErrIdempotencyKeyReused = errors.New("idempotency key reused")
	// ErrRequestRefused: the stored state does not allow an action request; it was stored as
	// failed and its error event written.
	ErrRequestRefused = errors.New("request refused")
	// ErrRequestEnded refuses a report on a request that already ended (by another report,
	// its timeout or its session's end) with a different outcome.
	ErrRequestEnded = errors.New("request ended")
	// ErrNotRebuildable: the kept events cannot give the rebuild (the origin of the
	// interaction's stay is missing, or retention removed events it needs).
	ErrNotRebuildable = errors.New("not rebuildable")
	// ErrCheckpointTooLarge: a session checkpoint is larger than the configured limit.
	ErrCheckpointTooLarge = errors.New("checkpoint too large")
	// ErrUnavailable: the database is not there right now and nothing was sent to it; the
	// request may be retried.
	ErrUnavailable = errors.New("database unavailable")
	// ErrTimeout: the database did not finish in time (a statement or lock timeout, or the
	// request's deadline before its statement was sent); nothing was changed, the request
	// may be retried.
	ErrTimeout = errors.New("database timeout")
	// ErrOutcomeUnknown: the connection was lost, or the deadline passed, after a change was
	// sent: it may or may not have been made. The caller reads the state, or retries a change
	// that is safe to repeat.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrUnauthenticated: no token, or one that is unknown, expired or revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the token is good but its role (or its node) may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrEpochRequired: a routing node wrote to a session without the lease epoch it holds.
	ErrEpochRequired = errors.New("epoch required")
	// ErrRateLimited: the token sent more requests, or opened more streams, than it may.
	ErrRateLimited = errors.New("rate limited")
)

// Error is one of the kinds with a message a person understands; its text is the message
// alone, without the kind's name.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// Errorf makes an Error of kind with a formatted message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}
