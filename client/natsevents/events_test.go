package natsevents_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ixnstore/ixnstore/client"
	"github.com/ixnstore/ixnstore/client/natsevents"
	"github.com/ixnstore/ixnstore/internal/natstest"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/internal/testserver"
)

// writeCall writes a call's life into session sid and returns its events' ids in order.
func writeCall(t *testing.T, ctx context.Context, c *client.Client, sid string) []int64 {
	t.Helper()
	var ids []int64
	keep := func(evs []client.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			ids = append(ids, e.ID)
		}
	}
	if _, err := c.CreateSessionWithResponse(ctx, nil, client.NewSession{SessionID: sid, OwnerNode: "node.1"}); err != nil {
		t.Fatal(err)
	}
	add, err := c.AddInteractionWithResponse(ctx, sid, nil, client.NewInteraction{InteractionID: sid + "-call", Media: "voice",
		Type: client.NewInteractionTypeInbound, Parties: []client.NewParty{{PartyID: "p1", Resource: "+15550001", State: client.Alerting}}})
	if err != nil || add.JSON201 == nil {
		t.Fatalf("add: %v %v", err, add)
	}
	keep(add.JSON201.Events, nil)
	state, err := c.ChangePartyStateWithResponse(ctx, sid, sid+"-call", "p1", nil, client.ChangePartyStateJSONRequestBody{State: client.Established})
	if err != nil || state.JSON200 == nil {
		t.Fatalf("state: %v %v", err, state)
	}
	keep(state.JSON200.Events, nil)
	end, err := c.EndSessionWithResponse(ctx, sid, nil)
	if err != nil || end.JSON200 == nil {
		t.Fatalf("end: %v %v", err, end)
	}
	keep(end.JSON200.Events, nil)
	return ids
}

// take reads n events of the stream, failing the test if they do not come.
func take(t *testing.T, ctx context.Context, js jetstream.JetStream, opts natsevents.Options, n int) []natsevents.Event {
	t.Helper()
	var got []natsevents.Event
	for ev, err := range natsevents.Events(ctx, js, opts) {
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(got), n, err)
		}
		got = append(got, ev)
		if len(got) == n {
			break
		}
	}
	return got
}

// The events the bridge put in JetStream, read with natsevents: every event written, once, in
// publication order and each session's seq order; a consumer resumes after the stream sequence
// it last handled; a session's filter gives that session's events; a copy of an event stored
// again (a bridge that sent it after its duplicate window) is not seen twice.
func TestEventsFromJetStream(t *testing.T) {
	t.Parallel()
	url := natstest.URL(t)
	stream, prefix := natstest.Unique("EVT"), natstest.Unique("evt")
	cl := testserver.NewCluster(t, testdb.URL(t))
	srv := cl.Start("--nats-url", url, "--nats-stream", stream, "--nats-subject-prefix", prefix)
	js := natstest.Client(t, url, stream)
	ctx, cancel := context.WithTimeout(context.Background(), natstest.Within)
	defer cancel()
	c, err := client.New(srv.URL, client.Config{Token: cl.Token})
	if err != nil {
		t.Fatal(err)
	}
	written := map[string][]int64{}
	total := 0
	for i := range 5 {
		sid := fmt.Sprintf("s.%d", i)
		written[sid] = writeCall(t, ctx, c, sid)
		total += len(written[sid])
	}
	opts := natsevents.Options{Stream: stream, SubjectPrefix: prefix, Backoff: client.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}}

	all := take(t, ctx, js, opts, total)
	got := map[string][]int64{}
	for i, ev := range all {
		if i > 0 && ev.PubSeq <= all[i-1].PubSeq {
			t.Fatalf("pub_seq %d after %d", ev.PubSeq, all[i-1].PubSeq)
		}
		if n := len(got[ev.SessionID]); int64(n+1) != ev.Seq {
			t.Fatalf("session %s: seq %d after %d events", ev.SessionID, ev.Seq, n)
		}
		got[ev.SessionID] = append(got[ev.SessionID], ev.ID)
	}
	for sid, ids := range written {
		if fmt.Sprint(got[sid]) != fmt.Sprint(ids) {
			t.Errorf("session %s: read %v, wrote %v", sid, got[sid], ids)
		}
	}

	resumed := opts
	resumed.After = all[9].StreamSeq
	if next := take(t, ctx, js, resumed, 1)[0]; next.ID != all[10].ID {
		t.Errorf("resumed after the 10th event at event %d, want %d", next.ID, all[10].ID)
	}

	one := opts
	one.SessionID = "s.3"
	var ids []int64
	for _, ev := range take(t, ctx, js, one, len(written["s.3"])) {
		ids = append(ids, ev.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint(written["s.3"]) {
		t.Errorf("session s.3's filter read %v, want %v", ids, written["s.3"])
	}

	// A copy of the first event, stored again under another message id (the server's
	// duplicate window would drop one with the same id), then one more call.
	first := all[0]
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: first.Subject, Data: mustJSON(t, first.PublishedEvent),
		Header: nats.Header{jetstream.MsgIDHeader: []string{"copy"}}}); err != nil {
		t.Fatal(err)
	}
	more := writeCall(t, ctx, c, "s.after")
	again := take(t, ctx, js, opts, total+len(more))
	seen := map[int64]int{}
	for _, ev := range again {
		seen[ev.ID]++
		if seen[ev.ID] > 1 {
			t.Fatalf("event %d read twice", ev.ID)
		}
	}
	if last := again[len(again)-1]; last.ID != more[len(more)-1] {
		t.Errorf("the last event read is %d, want the new call's last, %d", last.ID, more[len(more)-1])
	}
}

// A stream that does not exist, or a session and a node at once, is an error at once, not a
// wait.
func TestEventsRefusesWhatCannotBeRead(t *testing.T) {
	t.Parallel()
	url := natstest.URL(t)
	stream := natstest.Unique("NONE")
	js := natstest.Client(t, url, stream)
	ctx, cancel := context.WithTimeout(context.Background(), natstest.Within)
	defer cancel()
	for name, opts := range map[string]natsevents.Options{
		"no such stream":       {Stream: stream},
		"a session and a node": {Stream: stream, SessionID: "s", NodeID: "n"},
	} {
		for _, err := range natsevents.Events(ctx, js, opts) {
			if err == nil || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want a refusal", name, err)
			}
			break
		}
	}
}

func mustJSON(t *testing.T, ev client.PublishedEvent) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
