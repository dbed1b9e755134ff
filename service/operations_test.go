package service_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ixnstore/ixnstore/service"
)

// fixture: session s1 owned by node n1, holding interaction i1 (voice, inbound), presented,
// with customer p1 at +15550001 and agent p2 at 7001, both established, and user data
// {"lang": "en", "vip": true}.
func fixture(t *testing.T, s *service.Store) service.Target {
	t.Helper()
	ctx := context.Background()
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1", OwnerNode: ptr("n1")}))
	tg := service.Target{SessionID: "s1"}
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{
		InteractionID: "i1", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{
			{PartyID: "p1", Resource: "+15550001", State: "established", Role: ptr("customer")},
			{PartyID: "p2", Resource: "7001", State: "established", Role: ptr("agent")},
		},
		UserData: map[string]json.RawMessage{"lang": json.RawMessage(`"en"`), "vip": json.RawMessage(`true`)},
	}))
	must[[]service.Event](t)(s.PresentInteraction(ctx, tg, "i1"))
	return tg
}

func interaction(t *testing.T, s *service.Store, sessionID, interactionID string) service.Interaction {
	t.Helper()
	return must[service.Interaction](t)(s.GetInteraction(context.Background(), sessionID, interactionID))
}

func partyStates(ix service.Interaction) map[string]string {
	m := map[string]string{}
	for _, p := range ix.Parties {
		m[p.PartyID] = p.Resource + "/" + p.State
	}
	return m
}

