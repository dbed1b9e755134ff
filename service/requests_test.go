package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

func addParty(ctx context.Context, t *testing.T, s *service.Store, tg service.Target, id, resource, state string) {
	t.Helper()
	must[[]service.Event](t)(s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: id, Resource: resource, State: state}))
}

func request(action string, params func(*service.NewRequest)) service.NewRequest {
	r := service.NewRequest{RequestID: "r1", Action: action, InteractionID: "i1"}
	if params != nil {
		params(&r)
	}
	return r
}

// Each action, done: the done event with the reference's attributes, then the events of the
// state change it implies, and that state.
func TestRequestDone(t *testing.T) {
	t.Parallel()
	party := func(id, resource, state string) map[string]any {
		return map[string]any{"interactionid": "i1", "focusresource": resource, "partyid": id, "partystate": state}
	}
	tests := []struct {
		name    string
		setup   func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target)
		req     service.NewRequest
		outcome service.RequestOutcome
		want    []ev
		// The interaction's parties afterwards; nil: it has left the session.
		parties map[string]string
	}{
		{name: "terminate", req: request("terminate", func(r *service.NewRequest) { r.Reason = ptr("done") }),
			outcome: service.RequestOutcome{Result: "done"},
			want: []ev{
				{"interaction.terminate.done", map[string]any{"requestid": "r1", "interactionid": "i1"}},
				{"interaction.partydeleted", party("p1", "+15550001", "established")},
				{"interaction.partydeleted", party("p2", "7001", "established")},
				{"interaction.notcontrolled", map[string]any{"interactionid": "i1", "resultof": "deletion"}},
				{"interaction.deleted", map[string]any{"interactionid": "i1"}},
			}},
		{name: "redirect",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				addParty(ctx, t, s, tg, "p3", "7002", "alerting")
			},
			req:     request("redirect", func(r *service.NewRequest) { r.Destination = ptr("7100") }),
			outcome: service.RequestOutcome{Result: "done", Party: &service.ReportedParty{PartyID: "p4"}},
			want: []ev{
				{"interaction.redirect.done", map[string]any{"requestid": "r1", "interactionid": "i1"}},
				{"interaction.partydeleted", party("p3", "7002", "alerting")},
				{"interaction.partyadded", party("p4", "7100", "alerting")},
			},
			parties: map[string]string{"p1": "+15550001/established", "p2": "7001/established", "p4": "7100/alerting"}},
		{name: "pick",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				must[[]service.Event](t)(s.ReleaseControl(ctx, tg, "i1", "detach"))
			},
			req:     request("pick", nil),
			outcome: service.RequestOutcome{Result: "done"},
			want: []ev{
				{"interaction.pick.done", map[string]any{"requestid": "r1", "interactionid": "i1"}},
				{"interaction.present", map[string]any{"interactionid": "i1"}},
			},
			parties: map[string]string{"p1": "+15550001/established", "p2": "7001/established"}},
		{name: "accept",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				addParty(ctx, t, s, tg, "p3", "7002", "alerting")
			},
			req:     request("accept", func(r *service.NewRequest) { r.Resource = ptr("7002") }),
			outcome: service.RequestOutcome{Result: "done", Hints: json.RawMessage(`{"desk": 4}`)},
			want: []ev{
				{"interaction.accept.done", map[string]any{"requestid": "r1"}},
				{"interaction.partystatechanged", map[string]any{"interactionid": "i1", "focusresource": "7002",
					"partyid": "p3", "partystate": "established", "hints": map[string]any{"desk": 4.0}}},
			},
			parties: map[string]string{"p1": "+15550001/established", "p2": "7001/established", "p3": "7002/established"}},
		{name: "clear", req: request("clear", func(r *service.NewRequest) { r.Resource = ptr("7001") }),
			outcome: service.RequestOutcome{Result: "done"},
			want: []ev{
				{"interaction.clear.done", map[string]any{"requestid": "r1", "interactionid": "i1", "resource": "7001"}},
				{"interaction.partydeleted", party("p2", "7001", "established")},
			},
			parties: map[string]string{"p1": "+15550001/established"}},
		{name: "singlesteptransfer",
			req: request("singlesteptransfer", func(r *service.NewRequest) {
				r.Destination, r.Resource = ptr("7200"), ptr("7001")
			}),
			outcome: service.RequestOutcome{Result: "done", Party: &service.ReportedParty{PartyID: "p5"}},
			want: []ev{
				{"interaction.singlesteptransfer.done", map[string]any{"requestid": "r1", "interactionid": "i1"}},
				{"interaction.partydeleted", party("p2", "7001", "established")},
				{"interaction.partyadded", party("p5", "7200", "alerting")},
			},
			parties: map[string]string{"p1": "+15550001/established", "p5": "7200/alerting"}},
		{name: "singlestepconference, no party reported",
			req:     request("singlestepconference", func(r *service.NewRequest) { r.Destination = ptr("7300") }),
			outcome: service.RequestOutcome{Result: "done"},
			want: []ev{
				{"interaction.singlestepconference.done", map[string]any{"requestid": "r1", "interactionid": "i1"}},
			},
			parties: map[string]string{"p1": "+15550001/established", "p2": "7001/established"}},
		{name: "singlestepconference",
			req: request("singlestepconference", func(r *service.NewRequest) { r.Destination = ptr("7300") }),
			outcome: service.RequestOutcome{Result: "done", Party: &service.ReportedParty{
				PartyID: "p6", State: ptr("established"), Role: ptr("supervisor")}},
			want: []ev{
				{"interaction.singlestepconference.done", map[string]any{"requestid": "r1", "interactionid": "i1"}},
				{"interaction.partyadded", party("p6", "7300", "established")},
			},
			parties: map[string]string{"p1": "+15550001/established", "p2": "7001/established", "p6": "7300/established"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, _ := newStore(t)
			tg := fixture(t, s)
			if tt.setup != nil {
				tt.setup(ctx, t, s, tg)
			}
			before := len(allEvents(t, s, "s1"))
			req := must[service.Request](t)(s.CreateRequest(ctx, tg, tt.req))
			if req.State != "pending" || req.Error != nil || req.Media == nil || *req.Media != "voice" {
				t.Fatalf("new request %+v, want pending on a voice interaction", req)
			}
			if n := len(allEvents(t, s, "s1")); n != before {
				t.Fatalf("a pending request wrote %d events, want none", n-before)
			}
			req, events, err := s.ReportRequest(ctx, "s1", "r1", tt.outcome)
			if err != nil {
				t.Fatal(err)
			}
			checkEvents(t, events, tt.want)
			if req.State != "done" || req.AnswerSeqs == nil || req.AnswerSeqs[0] != events[0].Seq ||
				req.AnswerSeqs[1] != events[len(events)-1].Seq {
				t.Errorf("request after done: %+v", req)
			}
			ix := interaction(t, s, "s1", "i1")
			if tt.parties == nil {
				if ix.State != "deleted" {
					t.Errorf("interaction is %s, want deleted", ix.State)
				}
				return
			}
			if ix.State != "present" || !ix.Controlled {
				t.Errorf("interaction is %s, controlled %v; want present and controlled", ix.State, ix.Controlled)
			}
			if got := fmt.Sprint(partyStates(ix)); got != fmt.Sprint(tt.parties) {
				t.Errorf("parties %s, want %s", got, fmt.Sprint(tt.parties))
			}
		})
	}
}

