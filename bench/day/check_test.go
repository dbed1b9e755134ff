package day

import (
	"slices"
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/client"
)

// aCall is a short call as a node writes it and as its session's events read: the
// interaction is added with the customer, presented, an agent rings and an accept request
// is answered, then both hang up and the interaction leaves.
func aCall() (*Record, []client.Event) {
	const sid, iid = "s1", "s1-i"
	ev := func(seq int64, name string, data map[string]any) client.Event {
		if data == nil {
			data = map[string]any{}
		}
		if _, ok := data["interactionid"]; !ok && !strings.Contains(name, ".done") {
			data["interactionid"] = iid
		}
		return client.Event{ID: 100 + seq, SessionID: sid, Seq: seq, Name: client.EventName(name), Data: data, Epoch: 1, NodeID: "n1"}
	}
	party := func(pid, state string) map[string]any { return map[string]any{"partyid": pid, "partystate": state} }
	events := []client.Event{
		ev(1, "interaction.added", nil),
		ev(2, "interaction.present", nil),
		ev(3, "interaction.partystatechanged", party("customer", "queued")),
		ev(4, "interaction.partyadded", party("agent", "alerting")),
		ev(5, "interaction.accept.done", map[string]any{"requestid": "r1"}),
		ev(6, "interaction.partystatechanged", party("agent", "established")),
		ev(7, "interaction.partystatechanged", party("customer", "established")),
		ev(8, "interaction.udata.changed", nil),
		ev(9, "interaction.partystatechanged", party("customer", "released")),
		ev(10, "interaction.partydeleted", party("customer", "released")),
		ev(11, "interaction.partystatechanged", party("agent", "released")),
		ev(12, "interaction.partydeleted", party("agent", "released")),
		ev(13, "interaction.notcontrolled", map[string]any{"resultof": "deletion"}),
		ev(14, "interaction.deleted", nil),
	}
	rec := newRecord(sid)
	rec.Initial[iid] = map[string]client.PartyState{"customer": client.Routing}
	rec.Requests["r1"] = iid
	for _, e := range events {
		actor := "n1"
		if e.Seq == 5 || e.Seq == 6 {
			actor = "adapter-1" // the accept's answer and its effect
		}
		rec.Confirmed = append(rec.Confirmed, Confirmed{Actor: actor, Event: e})
	}
	return rec, events
}

func TestCheckPassesTheCallAsWritten(t *testing.T) {
	rec, events := aCall()
	if problems := Check(rec, events); len(problems) > 0 {
		t.Fatalf("the call as written fails the check:\n%s", strings.Join(problems, "\n"))
	}
}

// The check must be able to fail: each doctored list of events (or record) below is wrong in
// one way, and the check must say so.
func TestCheckFindsDoctoredEvents(t *testing.T) {
	renumber := func(evs []client.Event) []client.Event {
		for i := range evs {
			evs[i].Seq = int64(i + 1)
		}
		return evs
	}
	tests := []struct {
		name   string
		doctor func(*Record, []client.Event) []client.Event
		want   string
	}{
		{"an event missing", func(_ *Record, evs []client.Event) []client.Event {
			return slices.Delete(evs, 7, 8) // the udata change: seq 9 now follows seq 7
		}, "a gap"},
		{"an event missing, the rest renumbered", func(_ *Record, evs []client.Event) []client.Event {
			return renumber(slices.Delete(evs, 7, 8))
		}, "is missing"},
		{"two events swapped", func(_ *Record, evs []client.Event) []client.Event {
			evs[2], evs[3] = evs[3], evs[2]
			return evs
		}, "out of order"},
		{"two events swapped, seqs in place", func(_ *Record, evs []client.Event) []client.Event {
			evs[2], evs[3] = evs[3], evs[2]
			return renumber(evs)
		}, "was answered as"},
		{"an event twice", func(_ *Record, evs []client.Event) []client.Event {
			return slices.Insert(evs, 5, evs[4])
		}, "twice"},
		{"an event nobody wrote", func(_ *Record, evs []client.Event) []client.Event {
			extra := evs[7]
			extra.ID, extra.Seq = 999, 15
			return append(evs, extra)
		}, "written by nothing"},
		{"the interaction before it was added", func(rec *Record, evs []client.Event) []client.Event {
			evs[0].Name, evs[1].Name = "interaction.present", "interaction.added"
			rec.Confirmed[0].Event.Name, rec.Confirmed[1].Event.Name = "interaction.present", "interaction.added"
			return evs
		}, "before its interaction.added"},
		{"a party moved where it may not", func(rec *Record, evs []client.Event) []client.Event {
			rec.Initial["s1-i"]["customer"] = client.Held // held may not go to queued
			return evs
		}, "moved from held to queued"},
		{"a released party that stays", func(rec *Record, evs []client.Event) []client.Event {
			evs = slices.Delete(evs, 9, 10)
			rec.Confirmed = slices.DeleteFunc(rec.Confirmed, func(c Confirmed) bool { return c.Event.Seq == 10 })
			return renumber(evs)
		}, "did not leave next"},
		{"deleted while controlled", func(rec *Record, evs []client.Event) []client.Event {
			evs = slices.Delete(evs, 12, 13)
			rec.Confirmed = slices.DeleteFunc(rec.Confirmed, func(c Confirmed) bool { return c.Event.Seq == 13 })
			return renumber(evs)
		}, "deleted while controlled"},
		{"a request never answered", func(rec *Record, evs []client.Event) []client.Event {
			rec.Requests["r2"] = "s1-i"
			return evs
		}, "request r2 ended in 0 answer events"},
		{"an actor's events in another order", func(rec *Record, evs []client.Event) []client.Event {
			rec.Confirmed[2], rec.Confirmed[3] = rec.Confirmed[3], rec.Confirmed[2]
			return evs
		}, "wrote seq 3"},
		{"an epoch going down", func(_ *Record, evs []client.Event) []client.Event {
			for i := range evs[:5] {
				evs[i].Epoch = 2
			}
			return evs
		}, "epoch 1 after epoch 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, events := aCall()
			problems := Check(rec, tt.doctor(rec, events))
			t.Logf("problems: %q", problems)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Fatalf("want a problem with %q, got %q", tt.want, problems)
			}
		})
	}
}
