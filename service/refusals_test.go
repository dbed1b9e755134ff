package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

// Every refused change names its reason and writes nothing: not the state, not an event, not
// a sequence number.
func TestRefusedChangesWriteNothing(t *testing.T) {
	t.Parallel()
	type op = func(ctx context.Context, s *service.Store, tg service.Target) error
	events := func(_ []service.Event, err error) error { return err }
	tests := []struct {
		name  string
		setup op
		run   op
		want  error
	}{
		{name: "unknown session", want: fault.ErrNotFound,
			run: func(ctx context.Context, s *service.Store, _ service.Target) error {
				return events(s.PresentInteraction(ctx, service.Target{SessionID: "nope"}, "i1"))
			}},
		{name: "unknown interaction", want: fault.ErrNotFound,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.PresentInteraction(ctx, tg, "nope"))
			}},
		{name: "unknown party", want: fault.ErrNotFound,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ChangePartyState(ctx, tg, "i1", "nope", service.PartyStateChange{State: "held"}))
			}},
		{name: "merge with an unknown held party", want: fault.ErrNotFound,
			setup: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "c1", Media: "voice", Type: "consult",
					Parties: []service.NewParty{{PartyID: "p4", Resource: "7004", State: "established"}}}))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ReportMerge(ctx, tg, "c1", service.Merge{IntoInteractionID: "i1", ActivePartyID: "p4", HeldPartyID: "nope"}))
			}},
		{name: "merge as a transfer with no resource on both", want: fault.ErrInvalid,
			setup: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "c1", Media: "voice", Type: "consult",
					Parties: []service.NewParty{{PartyID: "p4", Resource: "7004", State: "established"}}}))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ReportMerge(ctx, tg, "c1", service.Merge{IntoInteractionID: "i1", ActivePartyID: "p4",
					HeldPartyID: "p1", Hints: json.RawMessage(`{"merge":"transfer"}`)}))
			}},
		{name: "merge of an unknown type", want: fault.ErrInvalid,
			setup: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "c1", Media: "voice", Type: "consult",
					Parties: []service.NewParty{{PartyID: "p4", Resource: "7004", State: "established"}}}))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ReportMerge(ctx, tg, "c1", service.Merge{IntoInteractionID: "i1", ActivePartyID: "p4",
					HeldPartyID: "p1", Hints: json.RawMessage(`{"merge":"blind"}`)}))
			}},
		{name: "present twice", want: fault.ErrInvalidTransition,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.PresentInteraction(ctx, tg, "i1"))
			}},
		{name: "notcontrolled when not controlled", want: fault.ErrInvalidTransition,
			setup: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ReleaseControl(ctx, tg, "i1", "detach"))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ReleaseControl(ctx, tg, "i1", "detach"))
			}},
		{name: "released party is gone", want: fault.ErrNotFound,
			setup: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ChangePartyState(ctx, tg, "i1", "p2", service.PartyStateChange{State: "released"}))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ChangePartyState(ctx, tg, "i1", "p2", service.PartyStateChange{State: "established"}))
			}},
		{name: "party state unchanged", want: fault.ErrInvalidTransition,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ChangePartyState(ctx, tg, "i1", "p2", service.PartyStateChange{State: "established"}))
			}},
		{name: "change on a deleted interaction", want: fault.ErrInvalidTransition,
			setup: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.DeleteInteraction(ctx, tg, "i1"))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: "p3", Resource: "7003", State: "alerting"}))
			}},
		{name: "abandoned twice", want: fault.ErrInvalidTransition,
			setup: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ReportAbandoned(ctx, tg, "i1", service.Abandon{FocusResource: "+15550001"}))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ReportAbandoned(ctx, tg, "i1", service.Abandon{FocusResource: "+15550001"}))
			}},
		{name: "duplicate party", want: fault.ErrConflict,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: "p2", Resource: "7001", State: "alerting"}))
			}},
		{name: "conference adds a party already there", want: fault.ErrConflict,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ReportSingleStepConference(ctx, tg, "i1", service.Conference{PartyID: "p2",
					AddedParty: service.NewParty{PartyID: "p1", Resource: "x", State: "alerting"}}))
			}},
		{name: "duplicate interaction", want: fault.ErrConflict,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i1", Media: "voice", Type: "inbound"}))
			}},
		{name: "interaction live in another session", want: fault.ErrConflict,
			setup: func(ctx context.Context, s *service.Store, _ service.Target) error {
				_, err := s.CreateSession(ctx, service.NewSession{SessionID: "s2"})
				return err
			},
			run: func(ctx context.Context, s *service.Store, _ service.Target) error {
				return events(s.AddInteraction(ctx, service.Target{SessionID: "s2"}, service.NewInteraction{InteractionID: "i1", Media: "voice", Type: "inbound"}))
			}},
		{name: "duplicate session", want: fault.ErrConflict,
			run: func(ctx context.Context, s *service.Store, _ service.Target) error {
				_, err := s.CreateSession(ctx, service.NewSession{SessionID: "s1"})
				return err
			}},
		{name: "invalid values", want: fault.ErrInvalid,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i 2", Media: "Voice!", Type: "sideways"}))
			}},
		{name: "hints not an object", want: fault.ErrInvalid,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.ChangePartyState(ctx, tg, "i1", "p2", service.PartyStateChange{State: "held", Hints: json.RawMessage(`[1]`)}))
			}},
		{name: "text that is not UTF-8", want: fault.ErrInvalid,
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: "p9", Resource: "70\xff01", State: "alerting"}))
			}},
		{name: "stale epoch", want: fault.ErrLeaseLost,
			run: func(ctx context.Context, s *service.Store, _ service.Target) error {
				return events(s.PresentInteraction(ctx, service.Target{SessionID: "s1", Epoch: ptr(int64(7))}, "i1"))
			}},
		{name: "ended session", want: fault.ErrSessionEnded,
			setup: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.EndSession(ctx, tg))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) error {
				return events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i9", Media: "voice", Type: "inbound"}))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, pool := newStore(t)
			tg := fixture(t, s)
			if tt.setup != nil {
				if err := tt.setup(ctx, s, tg); err != nil {
					t.Fatal(err)
				}
			}
			before := counts(t, pool)
			stateBefore, _ := json.Marshal(must[service.SessionState](t)(s.GetSession(ctx, "s1")))

			err := tt.run(ctx, s, tg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			var svcErr *fault.Error
			if !errors.As(err, &svcErr) || svcErr.Message == "" {
				t.Errorf("error %#v has no message", err)
			}
			if after := counts(t, pool); after != before {
				t.Errorf("rows changed: before %+v, after %+v", before, after)
			}
			stateAfter, _ := json.Marshal(must[service.SessionState](t)(s.GetSession(ctx, "s1")))
			if string(stateAfter) != string(stateBefore) {
				t.Errorf("session state changed:\nbefore %s\nafter  %s", stateBefore, stateAfter)
			}
		})
	}
}

