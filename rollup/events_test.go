package rollup

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/ixnstore/ixnstore/service"
)

// Which events the worker reads the interactions of, with what it knows to be connected.
func TestInteractionsOfPassesOverWhatCannotChange(t *testing.T) {
	ev := func(name, data string) service.PublishedEvent {
		return service.PublishedEvent{Event: service.Event{SessionID: "s", Name: name, Data: json.RawMessage(data)}}
	}
	established := ev("interaction.partystatechanged", `{"interactionid":"i1","partystate":"established"}`)
	held := ev("interaction.partystatechanged", `{"interactionid":"i1","partystate":"held"}`)
	readded := ev("interaction.added", `{"interactionid":"i1"}`)
	udata := ev("interaction.udata.changed", `{"interactionid":"i1"}`)
	tests := []struct {
		name      string
		known     []string // interactions known connected before
		events    []service.PublishedEvent
		read      []string
		skipped   int
		knownThen []string
	}{
		{"a first move to established is read", nil, []service.PublishedEvent{established}, []string{"i1"}, 0, nil},
		{"a move to established of one known connected is not", []string{"i1"}, []service.PublishedEvent{established, held},
			nil, 2, []string{"i1"}},
		{"added anew, it is read and no longer known", []string{"i1"}, []service.PublishedEvent{readded, established},
			[]string{"i1"}, 0, nil},
		{"user data leaves it known", []string{"i1"}, []service.PublishedEvent{udata, established}, nil, 2, []string{"i1"}},
		{"another interaction is read", []string{"i2"}, []service.PublishedEvent{established}, []string{"i1"}, 0, []string{"i2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known := knownConnected{}
			for _, id := range tt.known {
				known[key{"s", id}] = struct{}{}
			}
			keys, skipped := interactionsOf(tt.events, known)
			var read, then []string
			for _, k := range keys {
				read = append(read, k.interaction)
			}
			for k := range known {
				then = append(then, k.interaction)
			}
			slices.Sort(then)
			if !slices.Equal(read, tt.read) || skipped != tt.skipped || !slices.Equal(then, tt.knownThen) {
				t.Fatalf("read %v, skipped %d, known then %v; want %v, %d, %v", read, skipped, then, tt.read, tt.skipped, tt.knownThen)
			}
		})
	}
}

func TestKnownConnectedIsBounded(t *testing.T) {
	known := knownConnected{}
	for i := range maxKnownConnected + 10 {
		known.learn([]key{{"s", fmt.Sprint(i)}})
	}
	if len(known) > maxKnownConnected {
		t.Fatalf("%d known, more than %d", len(known), maxKnownConnected)
	}
}
