package main_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/internal/natstest"
	"github.com/ixnstore/ixnstore/internal/testdb"
)

// kill -9 of the instance that dispatches and bridges to NATS, under load: the other one
// takes both over, and the JetStream stream holds every committed event once, in publication
// order (so each session's in order); what the killed bridge had sent and not saved is sent
// again and dropped by the server as copies.
func TestKillOfTheBridgeLosesNothing(t *testing.T) {
	t.Parallel()
	natsURL := natstest.URL(t)
	stream, prefix := natstest.Unique("T_KILL_"), natstest.Unique("t")
	js := natstest.Client(t, natsURL, stream)
	url := testdb.URL(t)
	flags := []string{"--database-url", url, "--nats-url", natsURL, "--nats-stream", stream, "--nats-subject-prefix", prefix}
	a := start(t, append(flags, "--instance", "a")...)
	a.waitLog(`msg="bridging to NATS"`)
	b := start(t, append(flags, "--instance", "b")...)
	b.waitLog("another instance bridges to NATS; standing by")
	const sessions = 6
	l := newLoad(t, sessions, a.base, b.base)
	stop := make(chan struct{})
	wg := l.run(sessions, stop)
	l.waitAcked(t, 5*sessions)
	leader, standby := dispatching(t, url, map[string]*process{"a": a, "b": b})
	if leader != a {
		t.Fatalf("b dispatches, though a started first:\n%s", b.log.String())
	}
	leader.kill()
	l.setTargets(standby.base)
	standby.waitLog(`msg="bridging to NATS"`)
	waitPublished(t, url, l.waitAcked(t, 5*sessions))
	close(stop)
	wg.Wait()
	l.verifyPublished(t, standby.base, sessions)
	last := waitBridged(t, url, stream)
	all := natstest.Consume(t, js, stream, prefix+".>", int(last))
	inStream := map[int64]bool{}
	for i, r := range all {
		if r.Event.PubSeq != int64(i+1) {
			t.Fatalf("stream message %d is the event of pub_seq %d", i+1, r.Event.PubSeq)
		}
		inStream[r.Event.ID] = true
	}
	for id := range l.acked {
		if !inStream[id] {
			t.Fatalf("acknowledged event %d is not in the stream", id)
		}
	}
	t.Logf("%d events in the stream, in publication order, each once", len(all))
	standby.stop()
}

// waitBridged waits until the bridge's position reaches the last published event, and
// returns it.
func waitBridged(t *testing.T, url, stream string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The bridge works inside the server: nothing reaches the test, so it asks.
	for {
		var published, bridged int64
		err := conn.QueryRow(ctx, `SELECT (SELECT max(pub_seq) FROM publication),
		       (SELECT last_pub_seq FROM nats_bridge_state WHERE stream = $1)`, stream).Scan(&published, &bridged)
		if err != nil {
			t.Fatalf("waiting for the bridge: %v", err)
		}
		if bridged == published {
			return published
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the bridge is at %d of %d after %v", bridged, published, waitDeadline)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
