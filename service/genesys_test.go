package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

// viewJSON is an interaction's Genesys view as a strategy would read it, in JSON.
func viewJSON(t *testing.T, ix service.Interaction) map[string]any {
	t.Helper()
	b, err := json.Marshal(ix.Genesys)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The properties given at add are stored and read back in the shape a strategy reads, with
// what is derived derived from the interaction's own fields.
func TestGenesysViewOfAddedInteractions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1", TenantID: ptr("t1")}))
	tg := service.Target{SessionID: "s1"}
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{
		InteractionID: "call-1", Media: "voice", Type: "inbound",
		Genesys: &service.InteractionProperties{
			GUID: ptr("01HX0001"), ContactedAddr: ptr("+15550100"), Location: ptr("emea"),
			XData: json.RawMessage(`{"ivr":{"menu":"2"}}`),
			Voice: &service.VoiceProperties{CallID: ptr("0001A"), ANI: ptr("+15550001"), DNIS: ptr("8000")},
		},
	}))
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{
		InteractionID: "mail-1", Media: "email", Type: "inbound", ParentID: ptr("call-1"),
		Genesys: &service.InteractionProperties{MsgBased: &service.MsgBasedProperties{
			Queue: ptr("inbound-mail"), ExternalID: ptr("ext-9"), View: ptr("all")}},
	}))
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "chat-1", Media: "chat", Type: "outbound"}))
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "call-2", Media: "voice", Type: "consult"}))

	state := must[service.SessionState](t)(s.GetSession(ctx, "s1"))
	got := map[string]map[string]any{}
	for _, ix := range state.Interactions {
		got[ix.InteractionID] = viewJSON(t, ix)
	}
	want := map[string]map[string]any{
		"call-1": {"g_uid": "01HX0001", "category": "voice", "tenantid": "t1", "contactedaddr": "+15550100",
			"location": "emea", "xdata": map[string]any{"ivr": map[string]any{"menu": "2"}},
			"voice": map[string]any{"callid": "0001A", "ani": "+15550001", "dnis": "8000", "type": "inbound", "media": "TMediaVoice"}},
		"mail-1": {"g_uid": "mail-1", "category": "msgbased", "tenantid": "t1", "parentid": "call-1",
			"msgbased": map[string]any{"queue": "inbound-mail", "type": "InboundNew", "media": "TMediaEMail", "externalID": "ext-9", "view": "all"}},
		"chat-1": {"g_uid": "chat-1", "category": "chat", "tenantid": "t1",
			"msgbased": map[string]any{"type": "OutboundNew", "media": "TMediaChat"}},
		"call-2": {"g_uid": "call-2", "category": "voice", "tenantid": "t1",
			"voice": map[string]any{"type": "consult", "media": "TMediaVoice"}},
	}
	for id, w := range want {
		if !reflect.DeepEqual(got[id], w) {
			t.Errorf("%s:\n got %v\nwant %v", id, got[id], w)
		}
	}

	// One interaction reads the same, and a given msgbased type and media win over the derived.
	one := must[service.Interaction](t)(s.GetInteraction(ctx, "s1", "call-1"))
	if !reflect.DeepEqual(viewJSON(t, one), want["call-1"]) {
		t.Errorf("GetInteraction's view %v differs from the snapshot's", viewJSON(t, one))
	}
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{
		InteractionID: "wi-1", Media: "workitem", Type: "internal",
		Genesys: &service.InteractionProperties{MsgBased: &service.MsgBasedProperties{Type: ptr("InternalCollaborationInvite"), Media: ptr("TMediaWorkItem")}},
	}))
	wi := viewJSON(t, must[service.Interaction](t)(s.GetInteraction(ctx, "s1", "wi-1")))["msgbased"]
	if !reflect.DeepEqual(wi, map[string]any{"type": "InternalCollaborationInvite", "media": "TMediaWorkItem"}) {
		t.Errorf("wi-1 msgbased %v", wi)
	}
}

// A claim gives the new owner the interactions with their Genesys view: a node that takes a
// session over reads voice.ani as the one before it did.
func TestClaimCarriesTheGenesysView(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	register(t, s, "n1", "100ms", 10)
	register(t, s, "n2", "10m", 10)
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1", OwnerNode: ptr("n1")}))
	must[[]service.Event](t)(s.AddInteraction(ctx, service.Target{SessionID: "s1"}, service.NewInteraction{
		InteractionID: "call-1", Media: "voice", Type: "inbound",
		Genesys: &service.InteractionProperties{Voice: &service.VoiceProperties{ANI: ptr("+15550001"), DNIS: ptr("8000")}},
	}))
	untilOrphaned(t, s, "s1")
	took := must[service.Takeover](t)(s.ClaimSession(ctx, "s1", "n2"))
	if len(took.Session.Interactions) != 1 {
		t.Fatalf("claim restored %d interactions", len(took.Session.Interactions))
	}
	v := took.Session.Interactions[0].Genesys
	if v == nil || v.Voice == nil || v.Voice.ANI == nil || *v.Voice.ANI != "+15550001" || *v.Voice.DNIS != "8000" {
		t.Fatalf("claim's view: %+v", v)
	}
}

