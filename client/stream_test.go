package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/client"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/internal/testserver"
)

// writeCalls writes a call's life into session sid through c and returns the ids of the
// events it wrote.
func writeCalls(t *testing.T, ctx context.Context, c *client.Client, sid string) []int64 {
	t.Helper()
	var ids []int64
	keep := func(evs []client.Event) {
		for _, e := range evs {
			ids = append(ids, e.ID)
		}
	}
	if _, err := c.CreateSessionWithResponse(ctx, nil, client.NewSession{SessionID: sid}); err != nil {
		t.Fatal(err)
	}
	add := must[*client.AddInteractionResponse](t, "add")(c.AddInteractionWithResponse(ctx, sid, nil, client.NewInteraction{
		InteractionID: sid + "-call", Media: "voice", Type: client.NewInteractionTypeInbound,
		Parties: []client.NewParty{{PartyID: "p1", Resource: "+15550001", State: client.Alerting}}}))
	keep(add.JSON201.Events)
	keep(must[*client.PresentInteractionResponse](t, "present")(c.PresentInteractionWithResponse(ctx, sid, sid+"-call", nil)).JSON200.Events)
	keep(must[*client.ChangePartyStateResponse](t, "state")(c.ChangePartyStateWithResponse(ctx, sid, sid+"-call", "p1", nil, client.ChangePartyStateJSONRequestBody{State: client.Established})).JSON200.Events)
	keep(must[*client.EndSessionResponse](t, "end")(c.EndSessionWithResponse(ctx, sid, nil)).JSON200.Events)
	return ids
}

// TestStreamAcrossRestartAndFailover: a consumer follows the event stream of one instance
// while that instance restarts and while the instance that dispatches stops and the other
// takes publication over; writes go on meanwhile through whichever instance is up. It sees
// every event written, once, in publication order and each session's seq order.
func TestStreamAcrossRestartAndFailover(t *testing.T) {
	t.Parallel()
	cl := testserver.NewCluster(t, testdb.URL(t))
	leader := cl.Start("--instance", "a")
	leader.WaitLog("msg=dispatching")
	standby := cl.Start("--instance", "b")
	standby.WaitLog("standing by")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	viaLeader := must[*client.Client](t, "client")(client.New(leader.URL, client.Config{Token: cl.Token}))
	viaStandby := must[*client.Client](t, "client")(client.New(standby.URL, client.Config{Token: cl.Token}))

	want := map[int64]bool{}
	write := func(c *client.Client, sid string) {
		for _, id := range writeCalls(t, ctx, c, sid) {
			want[id] = true
		}
	}
	write(viaStandby, "before")

	type seen struct {
		ev  client.PublishedEvent
		err error
	}
	got := make(chan seen, 1000)
	go func() {
		defer close(got)
		for ev, err := range viaStandby.Events(ctx, client.StreamOptions{Backoff: client.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}}) {
			got <- seen{ev, err}
			if err != nil {
				return
			}
		}
	}()
	var events []client.PublishedEvent
	waitFor := func(n int) {
		t.Helper()
		for len(events) < n {
			select {
			case s, ok := <-got:
				if !ok || s.err != nil {
					t.Fatalf("the stream ended after %d events: %v", len(events), s.err)
				}
				events = append(events, s.ev)
			case <-ctx.Done():
				t.Fatalf("%d events of %d after 90s", len(events), n)
			}
		}
	}
	waitFor(len(want))

	// The consumer's instance restarts; writes meanwhile go through the other.
	standby.Stop()
	write(viaLeader, "during-restart")
	standby.Restart()
	write(viaStandby, "after-restart")
	waitFor(len(want))

	// The dispatching instance stops; the one the consumer follows takes publication over.
	leader.Stop()
	standby.WaitLog("msg=dispatching")
	write(viaStandby, "after-failover")
	waitFor(len(want))

	select {
	case s := <-got:
		t.Fatalf("an event more than written: %+v %v", s.ev, s.err)
	case <-time.After(300 * time.Millisecond):
		// Nothing more is published: a repeat would have come with the batch it repeats.
	}
	lastSeq := map[string]int64{}
	var lastPub int64
	for _, ev := range events {
		if !want[ev.ID] {
			t.Fatalf("event %d seen twice or never written", ev.ID)
		}
		delete(want, ev.ID)
		if ev.PubSeq <= lastPub || ev.Seq <= lastSeq[ev.SessionID] {
			t.Fatalf("out of order: %+v after pub %d, seq %d", ev, lastPub, lastSeq[ev.SessionID])
		}
		lastPub, lastSeq[ev.SessionID] = ev.PubSeq, ev.Seq
	}
	if len(want) != 0 {
		t.Fatalf("events never seen: %v", want)
	}
	t.Logf("%d events, each once and in order, across a restart and a failover", len(events))
}

// TestStreamDropsRepeatsAndFollowsCuts plays a server that sends events again after a
// reconnection, repeats one under a new publication number and cuts the stream: the
// consumer sees each event once, and reconnects from the cut's cursor.
func TestStreamDropsRepeatsAndFollowsCuts(t *testing.T) {
	t.Parallel()
	ev := func(pub, id, seq int64) string {
		return fmt.Sprintf("id: %d\nevent: interaction.present\ndata: {\"pub_seq\":%d,\"id\":%d,\"session_id\":\"s1\",\"seq\":%d,\"name\":\"interaction.present\",\"data\":{\"interactionid\":\"i1\"},\"epoch\":1,\"created_at\":\"2026-12-02T00:00:00Z\"}\n\n", pub, pub, id, seq)
	}
	var (
		mu     sync.Mutex
		afters []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		afters = append(afters, r.URL.Query().Get("after"))
		n := len(afters)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		switch n {
		case 1: // two events, then the connection drops
			fmt.Fprint(w, ev(1, 101, 1)+ev(2, 102, 2))
		case 2: // the second again, a repeat of it under a new pub_seq, the third, a cut
			fmt.Fprint(w, ev(2, 102, 2)+ev(3, 102, 2)+ev(4, 103, 3)+": keep-alive\n\n"+
				"id: 4\nevent: stream.cut\ndata: {\"code\":\"slow_consumer\",\"after\":4}\n\n")
		default:
			fmt.Fprint(w, ev(5, 104, 4))
		}
	}))
	defer srv.Close()
	c := must[*client.Client](t, "client")(client.New(srv.URL, client.Config{}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var ids []int64
	for e, err := range c.Events(ctx, client.StreamOptions{Backoff: client.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
		if e.ID == 104 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(ids) != "[101 102 103 104]" || fmt.Sprint(afters) != "[0 2 4]" {
		t.Fatalf("ids %v, connections after %v", ids, afters)
	}
}
