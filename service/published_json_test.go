package service_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/service"
)

// The streams' hand-written JSON is what encoding/json gives for the same event.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	node := "node-1"
	odd := "s\"1<é>\n"
	for _, e := range []service.PublishedEvent{
		{PubSeq: 7, Event: service.Event{ID: 42, SessionID: "s1", Seq: 3, Name: "interaction.partystatechanged",
			Data: json.RawMessage(`{"hints": {}, "partyid": "p1", "partystate": "held"}`), NodeID: &node, Epoch: 2,
			CreatedAt: time.Date(2026, 11, 25, 12, 0, 0, 123456000, time.UTC)}},
		{PubSeq: 1, Event: service.Event{ID: 1, SessionID: odd, Seq: 1, Name: "interaction.added",
			Data: json.RawMessage(`{"interactionid": "i1"}`), CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got := e.AppendJSON(nil)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("not JSON: %s (%v)", got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("\\n got %s\\nwant %s", got, want)
		}
	}
}