// associate moves the interaction, its parties and its user data to the target session: there
// interaction.added then interaction.present, here the done event, interaction.deleted then
// interaction.notcontrolled.
func TestRequestAssociate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	tg := fixture(t, s)
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s2", OwnerNode: ptr("n2")}))
	must[service.Request](t)(s.CreateRequest(ctx, tg, request("associate", func(r *service.NewRequest) {
		r.TargetSessionID = ptr("s2")
	})))
	_, events, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"})
	if err != nil {
		t.Fatal(err)
	}
	var here, there []service.Event
	for _, e := range events {
		if e.SessionID == "s1" {
			here = append(here, e)
		} else {
			there = append(there, e)
		}
	}
	checkEvents(t, here, []ev{
		{"interaction.associate.done", map[string]any{"requestid": "r1", "interactionid": "i1"}},
		{"interaction.deleted", map[string]any{"interactionid": "i1"}},
		{"interaction.notcontrolled", map[string]any{"interactionid": "i1", "resultof": "detach"}},
	})
	checkEvents(t, there, []ev{
		{"interaction.added", map[string]any{"interactionid": "i1"}},
		{"interaction.present", map[string]any{"interactionid": "i1"}},
	})
	if there[0].Seq != 1 || there[0].NodeID == nil || *there[0].NodeID != "n2" {
		t.Errorf("the target's first event: %+v, want seq 1 by n2", there[0])
	}
	if ix := interaction(t, s, "s1", "i1"); ix.State != "deleted" {
		t.Errorf("in s1 the interaction is %s, want deleted", ix.State)
	}
	moved := interaction(t, s, "s2", "i1")
	if moved.State != "present" || !moved.Controlled || len(moved.Parties) != 2 || udata(t, moved) != `{"lang":"en","vip":true}` {
		t.Errorf("in s2: %+v", moved)
	}
	// The same report again answers the same events, those of the target session included,
	// and writes nothing.
	before := counts(t, pool)
	_, again, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, events) {
		t.Errorf("the repeated report answered %v, the first %v", names(again), names(events))
	}
	if after := counts(t, pool); after != before {
		t.Errorf("the repeated report wrote: before %+v, after %+v", before, after)
	}
}

