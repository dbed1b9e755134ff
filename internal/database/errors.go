package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

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
		switch {
		case pgErr.Code == "57014", pgErr.Code == "55P03":
			// query_canceled (the statement timeout) and lock_not_available (the lock timeout):
			// the server stopped the statement, so its transaction did not commit.
			return &fault.Error{Kind: fault.ErrTimeout, Message: "the database did not finish in time, nothing was changed: " + pgErr.Message}
		case len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:3] == "57P" || pgErr.Code == "25P03"):
			// Class 08 (connection), 57P (operator intervention: shutdown, idle session
			// timeout) and the idle-in-transaction timeout mean the database is not there right
			// now and ended the statement; the request may be retried.
			return &fault.Error{Kind: fault.ErrUnavailable, Message: "the database is unavailable: " + pgErr.Message}
		}
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err // the caller went away: nobody reads the answer
	}
	return translateConnection(err)
}

// translateConnection sorts an error that is not the server's answer: a connection that could
// not be made or was lost, or a deadline. What matters to the caller is whether the statement
// may have reached the database: pgconn says so with SafeToRetry, true only when nothing was
// sent. An error with no such word that is not a broken connection is no kind and passes.
func translateConnection(err error) error {
	deadline := errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
	var connErr *pgconn.ConnectError
	notSent := errors.As(err, &connErr) || pgconn.SafeToRetry(err)
	switch {
	case notSent && deadline:
		return &fault.Error{Kind: fault.ErrTimeout, Message: "the database did not answer in time, nothing was sent to it: " + err.Error()}
	case notSent:
		return &fault.Error{Kind: fault.ErrUnavailable, Message: "the database is unavailable: " + err.Error()}
	case deadline && !hasRetryWord(err):
		// The deadline passed before the driver had a connection (waiting for the pool): a
		// plain context error, which pgconn never returns once it has sent something.
		return &fault.Error{Kind: fault.ErrTimeout, Message: "the database did not answer in time, nothing was sent to it: " + err.Error()}
	case deadline || brokenConnection(err):
		return &fault.Error{Kind: fault.ErrOutcomeUnknown, Message: "the connection to the database was lost after the request was sent, " +
			"so it may or may not have taken effect: " + err.Error()}
	}
	return err
}

// hasRetryWord reports whether pgconn said whether err is safe to retry, either way.
func hasRetryWord(err error) bool {
	var r interface{ SafeToRetry() bool }
	return errors.As(err, &r)
}

// brokenConnection reports whether err is the connection failing under a statement: the peer
// closed or reset it, or the network failed.
func brokenConnection(err error) bool {
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || hasRetryWord(err)
}

// IsKind reports whether err is a *fault.Error of exactly kind: an error this process made,
// not one that merely wraps the kind's sentinel.
func IsKind(err, kind error) bool {
	var e *fault.Error
	return err != nil && errors.As(err, &e) && e.Kind == kind
}

// TranslateReported is Translate for an error the database reported as values rather than
// raised: a refusal caught inside a statement that went on (ixn_party_state_changes), given
// by its SQLSTATE, message and constraint.
func TranslateReported(code, message, constraint string) error {
	return Translate(&pgconn.PgError{Severity: "ERROR", Code: code, Message: message, ConstraintName: constraint})
}
