package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ixnstore/ixnstore/internal/fault"
)

func TestTranslate(t *testing.T) {
	other := errors.New("something else")
	already := fault.Errorf(fault.ErrLeaseLost, "made here")
	for _, tc := range []struct {
		name     string
		err      error
		kind     error // nil: the error passes through unchanged
		wantText string
	}{
		{"no rows", pgx.ErrNoRows, fault.ErrNotFound, "not found"},
		{"our own SQLSTATE", &pgconn.PgError{Code: "IXLL0", Message: "epoch 3 is not the session's 4"}, fault.ErrLeaseLost, "epoch 3 is not the session's 4"},
		{"wrapped SQLSTATE", fmt.Errorf("claiming: %w", &pgconn.PgError{Code: "IXLH0", Message: "held"}), fault.ErrLeaseHeld, "held"},
		{"unique violation", &pgconn.PgError{Code: "23505", Message: "duplicate key"}, fault.ErrConflict, "duplicate key"},
		{"check violation names its constraint", &pgconn.PgError{Code: "23514", Message: "x", ConstraintName: "ixn_id_check"}, fault.ErrInvalid, "a value is out of range (ixn_id_check)"},
		{"NUL in JSON", &pgconn.PgError{Code: "22P05", Message: "unsupported Unicode escape sequence"}, fault.ErrInvalid, "unsupported Unicode escape sequence"},
		{"connection class", &pgconn.PgError{Code: "08006", Message: "connection failure"}, fault.ErrUnavailable, "the database is unavailable: connection failure"},
		{"shutdown", &pgconn.PgError{Code: "57P01", Message: "terminating connection"}, fault.ErrUnavailable, "the database is unavailable: terminating connection"},
		{"a SQLSTATE of no kind", &pgconn.PgError{Code: "42601", Message: "syntax error"}, nil, ""},
		{"statement timeout", &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}, fault.ErrTimeout,
			"the database did not finish in time, nothing was changed: canceling statement due to statement timeout"},
		{"lock timeout", &pgconn.PgError{Code: "55P03", Message: "canceling statement due to lock timeout"}, fault.ErrTimeout,
			"the database did not finish in time, nothing was changed: canceling statement due to lock timeout"},
		{"idle session timeout", &pgconn.PgError{Code: "57P05", Message: "terminating connection due to idle-session timeout"}, fault.ErrUnavailable,
			"the database is unavailable: terminating connection due to idle-session timeout"},
		{"cancelled", context.Canceled, nil, ""},
		{"deadline waiting for a connection", fmt.Errorf("acquire: %w", context.DeadlineExceeded), fault.ErrTimeout,
			"the database did not answer in time, nothing was sent to it: acquire: context deadline exceeded"},
		{"deadline before sending", retryWord{safe: true, err: context.DeadlineExceeded}, fault.ErrTimeout,
			"the database did not answer in time, nothing was sent to it: context deadline exceeded"},
		{"deadline after sending", retryWord{safe: false, err: context.DeadlineExceeded}, fault.ErrOutcomeUnknown,
			"the connection to the database was lost after the request was sent, so it may or may not have taken effect: context deadline exceeded"},
		{"lost before sending", retryWord{safe: true, err: syscall.ECONNREFUSED}, fault.ErrUnavailable,
			"the database is unavailable: connection refused"},
		{"unexpected EOF", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), fault.ErrOutcomeUnknown,
			"the connection to the database was lost after the request was sent, so it may or may not have taken effect: receive: unexpected EOF"},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, fault.ErrOutcomeUnknown,
			"the connection to the database was lost after the request was sent, so it may or may not have taken effect: read tcp: connection reset by peer"},
		{"already a kind", already, nil, ""},
		{"unknown", other, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Translate(tc.err)
			if tc.kind == nil {
				if got != tc.err {
					t.Fatalf("Translate changed %v into %v", tc.err, got)
				}
				return
			}
			if !errors.Is(got, tc.kind) || !IsKind(got, tc.kind) {
				t.Fatalf("Translate(%v) = %v, want kind %v", tc.err, got, tc.kind)
			}
			if got.Error() != tc.wantText {
				t.Fatalf("message %q, want %q", got.Error(), tc.wantText)
			}
		})
	}
	if Translate(nil) != nil {
		t.Fatal("Translate(nil) is not nil")
	}
}

// retryWord is an error that says, as pgconn's do, whether it is safe to retry.
type retryWord struct {
	safe bool
	err  error
}

func (e retryWord) Error() string     { return e.err.Error() }
func (e retryWord) Unwrap() error     { return e.err }
func (e retryWord) SafeToRetry() bool { return e.safe }

// IsKind is true for an error made of the kind, not for one that merely wraps its sentinel.
func TestIsKind(t *testing.T) {
	if !IsKind(fault.Errorf(fault.ErrNotFound, "x"), fault.ErrNotFound) {
		t.Fatal("a NotFound error is not of its kind")
	}
	if IsKind(fmt.Errorf("%w: y", fault.ErrNotFound), fault.ErrNotFound) || IsKind(nil, fault.ErrNotFound) {
		t.Fatal("IsKind took a wrapped sentinel or nil for the kind")
	}
	if IsKind(fault.Errorf(fault.ErrConflict, "x"), fault.ErrNotFound) {
		t.Fatal("IsKind mixed two kinds")
	}
}