// A request the stored state does not allow ends at once in its error event, with the
// reference's error value and a description, and changes nothing else.
func TestRequestRefused(t *testing.T) {
	t.Parallel()
	type setup = func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target)
	release := func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
		must[[]service.Event](t)(s.ReleaseControl(ctx, tg, "i1", "detach"))
	}
	tests := []struct {
		name  string
		setup setup
		req   service.NewRequest
		want  string
	}{
		{name: "unknown interaction", want: "invalidinteraction",
			req: service.NewRequest{RequestID: "r1", Action: "terminate", InteractionID: "nope"}},
		{name: "deleted interaction", want: "invalidinteraction",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				must[[]service.Event](t)(s.DeleteInteraction(ctx, tg, "i1"))
			},
			req: request("terminate", nil)},
		{name: "not controlled", want: "notcontrolled", setup: release,
			req: request("clear", func(r *service.NewRequest) { r.Resource = ptr("7001") })},
		{name: "chat before present", want: "notcontrolled",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				addUnpresented(ctx, t, s, tg, "chat")
			},
			req: request("terminate", func(r *service.NewRequest) { r.InteractionID = "i2" })},
		{name: "voice after present and release", want: "notcontrolled",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				addUnpresented(ctx, t, s, tg, "voice")
				must[[]service.Event](t)(s.PresentInteraction(ctx, tg, "i2"))
				must[[]service.Event](t)(s.ReleaseControl(ctx, tg, "i2", "detach"))
			},
			req: request("terminate", func(r *service.NewRequest) { r.InteractionID = "i2" })},
		{name: "pick when controlled", want: "alreadycontrolled", req: request("pick", nil)},
		{name: "redirect without a ringing party", want: "invalidstate.routed",
			req: request("redirect", func(r *service.NewRequest) { r.Destination = ptr("7100") })},
		{name: "accept at a resource not on the interaction", want: "invalidresource",
			req: request("accept", func(r *service.NewRequest) { r.Resource = ptr("9999") })},
		{name: "clear a resource not on the interaction", want: "invalidresource",
			req: request("clear", func(r *service.NewRequest) { r.Resource = ptr("9999") })},
		{name: "conference while held", want: "invalidstate.hold",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				for _, p := range []string{"p1", "p2"} {
					must[[]service.Event](t)(s.ChangePartyState(ctx, tg, "i1", p, service.PartyStateChange{State: "held"}))
				}
			},
			req: request("singlestepconference", func(r *service.NewRequest) { r.Destination = ptr("7300") })},
		{name: "transfer with no party", want: "invalidstate.null",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				for _, p := range []string{"p1", "p2"} {
					must[[]service.Event](t)(s.DeleteParty(ctx, tg, "i1", p))
				}
			},
			req: request("singlesteptransfer", func(r *service.NewRequest) { r.Destination = ptr("7200") })},
		{name: "accept a party in treatment", want: "invalidstate.treating",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				addParty(ctx, t, s, tg, "p3", "7003", "treatment")
			},
			req: request("accept", func(r *service.NewRequest) { r.Resource = ptr("7003") })},
		{name: "accept a queued party", want: "invalidstate.null",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				addParty(ctx, t, s, tg, "p3", "7003", "queued")
			},
			req: request("accept", func(r *service.NewRequest) { r.Resource = ptr("7003") })},
		{name: "accept a party that is not ringing", want: "invalidstate.routed",
			req: request("accept", func(r *service.NewRequest) { r.Resource = ptr("7001") })},
		{name: "associate to an unknown session", want: "invaliddestination",
			req: request("associate", func(r *service.NewRequest) { r.TargetSessionID = ptr("nope") })},
		{name: "associate to its own session", want: "invaliddestination",
			req: request("associate", func(r *service.NewRequest) { r.TargetSessionID = ptr("s1") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, pool := newStore(t)
			tg := fixture(t, s)
			if tt.setup != nil {
				tt.setup(ctx, t, s, tg)
			}
			before := counts(t, pool)
			ixBefore, _ := json.Marshal(must[service.SessionState](t)(s.GetSession(ctx, "s1")).Interactions)

			req, err := s.CreateRequest(ctx, tg, tt.req)
			var refusal *service.RequestRefusal
			if !errors.As(err, &refusal) || !errors.Is(err, fault.ErrRequestRefused) {
				t.Fatalf("error %v, want a refusal", err)
			}
			if req.State != "failed" || req.Error == nil || *req.Error != tt.want || refusal.Request.RequestID != "r1" {
				t.Fatalf("request %+v, want failed with %s", req, tt.want)
			}
			all := allEvents(t, s, "s1")
			last := all[len(all)-1]
			checkEvents(t, []service.Event{last}, []ev{{"error.interaction." + tt.req.Action,
				map[string]any{"requestid": "r1", "error": tt.want, "description": *req.Description}}})
			if *req.Description == "" {
				t.Error("no description")
			}
			after := counts(t, pool)
			before.Events++
			before.Requests++
			if after != before {
				t.Errorf("rows: %+v, want %+v (one request, one event more)", after, before)
			}
			ixAfter, _ := json.Marshal(must[service.SessionState](t)(s.GetSession(ctx, "s1")).Interactions)
			if string(ixAfter) != string(ixBefore) {
				t.Errorf("interactions changed:\nbefore %s\nafter  %s", ixBefore, ixAfter)
			}

			// The same request again: the same refusal, nothing written.
			again, err := s.CreateRequest(ctx, tg, tt.req)
			if !errors.Is(err, fault.ErrRequestRefused) || again.Cursor != req.Cursor {
				t.Errorf("repeat: %+v, %v", again, err)
			}
			if c := counts(t, pool); c != after {
				t.Errorf("the repeat wrote: %+v, want %+v", c, after)
			}
		})
	}
}