func udata(t *testing.T, ix service.Interaction) string {
	t.Helper()
	b, err := json.Marshal(ix.UserData)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOperations(t *testing.T) {
	t.Parallel()
	empty := map[string]any{}
	tests := []struct {
		name  string
		setup func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target)
		run   func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error)
		want  []ev
		check func(t *testing.T, s *service.Store)
	}{
		{
			name: "add interaction",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.AddInteraction(ctx, tg, service.NewInteraction{
					InteractionID: "i2", Media: "chat", Type: "consult", ParentID: ptr("i1"),
					Parties:  []service.NewParty{{PartyID: "p9", Resource: "7009", State: "alerting"}},
					UserData: map[string]json.RawMessage{"topic": json.RawMessage(`"billing"`)},
				})
			},
			want: []ev{{"interaction.added", map[string]any{"interactionid": "i2"}}},
			check: func(t *testing.T, s *service.Store) {
				ix := interaction(t, s, "s1", "i2")
				if ix.State != "added" || ix.Controlled || ix.Media != "chat" || ix.Type != "consult" || *ix.ParentID != "i1" {
					t.Errorf("interaction %+v", ix)
				}
				if got := partyStates(ix); got["p9"] != "7009/alerting" || len(got) != 1 {
					t.Errorf("parties %v", got)
				}
				if got := udata(t, ix); got != `{"topic":"billing"}` {
					t.Errorf("udata %s", got)
				}
			},
		},
		{
			name: "present",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i2", Media: "email", Type: "inbound"}))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.PresentInteraction(ctx, tg, "i2")
			},
			want: []ev{{"interaction.present", map[string]any{"interactionid": "i2"}}},
			check: func(t *testing.T, s *service.Store) {
				if ix := interaction(t, s, "s1", "i2"); ix.State != "present" || !ix.Controlled {
					t.Errorf("state %s controlled %v", ix.State, ix.Controlled)
				}
			},
		},
		{
			name: "not controlled (detach)",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReleaseControl(ctx, tg, "i1", "detach")
			},
			want: []ev{{"interaction.notcontrolled", map[string]any{"interactionid": "i1", "resultof": "detach"}}},
			check: func(t *testing.T, s *service.Store) {
				if ix := interaction(t, s, "s1", "i1"); ix.State != "present" || ix.Controlled {
					t.Errorf("state %s controlled %v", ix.State, ix.Controlled)
				}
			},
		},
		{
			name: "delete a controlled interaction",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.DeleteInteraction(ctx, tg, "i1")
			},
			want: []ev{
				{"interaction.notcontrolled", map[string]any{"interactionid": "i1", "resultof": "deletion"}},
				{"interaction.deleted", map[string]any{"interactionid": "i1"}},
			},
			check: func(t *testing.T, s *service.Store) {
				if ix := interaction(t, s, "s1", "i1"); ix.State != "deleted" || ix.Controlled || ix.DeletedAt == nil {
					t.Errorf("interaction %+v", ix)
				}
				state := must[service.SessionState](t)(s.GetSession(context.Background(), "s1"))
				if len(state.Interactions) != 0 {
					t.Errorf("session still lists %d interactions", len(state.Interactions))
				}
			},
		},
		{
			name: "delete an interaction never presented",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i2", Media: "voice", Type: "outbound"}))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.DeleteInteraction(ctx, tg, "i2")
			},
			want: []ev{{"interaction.deleted", map[string]any{"interactionid": "i2"}}},
		},
		{
			name: "party added",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: "p3", Resource: "7002", State: "alerting", Role: ptr("supervisor")})
			},
			want: []ev{{"interaction.partyadded", map[string]any{
				"interactionid": "i1", "focusresource": "7002", "partyid": "p3", "partystate": "alerting"}}},
			check: func(t *testing.T, s *service.Store) {
				if got := partyStates(interaction(t, s, "s1", "i1")); got["p3"] != "7002/alerting" || len(got) != 3 {
					t.Errorf("parties %v", got)
				}
			},
		},
		{
			name: "party deleted",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.DeleteParty(ctx, tg, "i1", "p2")
			},
			want: []ev{{"interaction.partydeleted", map[string]any{
				"interactionid": "i1", "focusresource": "7001", "partyid": "p2", "partystate": "established"}}},
			check: func(t *testing.T, s *service.Store) {
				if got := partyStates(interaction(t, s, "s1", "i1")); len(got) != 1 || got["p1"] == "" {
					t.Errorf("parties %v", got)
				}
			},
		},
		{
			name: "party state changed, with hints",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ChangePartyState(ctx, tg, "i1", "p2", service.PartyStateChange{State: "held", Hints: json.RawMessage(`{"cause":"hold"}`)})
			},
			want: []ev{{"interaction.partystatechanged", map[string]any{
				"interactionid": "i1", "focusresource": "7001", "partyid": "p2", "partystate": "held",
				"hints": map[string]any{"cause": "hold"}}}},
			check: func(t *testing.T, s *service.Store) {
				if got := partyStates(interaction(t, s, "s1", "i1")); got["p2"] != "7001/held" {
					t.Errorf("parties %v", got)
				}
			},
		},
		{
			name: "party state changed, no hints gives {}",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ChangePartyState(ctx, tg, "i1", "p1", service.PartyStateChange{State: "released"})
			},
			want: []ev{{"interaction.partystatechanged", map[string]any{
				"interactionid": "i1", "focusresource": "+15550001", "partyid": "p1", "partystate": "released",
				"hints": empty}},
				// A released party leaves the interaction.
				{"interaction.partydeleted", map[string]any{
					"interactionid": "i1", "focusresource": "+15550001", "partyid": "p1", "partystate": "released"}}},
			check: func(t *testing.T, s *service.Store) {
				if got := partyStates(interaction(t, s, "s1", "i1")); len(got) != 1 || got["p2"] != "7001/established" {
					t.Errorf("parties %v, want p2 only", got)
				}
			},
		},
		{
			name: "user data merged from the media side",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.MergeUserData(ctx, tg, "i1", service.UserDataChange{Origin: service.OriginMedia,
					Data: map[string]json.RawMessage{"vip": json.RawMessage(`null`), "segment": json.RawMessage(`{"tier":2}`)}})
			},
			want: []ev{{"interaction.udata.changed", map[string]any{"interactionid": "i1"}}},
			check: func(t *testing.T, s *service.Store) {
				if got := udata(t, interaction(t, s, "s1", "i1")); got != `{"lang":"en","segment":{"tier":2}}` {
					t.Errorf("udata %s", got)
				}
			},
		},
		{
			name: "user data replaced by the session itself: no event",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReplaceUserData(ctx, tg, "i1", service.UserDataChange{Origin: service.OriginSession,
					Data: map[string]json.RawMessage{"queue": json.RawMessage(`"sales"`)}})
			},
			want: nil,
			check: func(t *testing.T, s *service.Store) {
				if got := udata(t, interaction(t, s, "s1", "i1")); got != `{"queue":"sales"}` {
					t.Errorf("udata %s", got)
				}
			},
		},
		{
			name: "user data key deleted from the media side",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.DeleteUserDataKey(ctx, tg, "i1", "lang", service.OriginMedia)
			},
			want: []ev{{"interaction.udata.changed", map[string]any{"interactionid": "i1"}}},
			check: func(t *testing.T, s *service.Store) {
				if got := udata(t, interaction(t, s, "s1", "i1")); got != `{"vip":true}` {
					t.Errorf("udata %s", got)
				}
			},
		},
		{
			name: "divert",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReportDivert(ctx, tg, "i1", service.PartyLeft{PartyID: "p2", NewDestination: "7005", Hints: json.RawMessage(`{"reason":"noanswer"}`)})
			},
			want: []ev{
				{"interaction.ondivert", map[string]any{
					"interactionid": "i1", "divertingpartyid": "p2", "divertingresource": "7001",
					"divertingpartystate": "established", "newdestination": "7005", "hints": map[string]any{"reason": "noanswer"}}},
				{"interaction.partydeleted", map[string]any{
					"interactionid": "i1", "focusresource": "7001", "partyid": "p2", "partystate": "established"}},
			},
			check: func(t *testing.T, s *service.Store) {
				if got := partyStates(interaction(t, s, "s1", "i1")); got["p2"] != "" {
					t.Errorf("parties %v", got)
				}
			},
		},
		{
			name: "single-step transfer",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReportSingleStepTransfer(ctx, tg, "i1", service.PartyLeft{PartyID: "p2", NewDestination: "sales"})
			},
			want: []ev{
				{"interaction.onsinglesteptransfer", map[string]any{
					"interactionid": "i1", "transferringpartyid": "p2", "transferringresource": "7001",
					"transferringpartystate": "established", "newdestination": "sales", "hints": empty}},
				{"interaction.partydeleted", map[string]any{
					"interactionid": "i1", "focusresource": "7001", "partyid": "p2", "partystate": "established"}},
			},
		},
		{
			name: "single-step conference",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReportSingleStepConference(ctx, tg, "i1", service.Conference{PartyID: "p2",
					AddedParty: service.NewParty{PartyID: "p3", Resource: "7003", State: "alerting"}})
			},
			want: []ev{
				{"interaction.onsinglestepconference", map[string]any{
					"interactionid": "i1", "conferencingpartyid": "p2", "conferencingresource": "7001",
					"conferencingpartystate": "established", "addedpartyid": "p3", "addedresource": "7003",
					"addedpartystate": "alerting", "hints": empty}},
				{"interaction.partyadded", map[string]any{
					"interactionid": "i1", "focusresource": "7003", "partyid": "p3", "partystate": "alerting"}},
			},
			check: func(t *testing.T, s *service.Store) {
				if got := partyStates(interaction(t, s, "s1", "i1")); got["p3"] != "7003/alerting" || len(got) != 3 {
					t.Errorf("parties %v", got)
				}
			},
		},
		{
			name:  "merge of a consultation into the primary as a conference: everyone stays",
			setup: consultationOf7001,
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReportMerge(ctx, tg, "c1", service.Merge{IntoInteractionID: "i1", ActivePartyID: "p4",
					HeldPartyID: "p1", Hints: json.RawMessage(`{"merge":"conference"}`)})
			},
			want: []ev{
				{"interaction.onmerge", map[string]any{
					"frominteractionid": "c1", "tointeractionid": "i1",
					"activeresource": "7004", "activepartyid": "p4", "activepartystate": "established",
					"heldresource": "+15550001", "heldpartyid": "p1", "heldpartystate": "held",
					"hints": map[string]any{"merge": "conference"}}},
				{"interaction.partyadded", map[string]any{
					"interactionid": "i1", "focusresource": "7004", "partyid": "p4", "partystate": "established"}},
				{"interaction.notcontrolled", map[string]any{"interactionid": "c1", "resultof": "deletion"}},
				{"interaction.deleted", map[string]any{"interactionid": "c1"}},
			},
			check: func(t *testing.T, s *service.Store) {
				c := interaction(t, s, "s1", "c1")
				if c.State != "deleted" || c.MergedInto == nil || *c.MergedInto != "i1" {
					t.Errorf("consultation %+v", c)
				}
				want := map[string]string{"p1": "+15550001/held", "p2": "7001/established", "p4": "7004/established"}
				if got := partyStates(interaction(t, s, "s1", "i1")); !reflect.DeepEqual(got, want) {
					t.Errorf("primary parties %v, want %v", got, want)
				}
			},
		},
		{
			name:  "merge of a consultation into the primary as a transfer: the transferring party leaves",
			setup: consultationOf7001,
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReportMerge(ctx, tg, "c1", service.Merge{IntoInteractionID: "i1", ActivePartyID: "p4",
					HeldPartyID: "p1", Hints: json.RawMessage(`{"merge":"transfer"}`)})
			},
			want: []ev{
				{"interaction.onmerge", map[string]any{
					"frominteractionid": "c1", "tointeractionid": "i1",
					"activeresource": "7004", "activepartyid": "p4", "activepartystate": "established",
					"heldresource": "+15550001", "heldpartyid": "p1", "heldpartystate": "held",
					"hints": map[string]any{"merge": "transfer"}}},
				{"interaction.partyadded", map[string]any{
					"interactionid": "i1", "focusresource": "7004", "partyid": "p4", "partystate": "established"}},
				// p2 at 7001 is on both interactions: the agent who consulted, and who leaves.
				{"interaction.partydeleted", map[string]any{
					"interactionid": "i1", "focusresource": "7001", "partyid": "p2", "partystate": "established"}},
				{"interaction.notcontrolled", map[string]any{"interactionid": "c1", "resultof": "deletion"}},
				{"interaction.deleted", map[string]any{"interactionid": "c1"}},
			},
			check: func(t *testing.T, s *service.Store) {
				c := interaction(t, s, "s1", "c1")
				if c.State != "deleted" || c.MergedInto == nil || *c.MergedInto != "i1" {
					t.Errorf("consultation %+v", c)
				}
				want := map[string]string{"p1": "+15550001/held", "p4": "7004/established"}
				if got := partyStates(interaction(t, s, "s1", "i1")); !reflect.DeepEqual(got, want) {
					t.Errorf("primary parties %v, want %v", got, want)
				}
			},
		},
		{
			name: "abandoned",
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.ReportAbandoned(ctx, tg, "i1", service.Abandon{FocusResource: "+15550001", Reason: "caller hung up"})
			},
			want: []ev{
				{"interaction.abandoned", map[string]any{
					"interactionid": "i1", "focusresource": "+15550001", "reason": "caller hung up", "hints": empty}},
				{"interaction.partydeleted", map[string]any{
					"interactionid": "i1", "focusresource": "+15550001", "partyid": "p1", "partystate": "established"}},
			},
			check: func(t *testing.T, s *service.Store) {
				ix := interaction(t, s, "s1", "i1")
				if ix.AbandonedAt == nil || len(ix.Parties) != 1 {
					t.Errorf("interaction %+v", ix)
				}
			},
		},
		{
			name: "end session",
			setup: func(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
				must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i2", Media: "chat", Type: "inbound"}))
			},
			run: func(ctx context.Context, s *service.Store, tg service.Target) ([]service.Event, error) {
				return s.EndSession(ctx, tg)
			},
			want: []ev{
				{"interaction.notcontrolled", map[string]any{"interactionid": "i1", "resultof": "detach"}},
				{"interaction.deleted", map[string]any{"interactionid": "i1"}},
				{"interaction.deleted", map[string]any{"interactionid": "i2"}},
			},
			check: func(t *testing.T, s *service.Store) {
				state := must[service.SessionState](t)(s.GetSession(context.Background(), "s1"))
				if state.State != "ended" || state.EndedAt == nil || len(state.Interactions) != 0 {
					t.Errorf("session %+v", state)
				}
			},
		},
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
			before := allEvents(t, s, "s1")
			got, err := tt.run(ctx, s, tg)
			if err != nil {
				t.Fatal(err)
			}
			checkEvents(t, got, tt.want)
			if tt.check != nil {
				tt.check(t, s)
			}
			// What the change answered is what the outbox holds, numbered on from before.
			all := allEvents(t, s, "s1")
			if len(all) != len(before)+len(got) {
				t.Fatalf("outbox holds %d events, want %d", len(all), len(before)+len(got))
			}
			for i, e := range all {
				if e.Seq != int64(i+1) {
					t.Fatalf("event %d has seq %d", i, e.Seq)
				}
				if i >= len(before) && string(e.Data) != string(got[i-len(before)].Data) {
					t.Errorf("outbox event %d differs from the answer", i)
				}
			}
			session := must[service.SessionState](t)(s.GetSession(ctx, "s1"))
			if session.LastSeq != int64(len(all)) {
				t.Errorf("session last_seq %d, outbox has %d", session.LastSeq, len(all))
			}
		})
	}
}

// consultationOf7001 is the setup of the merge cases: the agent at 7001 (p2 on i1) consulted
// 7004 on c1, which the session controls, and the customer (p1) waits on hold.
func consultationOf7001(ctx context.Context, t *testing.T, s *service.Store, tg service.Target) {
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{
		InteractionID: "c1", Media: "voice", Type: "consult", ParentID: ptr("i1"),
		Parties: []service.NewParty{
			{PartyID: "p2", Resource: "7001", State: "established"},
			{PartyID: "p4", Resource: "7004", State: "established"},
		}}))
	must[[]service.Event](t)(s.PresentInteraction(ctx, tg, "c1"))
	must[[]service.Event](t)(s.ChangePartyState(ctx, tg, "i1", "p1", service.PartyStateChange{State: "held"}))
}
