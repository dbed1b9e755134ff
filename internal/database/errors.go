package database

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ixnstore/ixnstore/internal/fault"
)

// sqlStateKinds are the SQLSTATEs the state-change functions of sql/ raise, and the
// constraint violations a client's values can cause, by kind.
var sqlStateKinds = map[string]error{
	"IXNF0": fault.ErrNotFound,
	"IXST0": fault.ErrInvalidTransition,
	"IXCF0": fault.ErrConflict,
	"IXSE0": fault.ErrSessionEnded,
	"IXLL0": fault.ErrLeaseLost,
	"IXIV0": fault.ErrInvalid,
	"IXRE0": fault.ErrRequestEnded,
	"IXLH0": fault.ErrLeaseHeld,
	"IXNL0": fault.ErrNodeNotLive,
	"IXPL0": fault.ErrPartyLeft,
	"IXKR0": fault.ErrIdempotencyKeyReused,
	"23505": fault.ErrConflict, // unique_violation
	"23514": fault.ErrInvalid,  // check_violation
	"23502": fault.ErrInvalid,  // not_null_violation
	"22001": fault.ErrInvalid,  // string_data_right_truncation
	"22P02": fault.ErrInvalid,  // invalid_text_representation
	"22023": fault.ErrInvalid,  // invalid_parameter_value
	// A client's JSON that jsonb cannot hold: \u0000 in a string (untranslatable_character),
	// a number beyond numeric's range such as 1e400000 (numeric_value_out_of_range).
	"22P05": fault.ErrInvalid,
	"22003": fault.ErrInvalid,
}

// Translate turns a driver error into a *fault.Error of its kind; an error that is already
// one, a cancellation and an error of no known kind pass through. It is the only place that
// knows pgx's errors.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var known *fault.Error
	if errors.As(err, &known) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.Errorf(fault.ErrNotFound, "not found")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if kind, ok := sqlStateKinds[pgErr.Code]; ok {
			msg := pgErr.Message
			if pgErr.Code == "23514" {
				msg = fmt.Sprintf("a value is out of range (%s)", pgErr.ConstraintName)
			}
			return &fault.Error{Kind: kind, Message: msg}
		}
		// Class 08 (connection) and 57P (operator intervention: shutdown) mean the database is
		// not there right now; the request may be retried.
		if len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:3] == "57P") {
			return &fault.Error{Kind: fault.ErrUnavailable, Message: "the database is unavailable: " + pgErr.Message}
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) {
		return &fault.Error{Kind: fault.ErrUnavailable, Message: "the database is unavailable: " + err.Error()}
	}
	return err
}

// IsKind reports whether err is a *fault.Error of exactly kind: an error this process made,
// not one that merely wraps the kind's sentinel.
func IsKind(err, kind error) bool {
	var e *fault.Error
	return err != nil && errors.As(err, &e) && e.Kind == kind
}