// Requests that cannot be read, or whose session cannot take them, are refused whole:
// no request, no event.
func TestRequestInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tg   service.Target
		req  service.NewRequest
		want error
	}{
		{name: "unknown action", req: request("transfer", nil), want: fault.ErrInvalid},
		{name: "redirect without destination", req: request("redirect", nil), want: fault.ErrInvalid},
		{name: "clear without resource", req: request("clear", nil), want: fault.ErrInvalid},
		{name: "associate without target", req: request("associate", nil), want: fault.ErrInvalid},
		{name: "destination on terminate", want: fault.ErrInvalid,
			req: request("terminate", func(r *service.NewRequest) { r.Destination = ptr("7100") })},
		{name: "hints not an object", want: fault.ErrInvalid,
			req: request("terminate", func(r *service.NewRequest) { r.Hints = json.RawMessage(`[1]`) })},
		{name: "timeout not a duration", want: fault.ErrInvalid,
			req: request("terminate", func(r *service.NewRequest) { r.Timeout = "5" })},
		{name: "timeout too long", want: fault.ErrInvalid,
			req: request("terminate", func(r *service.NewRequest) { r.Timeout = "2h" })},
		{name: "bad request id", want: fault.ErrInvalid,
			req: request("terminate", func(r *service.NewRequest) { r.RequestID = "a b" })},
		{name: "unknown session", tg: service.Target{SessionID: "nope"}, req: request("terminate", nil),
			want: fault.ErrNotFound},
		{name: "stale epoch", tg: service.Target{SessionID: "s1", Epoch: ptr(int64(7))}, req: request("terminate", nil),
			want: fault.ErrLeaseLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, pool := newStore(t)
			tg := fixture(t, s)
			if tt.tg.SessionID != "" {
				tg = tt.tg
			}
			before := counts(t, pool)
			if _, err := s.CreateRequest(ctx, tg, tt.req); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if after := counts(t, pool); after != before {
				t.Errorf("rows changed: %+v, want %+v", after, before)
			}
		})
	}
	t.Run("ended session", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		s, pool := newStore(t)
		tg := fixture(t, s)
		must[[]service.Event](t)(s.EndSession(ctx, tg))
		before := counts(t, pool)
		if _, err := s.CreateRequest(ctx, tg, request("terminate", nil)); !errors.Is(err, fault.ErrSessionEnded) {
			t.Fatalf("error %v, want session ended", err)
		}
		if after := counts(t, pool); after != before {
			t.Errorf("rows changed: %+v, want %+v", after, before)
		}
	})
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// answers returns the answer events of a request among a session's events.
func answers(t *testing.T, s *service.Store, sessionID, requestID string) []service.Event {
	t.Helper()
	var out []service.Event
	for _, e := range allEvents(t, s, sessionID) {
		var data struct {
			RequestID string `json:"requestid"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.RequestID == requestID {
			out = append(out, e)
		}
	}
	return out
}

// The life of a request past its first answer: repeats, contradictions, failures, timeouts,
// the end of its session, a state that changed while it was pending.
func TestRequestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("repeats", func(t *testing.T) {
		t.Parallel()
		s, pool := newStore(t)
		tg := fixture(t, s)
		req := request("clear", func(r *service.NewRequest) { r.Resource = ptr("7001"); r.Timeout = "1m" })
		first := must[service.Request](t)(s.CreateRequest(ctx, tg, req))
		c := counts(t, pool)
		again := must[service.Request](t)(s.CreateRequest(ctx, tg, req))
		if again.Cursor != first.Cursor || again.TimeoutMS != 60000 || counts(t, pool) != c {
			t.Errorf("the same request again: %+v; rows %+v, want %+v", again, counts(t, pool), c)
		}
		other := req
		other.Resource = ptr("+15550001")
		if _, err := s.CreateRequest(ctx, tg, other); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("the same id for another request: %v, want conflict", err)
		}
		_, done, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"})
		if err != nil {
			t.Fatal(err)
		}
		c = counts(t, pool)
		_, repeat, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"})
		if first, again := jsonOf(t, done), jsonOf(t, repeat); err != nil || again != first || counts(t, pool) != c {
			t.Errorf("the same report again: %v, %v; want the first answer and no writes", repeat, err)
		}
		_, _, err = s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "failed", Error: "remote"})
		if !errors.Is(err, fault.ErrRequestEnded) || counts(t, pool) != c {
			t.Errorf("a contradicting report: %v, want request ended and no writes", err)
		}
	})

	t.Run("failed report", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		tg := fixture(t, s)
		must[service.Request](t)(s.CreateRequest(ctx, tg, request("terminate", nil)))
		req, events, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{
			Result: "failed", Error: "remote", Description: "the switch said no"})
		if err != nil {
			t.Fatal(err)
		}
		checkEvents(t, events, []ev{{"error.interaction.terminate",
			map[string]any{"requestid": "r1", "error": "remote", "description": "the switch said no"}}})
		if req.State != "failed" || *req.Error != "remote" {
			t.Errorf("request %+v", req)
		}
		if ix := interaction(t, s, "s1", "i1"); ix.State != "present" || len(ix.Parties) != 2 {
			t.Errorf("a failed terminate changed the interaction: %+v", ix)
		}
	})

	t.Run("timeout, then a late answer", func(t *testing.T) {
		t.Parallel()
		s, pool := newStore(t)
		tg := fixture(t, s)
		must[service.Request](t)(s.CreateRequest(ctx, tg, request("terminate", func(r *service.NewRequest) { r.Timeout = "10ms" })))
		if n := expireAll(t, s, 1); n != 1 {
			t.Fatalf("expired %d requests, want 1", n)
		}
		got := answers(t, s, "s1", "r1")
		if len(got) != 1 {
			t.Fatalf("answers %v, want one", names(got))
		}
		checkEvents(t, got, []ev{{"error.interaction.terminate",
			map[string]any{"requestid": "r1", "error": "timeout", "description": "no answer from the media side within 10 ms"}}})
		c := counts(t, pool)
		if _, _, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"}); !errors.Is(err, fault.ErrRequestEnded) {
			t.Errorf("late answer: %v, want request ended", err)
		}
		if counts(t, pool) != c || interaction(t, s, "s1", "i1").State != "present" {
			t.Error("the late answer changed something")
		}
	})

	t.Run("session ends with requests pending", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		tg := fixture(t, s)
		must[service.Request](t)(s.CreateRequest(ctx, tg, request("terminate", nil)))
		must[service.Request](t)(s.CreateRequest(ctx, tg, service.NewRequest{RequestID: "r2", Action: "clear",
			InteractionID: "i1", Resource: ptr("7001")}))
		events := must[[]service.Event](t)(s.EndSession(ctx, tg))
		checkEvents(t, events, []ev{
			{"error.interaction.terminate", map[string]any{"requestid": "r1", "error": "unknown",
				"description": "the session ended before the request was answered"}},
			{"error.interaction.clear", map[string]any{"requestid": "r2", "error": "unknown",
				"description": "the session ended before the request was answered"}},
			{"interaction.notcontrolled", map[string]any{"interactionid": "i1", "resultof": "detach"}},
			{"interaction.deleted", map[string]any{"interactionid": "i1"}},
		})
		if _, _, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"}); !errors.Is(err, fault.ErrRequestEnded) {
			t.Errorf("answer after the session ended: %v, want request ended", err)
		}
	})

	t.Run("the state changed while pending", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		tg := fixture(t, s)
		must[service.Request](t)(s.CreateRequest(ctx, tg, request("clear", func(r *service.NewRequest) { r.Resource = ptr("7001") })))
		must[[]service.Event](t)(s.DeleteParty(ctx, tg, "i1", "p2"))
		req, events, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Name != "error.interaction.clear" || req.State != "failed" || *req.Error != "invalidresource" {
			t.Errorf("done on a party that left meanwhile: %+v, %v", req, names(events))
		}
	})
}

// expireAll runs the timeout sweep until want requests have ended (their deadlines pass a few
// milliseconds after they were made) or ten seconds have gone by.
func expireAll(t *testing.T, s *service.Store, want int) int {
	t.Helper()
	ended := 0
	for deadline := time.Now().Add(10 * time.Second); ended < want && time.Now().Before(deadline); {
		n, err := s.ExpireRequests(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		ended += n
		time.Sleep(5 * time.Millisecond)
	}
	return ended
}

// drainPending sweeps until no request is pending (every deadline has passed by the time it
// is called), and fails the test when some still are after ten seconds.
func drainPending(t *testing.T, s *service.Store, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := s.ExpireRequests(ctx, 100); err != nil {
			t.Fatal(err)
		}
		var pending int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM action_requests WHERE state = 'pending'").Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still pending 10s after their deadlines", pending)
		}
	}
}

// A report racing the timeout, many times over: each request ends in exactly one answer, and
// its stored state and the reporter's answer agree with that answer.
func TestRequestReportRacesTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	const rounds = 40
	for i := range rounds {
		sid := fmt.Sprintf("race%d", i)
		must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: sid}))
		tg := service.Target{SessionID: sid}
		must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: sid, Media: "chat", Type: "inbound"}))
		must[[]service.Event](t)(s.PresentInteraction(ctx, tg, sid))
	}
	// Every request is made first; then each is reported from 40 ms before its deadline to 20
	// ms after it while two sweepers (as two instances would) expire what is due. The timeout
	// is long enough for all of them to be made before the first deadline.
	deadlines := make([]time.Time, rounds)
	for i := range rounds {
		tg := service.Target{SessionID: fmt.Sprintf("race%d", i)}
		req := must[service.Request](t)(s.CreateRequest(ctx, tg, request("terminate", func(r *service.NewRequest) {
			r.InteractionID, r.Timeout = tg.SessionID, "2s"
		})))
		deadlines[i] = req.Deadline
	}
	var wg sync.WaitGroup
	reported := make([]error, rounds)
	for i := range rounds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(deadlines[i].Add(time.Duration(rand.IntN(60)-40) * time.Millisecond)))
			_, _, reported[i] = s.ReportRequest(ctx, fmt.Sprintf("race%d", i), "r1", service.RequestOutcome{Result: "done"})
		}()
	}
	stop := make(chan struct{})
	var sweepers sync.WaitGroup
	for range 2 { // two sweepers, as two instances would run
		sweepers.Add(1)
		go func() {
			defer sweepers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.ExpireRequests(ctx, 100); err != nil {
					t.Error(err)
					return
				}
				// Pacing, not waiting: sweeps with no pause at all kept both cores busy, and
				// reports then took hundreds of milliseconds to be served, so every one lost.
				// Still a hundred times more often than serve's --request-sweep.
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	// Every request must have ended before the answers are counted: one still pending would
	// have no answer and make "exactly one" fail for the wrong reason, or hide a lost one.
	drainPending(t, s, pool)
	close(stop)
	sweepers.Wait()

	outcomes := map[string]int{}
	for i := range rounds {
		sid := fmt.Sprintf("race%d", i)
		got := answers(t, s, sid, "r1")
		if len(got) != 1 {
			t.Errorf("%s: answers %v, want exactly one", sid, names(got))
			continue
		}
		req := must[service.Request](t)(s.GetRequest(ctx, sid, "r1"))
		switch got[0].Name {
		case "interaction.terminate.done":
			if reported[i] != nil || req.State != "done" {
				t.Errorf("%s: done event, but report %v and request %s", sid, reported[i], req.State)
			}
		case "error.interaction.terminate":
			if !errors.Is(reported[i], fault.ErrRequestEnded) || req.State != "failed" || *req.Error != "timeout" {
				t.Errorf("%s: timeout event, but report %v and request %+v", sid, reported[i], req)
			}
		default:
			t.Errorf("%s: answer %s", sid, got[0].Name)
		}
		outcomes[got[0].Name]++
	}
	t.Logf("outcomes of %d races: %v", rounds, outcomes)
}

// Two instances sweeping the same overdue requests at once end each of them once.
func TestRequestTimeoutFiresOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, pool := newStore(t)
	other, err := pgxpool.New(ctx, pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b := service.New(other, service.Config{})
	tg := fixture(t, a)
	const n = 60
	for i := range n {
		must[service.Request](t)(a.CreateRequest(ctx, tg, service.NewRequest{
			RequestID: fmt.Sprintf("r%d", i), Action: "terminate", InteractionID: "i1", Timeout: "10ms"}))
	}
	var ended atomic.Int64
	var wg sync.WaitGroup
	for _, s := range []*service.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for deadline := time.Now().Add(10 * time.Second); ended.Load() < n && time.Now().Before(deadline); {
				k, err := s.ExpireRequests(ctx, 7) // small batches: the two sweeps interleave
				if err != nil {
					t.Error(err)
					return
				}
				ended.Add(int64(k))
			}
		}()
	}
	wg.Wait()
	if ended.Load() != n {
		t.Errorf("the two sweeps ended %d requests, want %d", ended.Load(), n)
	}
	for i := range n {
		if got := answers(t, a, "s1", fmt.Sprintf("r%d", i)); len(got) != 1 || got[0].Name != "error.interaction.terminate" {
			t.Errorf("r%d: answers %v, want one timeout", i, names(got))
		}
	}
}

// The media side's feed of pending requests never passes over a request whose transaction
// commits late: a request made in a transaction that stays open while a later one commits is
// listed, once it commits, after the cursor the reader already holds.
func TestPendingFeedKeepsLateCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	fixture(t, s)
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s2"}))
	tg2 := service.Target{SessionID: "s2"}
	must[[]service.Event](t)(s.AddInteraction(ctx, tg2, service.NewInteraction{InteractionID: "i2", Media: "chat", Type: "inbound"}))
	must[[]service.Event](t)(s.PresentInteraction(ctx, tg2, "i2"))

	late, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback(ctx)
	if _, err := db.New(late).RequestCreate(ctx, db.RequestCreateParams{
		SessionID: "s1", RequestID: "late", Action: db.ActionNameTerminate, InteractionID: "i1",
		Params: []byte(`{}`), TimeoutMs: 60000,
	}); err != nil {
		t.Fatal(err)
	}
	must[service.Request](t)(s.CreateRequest(ctx, tg2, service.NewRequest{RequestID: "early", Action: "terminate", InteractionID: "i2"}))

	// While the late transaction is open, the feed holds back everything after it.
	page := must[[]service.Request](t)(s.ListPendingRequests(ctx, service.RequestCursor{}, "", 0))
	if len(page) != 0 {
		t.Fatalf("feed while a request is uncommitted: %d requests, want none yet", len(page))
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// The horizon is cluster-wide: a transaction another test holds open can delay the feed,
	// never reorder it.
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		page = must[[]service.Request](t)(s.ListPendingRequests(ctx, service.RequestCursor{}, "", 0))
		if len(page) == 2 || time.Now().After(wait) {
			break
		}
	}
	if len(page) != 2 || page[0].RequestID != "late" || page[1].RequestID != "early" {
		t.Fatalf("feed after the commit: %+v, want late then early", page)
	}
	cursor := must[service.RequestCursor](t)(service.ParseRequestCursor(page[0].Cursor))
	rest := must[[]service.Request](t)(s.ListPendingRequests(ctx, cursor, "chat", 0))
	if len(rest) != 1 || rest[0].RequestID != "early" {
		t.Errorf("after the first, chat only: %+v, want early", rest)
	}
	if voice := must[[]service.Request](t)(s.ListPendingRequests(ctx, cursor, "voice", 0)); len(voice) != 0 {
		t.Errorf("after the first, voice only: %+v, want none", voice)
	}
}

// addUnpresented adds interaction i2 of the given media to the session, with an established
// customer p5 and a ringing agent p6, and does not present it.
func addUnpresented(ctx context.Context, t *testing.T, s *service.Store, tg service.Target, media string) {
	t.Helper()
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{
		InteractionID: "i2", Media: media, Type: "inbound",
		Parties: []service.NewParty{
			{PartyID: "p5", Resource: "+15550005", State: "established", Role: ptr("customer")},
			{PartyID: "p6", Resource: "7006", State: "alerting", Role: ptr("agent")},
		},
	}))
}

// Control by media: a voice interaction may be acted on from interaction.added on, before
// interaction.present; the request is pending for the media side and its outcome applies.
// The same request on a chat is refused (TestRequestRefused).
func TestRequestVoiceBeforePresent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	tg := fixture(t, s)
	addUnpresented(ctx, t, s, tg, "voice")
	req, err := s.CreateRequest(ctx, tg, service.NewRequest{RequestID: "r1", Action: "accept", InteractionID: "i2",
		Resource: ptr("7006")})
	if err != nil || req.State != "pending" {
		t.Fatalf("request %+v, %v: want pending", req, err)
	}
	_, got, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"})
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, got, []ev{
		{"interaction.accept.done", map[string]any{"requestid": "r1"}},
		{"interaction.partystatechanged", map[string]any{"interactionid": "i2", "focusresource": "7006",
			"partyid": "p6", "partystate": "established", "hints": map[string]any{}}},
	})
	ix := interaction(t, s, "s1", "i2")
	if ix.State != "added" || ix.Controlled {
		t.Errorf("interaction %+v: want added, not controlled", ix)
	}
}
