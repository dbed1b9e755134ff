package database

import (
	"context"
	"errors"
	"fmt"
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
		{"cancelled", context.Canceled, nil, ""},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), nil, ""},
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
