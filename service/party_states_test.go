package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

// A call waits on a routing point, in a queue and in treatment before it rings at an agent;
// each move is one partystatechanged. Moves the table does not allow are refused, and no
// party joins released.
func TestPartyWaitingStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	tg := fixture(t, s)
	must[[]service.Event](t)(s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: "p3", Resource: "rp-1", State: "routing"}))
	for _, state := range []string{"queued", "treatment", "queued", "alerting", "established", "queued", "routing", "established"} {
		got := must[[]service.Event](t)(s.ChangePartyState(ctx, tg, "i1", "p3", service.PartyStateChange{State: state}))
		checkEvents(t, got, []ev{{"interaction.partystatechanged", map[string]any{
			"interactionid": "i1", "focusresource": "rp-1", "partyid": "p3", "partystate": state, "hints": map[string]any{}}}})
	}
	must[[]service.Event](t)(s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: "p4", Resource: "+15550009", State: "dialing"}))
	refused := []struct{ party, state string }{
		{"p4", "held"}, {"p4", "queued"}, {"p4", "dialing"}, {"p3", "dialing"},
	}
	for _, r := range refused {
		if _, err := s.ChangePartyState(ctx, tg, "i1", r.party, service.PartyStateChange{State: r.state}); !errors.Is(err, fault.ErrInvalidTransition) {
			t.Errorf("%s to %s: %v, want invalid transition", r.party, r.state, err)
		}
	}
	must[[]service.Event](t)(s.ChangePartyState(ctx, tg, "i1", "p4", service.PartyStateChange{State: "alerting"}))
	if got := partyStates(interaction(t, s, "s1", "i1")); got["p3"] != "rp-1/established" || got["p4"] != "+15550009/alerting" {
		t.Errorf("parties %v", got)
	}
	_, err := s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: "p5", Resource: "7005", State: "released"})
	if !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("a party added released: %v, want invalid", err)
	}
}