// A change that fails half-way, after its first writes, leaves neither state nor events: here
// the interaction row is written, then its second party breaks a CHECK constraint.
func TestFailureHalfWayLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	fixture(t, s)
	before := counts(t, pool)

	_, err := db.New(pool).InteractionAdd(ctx, db.InteractionAddParams{
		SessionID: "s1", InteractionID: "i2", Media: "voice", Type: "inbound",
		Parties: []byte(`[{"party_id":"a","resource":"1","state":"alerting"},{"party_id":"b","resource":"2","state":"bogus"}]`),
		Udata:   []byte(`{}`), Properties: []byte(`{}`),
	})
	if err == nil {
		t.Fatal("the statement succeeded")
	}
	if after := counts(t, pool); after != before {
		t.Errorf("rows changed: before %+v, after %+v", before, after)
	}
	if _, err := s.GetInteraction(ctx, "s1", "i2"); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("interaction i2 exists: %v", err)
	}
	if got := must[service.SessionState](t)(s.GetSession(ctx, "s1")).LastSeq; got != before.Events {
		t.Errorf("last_seq %d moved past the %d events", got, before.Events)
	}

	// The same through the transaction helper: a first write that succeeded is rolled back
	// with the second one that failed.
	err = database.WithTx(ctx, pool, pgx.TxOptions{}, func(ctx context.Context, q *db.Queries) error {
		if _, err := q.InteractionNotControlled(ctx, db.InteractionNotControlledParams{SessionID: "s1", InteractionID: "i1", Resultof: "detach"}); err != nil {
			return err
		}
		_, err := q.PartyAdd(ctx, db.PartyAddParams{SessionID: "s1", InteractionID: "i1", PartyID: "p1", Resource: "x", State: "alerting"})
		return err
	})
	if !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("error %v, want a conflict", err)
	}
	if after := counts(t, pool); after != before {
		t.Errorf("rows changed: before %+v, after %+v", before, after)
	}
	if ix := interaction(t, s, "s1", "i1"); !ix.Controlled {
		t.Error("the first write of the failed transaction stayed")
	}
}
