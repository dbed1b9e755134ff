package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

// Changes that would change nothing, or that name a party that has left, write nothing: no
// state, no event, no sequence number. The first are answered with no events; the others are
// refused with the kind that says why.
func TestNoOpAndLateReports(t *testing.T) {
	t.Parallel()
	type op = func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error)
	released := func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
		return s.ChangePartyState(ctx, tg, "i1", "p2", service.PartyStateChange{State: "released"})
	}
	deleted := func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
		return s.DeleteParty(ctx, tg, "i1", "p2")
	}
	divert := func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
		return s.ReportDivert(ctx, tg, "i1", service.PartyLeft{PartyID: "p2", NewDestination: "7002"})
	}
	transfer := func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
		return s.ReportSingleStepTransfer(ctx, tg, "i1", service.PartyLeft{PartyID: "p2", NewDestination: "7002"})
	}
	abandonAt := func(resource string) op {
		return func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
			return s.ReportAbandoned(ctx, tg, "i1", service.Abandon{FocusResource: resource})
		}
	}
	tests := []struct {
		name  string
		setup op
		run   op
		want  error // nil: answered with no events
	}{
		{name: "delete a user data key that is not there",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.DeleteUserDataKey(ctx, tg, "i1", "nokey", service.OriginMedia)
			}},
		{name: "merge a value the key already has",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.MergeUserData(ctx, tg, "i1", service.UserDataChange{Origin: service.OriginMedia,
					Data: map[string]json.RawMessage{"lang": json.RawMessage(`"en"`), "gone": json.RawMessage(`null`)}})
			}},
		{name: "replace with the same user data",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReplaceUserData(ctx, tg, "i1", service.UserDataChange{Origin: service.OriginMedia,
					Data: map[string]json.RawMessage{"lang": json.RawMessage(`"en"`), "vip": json.RawMessage(`true`)}})
			}},
		{name: "divert of a released party", setup: released, run: divert, want: fault.ErrPartyLeft},
		{name: "transfer of a released party", setup: released, run: transfer, want: fault.ErrPartyLeft},
		{name: "divert of a deleted party", setup: deleted, run: divert, want: fault.ErrPartyLeft},
		{name: "divert twice", setup: divert, run: divert, want: fault.ErrPartyLeft},
		{name: "divert of a party never there", want: fault.ErrNotFound,
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReportDivert(ctx, tg, "i1", service.PartyLeft{PartyID: "p9", NewDestination: "7002"})
			}},
		{name: "abandoned at a resource whose party left", setup: released, run: abandonAt("7001"), want: fault.ErrPartyLeft},
		{name: "abandoned at a resource never on the interaction", run: abandonAt("+15559999"), want: fault.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, pool := newStore(t)
			tg := fixture(t, s)
			if tt.setup != nil {
				must[[]service.Event](t)(tt.setup(ctx, s, tg))
			}
			before := counts(t, pool)
			stateBefore := stateOf(t, s)

			events, err := tt.run(ctx, s, tg)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("error %v, want no events and no error", err)
			case tt.want == nil && len(events) != 0:
				t.Errorf("events %v, want none", names(events))
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if after := counts(t, pool); after != before {
				t.Errorf("rows changed: before %+v, after %+v", before, after)
			}
			if stateAfter := stateOf(t, s); stateAfter != stateBefore {
				t.Errorf("session state changed:\nbefore %s\nafter  %s", stateBefore, stateAfter)
			}
		})
	}
}

// stateOf is session s1's state as JSON, but for the time its row was last locked: a change
// that changes nothing still takes the lock.
func stateOf(t *testing.T, s *service.Store) string {
	t.Helper()
	state := must[service.SessionState](t)(s.GetSession(context.Background(), "s1"))
	state.UpdatedAt = time.Time{}
	out, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
