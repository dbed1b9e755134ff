package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The kinds of error the service returns. Callers test for them with errors.Is; the HTTP layer
// maps each to one status and code in one place.
var (
	ErrInvalid           = errors.New("invalid value")
	ErrNotFound          = errors.New("not found")
	ErrConflict          = errors.New("conflict")
	ErrInvalidTransition = errors.New("invalid transition")
	ErrSessionEnded      = errors.New("session ended")
	ErrLeaseLost         = errors.New("lease lost")
	ErrUnavailable       = errors.New("database unavailable")
)

// Error is a service error: one of the kinds above and a message a person understands.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// The SQLSTATEs raised by the state-change functions (migrations/00002_state_changes.sql).
var sqlStateKinds = map[string]error{
	"IXNF0": ErrNotFound,
	"IXST0": ErrInvalidTransition,
	"IXCF0": ErrConflict,
	"IXSE0": ErrSessionEnded,
	"IXLL0": ErrLeaseLost,
	"IXIV0": ErrInvalid,
	"IXRE0": ErrRequestEnded,
	"IXLH0": ErrLeaseHeld,
	"IXNL0": ErrNodeNotLive,
	"23505": ErrConflict, // unique_violation
	"23514": ErrInvalid,  // check_violation
	"23502": ErrInvalid,  // not_null_violation
	"22001": ErrInvalid,  // string_data_right_truncation
	"22P02": ErrInvalid,  // invalid_text_representation
	"22023": ErrInvalid,  // invalid_parameter_value
}

// DatabaseError is translate for the packages that read the database themselves (reports):
// an unreachable database becomes ErrUnavailable, and so on.
func DatabaseError(err error) error { return translate(err) }

// translate turns a driver error into a service error. It is the only place that knows pgx's
// errors; nothing above the service sees them.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var svcErr *Error
	if errors.As(err, &svcErr) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return errorf(ErrNotFound, "not found")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if kind, ok := sqlStateKinds[pgErr.Code]; ok {
			msg := pgErr.Message
			if pgErr.Code == "23514" {
				msg = fmt.Sprintf("a value is out of range (%s)", pgErr.ConstraintName)
			}
			return &Error{Kind: kind, Message: msg}
		}
		// Class 08 (connection) and 57P (operator intervention: shutdown) mean the database is
		// not there right now; the request may be retried.
		if len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:3] == "57P") {
			return &Error{Kind: ErrUnavailable, Message: "the database is unavailable: " + pgErr.Message}
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) {
		return &Error{Kind: ErrUnavailable, Message: "the database is unavailable: " + err.Error()}
	}
	return err
}