// Properties that do not fit the interaction are refused whole, with every problem named.
func TestGenesysPropertiesRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1"}))
	before := counts(t, pool)
	for _, tc := range []struct {
		name, media, want string
		props             service.InteractionProperties
	}{
		{"voice fields on a chat", "chat", "genesys.voice is for voice interactions",
			service.InteractionProperties{Voice: &service.VoiceProperties{ANI: ptr("1")}}},
		{"msgbased fields on a call", "voice", "genesys.msgbased is for multimedia",
			service.InteractionProperties{MsgBased: &service.MsgBasedProperties{Queue: ptr("q")}}},
		{"xdata not an object", "voice", "genesys.xdata must be a JSON object",
			service.InteractionProperties{XData: json.RawMessage(`[1,2]`)}},
		{"xdata too large", "voice", "genesys.xdata must be at most",
			service.InteractionProperties{XData: json.RawMessage(`{"a":"` + strings.Repeat("x", 9000) + `"}`)}},
		{"empty ani", "voice", "genesys.voice.ani is required",
			service.InteractionProperties{Voice: &service.VoiceProperties{ANI: ptr(" ")}}},
		{"NUL in a value", "voice", "must not hold a NUL character",
			service.InteractionProperties{Location: ptr("a\x00b")}},
		{"too long", "voice", "genesys.g_uid must be at most 256 characters",
			service.InteractionProperties{GUID: ptr(strings.Repeat("g", 257))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AddInteraction(ctx, service.Target{SessionID: "s1"}, service.NewInteraction{
				InteractionID: "i1", Media: tc.media, Type: "inbound", Genesys: &tc.props})
			if !errors.Is(err, fault.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want invalid: %s", err, tc.want)
			}
		})
	}
	if after := counts(t, pool); after != before {
		t.Errorf("rows changed: before %+v, after %+v", before, after)
	}
}

// The media side gives properties later: each replaces its stored value, the sub-object is
// merged field by field, nothing is written to the outbox, and what does not fit is refused
// with nothing changed.
func TestGenesysPropertiesGivenLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1"}))
	tg := service.Target{SessionID: "s1"}
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "call-1", Media: "voice", Type: "inbound",
		Genesys: &service.InteractionProperties{Location: ptr("emea"), Voice: &service.VoiceProperties{CallID: ptr("C1")}}}))
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "chat-1", Media: "chat", Type: "inbound"}))
	before := counts(t, pool)

	ix := must[service.Interaction](t)(s.SetGenesysProperties(ctx, tg, "call-1", service.InteractionProperties{
		Location: ptr("apac"), Voice: &service.VoiceProperties{ANI: ptr("+15550001")}}))
	want := map[string]any{"g_uid": "call-1", "category": "voice", "location": "apac",
		"voice": map[string]any{"callid": "C1", "ani": "+15550001", "type": "inbound", "media": "TMediaVoice"}}
	if got := viewJSON(t, ix); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the change:\n got %v\nwant %v", got, want)
	}
	if stored := viewJSON(t, must[service.Interaction](t)(s.GetInteraction(ctx, "s1", "call-1"))); !reflect.DeepEqual(stored, want) {
		t.Fatalf("stored: %v", stored)
	}
	if after := counts(t, pool); after.Events != before.Events {
		t.Errorf("events %d → %d: properties write none", before.Events, after.Events)
	}

	for _, tc := range []struct {
		name, iid string
		epoch     *int64
		props     service.InteractionProperties
		kind      error
	}{
		{"voice fields on a chat", "chat-1", nil, service.InteractionProperties{Voice: &service.VoiceProperties{ANI: ptr("1")}}, fault.ErrInvalid},
		{"msgbased fields on a call", "call-1", nil, service.InteractionProperties{MsgBased: &service.MsgBasedProperties{Queue: ptr("q")}}, fault.ErrInvalid},
		{"a stale epoch", "call-1", ptr(int64(9)), service.InteractionProperties{Location: ptr("x")}, fault.ErrLeaseLost},
		{"no such interaction", "call-9", nil, service.InteractionProperties{Location: ptr("x")}, fault.ErrNotFound},
		{"an empty value", "call-1", nil, service.InteractionProperties{Location: ptr("")}, fault.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SetGenesysProperties(ctx, service.Target{SessionID: "s1", Epoch: tc.epoch}, tc.iid, tc.props)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
		})
	}
	if stored := viewJSON(t, must[service.Interaction](t)(s.GetInteraction(ctx, "s1", "call-1"))); !reflect.DeepEqual(stored, want) {
		t.Fatalf("a refused change changed it: %v", stored)
	}
}
