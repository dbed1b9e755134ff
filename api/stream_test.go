package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

// newPublishingServer is newServer with a dispatcher and a stream hub woken by it.
func newPublishingServer(t *testing.T) *client {
	t.Helper()
	c, _ := newStreamingServer(t, streamhub.Config{})
	return c
}

// newStreamingServer is newPublishingServer with the hub set up by hubCfg (Read, Last and
// Wake are filled in); it returns the hub too.
func newStreamingServer(t *testing.T, hubCfg streamhub.Config) (*client, *streamhub.Hub) {
	t.Helper()
	pool := testdb.Pool(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	published := api.NewSignal()
	d := dispatcher.New(dispatcher.Config{
		ConnString: pool.Config().ConnString(), Instance: "test", PollInterval: 50 * time.Millisecond,
		Logger: logger, Published: func(int64) { published.Raise() },
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	store := service.New(pool, service.Config{Written: d.Wake})
	hubCfg.Read, hubCfg.Last, hubCfg.Wake = store.ListPublished, store.LastPubSeq, published.C
	hub, err := streamhub.New(hubCfg)
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { hub.Run(ctx) })
	stopping := make(chan struct{})
	srv := httptest.NewServer(api.New(store, logger, api.Options{Streams: hub, Stopping: stopping,
		Reports: reporting.New(pool)}))
	t.Cleanup(func() {
		close(stopping)
		srv.Close()
		cancel()
		wg.Wait()
	})
	return &client{t: t, base: srv.URL, pool: pool}, hub
}

type sseMessage struct {
	id    int64
	event string
	data  service.PublishedEvent
}

// readStream opens the stream and returns its messages on a channel; cancel ends it.
func (c *client) readStream(query string, lastEventID int64) (<-chan sseMessage, context.CancelFunc) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/v1/events/stream"+query, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if lastEventID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastEventID, 10))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		c.t.Fatalf("stream: status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sseMessage, 1000)
	go func() {
		defer close(out)
		defer res.Body.Close()
		var m sseMessage
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.event != "" {
					out <- m
				}
				m = sseMessage{}
			case strings.HasPrefix(line, "id: "):
				m.id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &m.data); err != nil {
					m.event = "unreadable: " + line
				}
			}
		}
	}()
	return out, cancel
}

func receive(t *testing.T, ch <-chan sseMessage, n int) []sseMessage {
	t.Helper()
	var got []sseMessage
	timeout := time.After(15 * time.Second)
	for len(got) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("the stream ended after %d of %d messages: %+v", len(got), n, got)
			}
			got = append(got, m)
		case <-timeout:
			t.Fatalf("%d of %d messages after 15s", len(got), n)
		}
	}
	return got
}

// changes writes n party state changes on session s1 (seeded), one event each.
func (c *client) changes(n int) {
	c.t.Helper()
	for i := range n {
		state := "held"
		if i%2 == 1 {
			state = "established"
		}
		c.ok("PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"`+state+`"}`, http.StatusOK)
	}
}

// A stream client that disconnects and comes back with its last id misses nothing and gets
// nothing twice.
func TestStreamResumesFromLastEventID(t *testing.T) {
	t.Parallel()
	c := newPublishingServer(t)
	c.seed() // 2 events
	c.changes(8)

	first, stop := c.readStream("", 0)
	got := receive(t, first, 5)
	stop()
	c.changes(10)

	second, stop2 := c.readStream("", got[len(got)-1].id)
	defer stop2()
	got = append(got, receive(t, second, 15)...)
	for i, m := range got {
		if m.id != int64(i+1) || m.data.PubSeq != m.id || m.data.Seq != int64(i+1) || m.event != m.data.Name {
			t.Fatalf("message %d: id %d, pub_seq %d, seq %d, event %s (%s)", i, m.id, m.data.PubSeq, m.data.Seq, m.event, m.data.Name)
		}
	}
	if got[0].event != "interaction.added" || got[19].event != "interaction.partystatechanged" {
		t.Errorf("events %s … %s", got[0].event, got[19].event)
	}
	// And it keeps delivering what is published while it is open.
	c.changes(1)
	if m := receive(t, second, 1)[0]; m.id != 21 {
		t.Errorf("live event has id %d, want 21", m.id)
	}
}

func TestStreamFilters(t *testing.T) {
	t.Parallel()
	c := newPublishingServer(t)
	c.seed()
	c.ok("POST", "/v1/sessions", `{"session_id":"s2","owner_node":"n2"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s2/interactions", `{"interaction_id":"i2","media":"chat","type":"inbound"}`, http.StatusCreated)
	c.changes(2)

	bySession, stop := c.readStream("?session_id=s2", 0)
	defer stop()
	if m := receive(t, bySession, 1)[0]; m.data.SessionID != "s2" || m.event != "interaction.added" {
		t.Errorf("session filter gave %+v", m)
	}
	byNode, stop2 := c.readStream("?node_id=n1", 0)
	defer stop2()
	for _, m := range receive(t, byNode, 4) {
		if m.data.SessionID != "s1" {
			t.Errorf("node filter gave an event of %s", m.data.SessionID)
		}
	}
	var answer api.ErrorBody
	if got := c.do("GET", "/v1/events/stream?session_id=s1&node_id=n1", nil, nil, &answer); got != http.StatusBadRequest {
		t.Errorf("two filters: status %d", got)
	}
}

// Every stream, whatever its filter and starting point, sends exactly what GET /v1/events
// lists for the same filter, in the same order: from the database while it is behind the
// hub's window (a tiny one here), then from the window.
func TestStreamMatchesTheListing(t *testing.T) {
	t.Parallel()
	c, _ := newStreamingServer(t, streamhub.Config{Window: 4, Page: 2})
	c.seed()
	c.ok("POST", "/v1/sessions", `{"session_id":"s2","owner_node":"n2"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s2/interactions", `{"interaction_id":"i2","media":"chat","type":"inbound"}`, http.StatusCreated)
	c.changes(9)
	// Wait until all of it is published: as many events as the two sessions' last seqs.
	var s1, s2 service.Session
	c.json("GET", "/v1/sessions/s1", "", &s1)
	c.json("GET", "/v1/sessions/s2", "", &s2)
	all, stopAll := c.readStream("", 0)
	receive(t, all, int(s1.LastSeq+s2.LastSeq))
	stopAll()
	for _, tc := range []struct {
		query string
		after int64
	}{{"", 0}, {"", 5}, {"?session_id=s2", 0}, {"?session_id=s1", 3}, {"?node_id=n1", 0}, {"?node_id=n2", 1}} {
		sep := "?"
		if tc.query != "" {
			sep = "&"
		}
		var listing struct{ Events []service.PublishedEvent }
		c.json("GET", "/v1/events"+tc.query+sep+"after="+strconv.FormatInt(tc.after, 10), "", &listing)
		if len(listing.Events) == 0 {
			t.Fatalf("%s after %d: no events listed", tc.query, tc.after)
		}
		stream, stop := c.readStream(tc.query, tc.after)
		got := receive(t, stream, len(listing.Events))
		stop()
		for i, m := range got {
			want, _ := json.Marshal(listing.Events[i])
			have, _ := json.Marshal(m.data)
			if m.id != listing.Events[i].PubSeq || string(have) != string(want) {
				t.Fatalf("%s after %d, event %d: id %d %s\nwant %s", tc.query, tc.after, i, m.id, have, want)
			}
		}
	}
}

// A stream that starts at the beginning while events are written catches up from the
// database and goes on live from the window with no gap and nothing twice.
func TestStreamCatchesUpWhileEventsArePublished(t *testing.T) {
	t.Parallel()
	c, _ := newStreamingServer(t, streamhub.Config{Window: 8, Page: 3})
	c.seed() // 2 events
	c.changes(30)
	stream, stop := c.readStream("", 0)
	defer stop()
	written := make(chan struct{})
	go func() { defer close(written); c.changes(40) }()
	got := receive(t, stream, 72)
	<-written
	for i, m := range got {
		if m.id != int64(i+1) || m.data.Seq != int64(i+1) {
			t.Fatalf("message %d: id %d, seq %d", i, m.id, m.data.Seq)
		}
	}
}

// Beyond the cap a stream is refused with 503 too_many_streams and a Retry-After.
func TestStreamCapAnswers503(t *testing.T) {
	t.Parallel()
	c, hub := newStreamingServer(t, streamhub.Config{MaxStreams: 2})
	c.seed()
	for range 2 {
		stream, stop := c.readStream("", 0)
		defer stop()
		receive(t, stream, 1) // subscribed
	}
	res, err := http.Get(c.base + "/v1/events/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var answer api.ErrorBody
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || answer.Error.Code != "too_many_streams" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("a third stream: %d %+v, Retry-After %q", res.StatusCode, answer.Error, res.Header.Get("Retry-After"))
	}
	if n := hub.Streams(); n != 2 {
		t.Errorf("%d streams, want 2", n)
	}
}
