package streamhub_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pubLog is publication in memory: what the hub and catching-up streams read, with the
// dispatcher's signal raised at each publish.
type pubLog struct {
	mu      sync.Mutex
	events  []streamhub.Event // events[i].PubSeq == i+1
	seqs    map[string]int64
	wake    chan struct{}
	reads   atomic.Int64 // reads by streams catching up (filtered or not)
	hubRead atomic.Int64
	gate    chan struct{} // when set, catch-up reads wait for it
}

func (l *pubLog) setGate(gate chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gate = gate
}

func (l *pubLog) len() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.events))
}

func newPubLog() *pubLog {
	return &pubLog{seqs: map[string]int64{}, wake: make(chan struct{})}
}

func (l *pubLog) C() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wake
}

// publish publishes one event of each of these sessions; the session "sN-nM" is owned by node
// "nM".
func (l *pubLog) publish(sessions ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range sessions {
		l.seqs[s]++
		node := s[len(s)-2:]
		l.events = append(l.events, streamhub.Event{PubSeq: int64(len(l.events) + 1), Event: service.Event{
			ID: int64(len(l.events) + 1), SessionID: s, Seq: l.seqs[s], Name: "interaction.partystatechanged", NodeID: &node}})
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

func (l *pubLog) last(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.events)), nil
}

func (l *pubLog) read(ctx context.Context, f streamhub.Filter, after int64, limit int) ([]streamhub.Event, error) {
	if f == (streamhub.Filter{}) && limit == streamhub.DefaultHubPage {
		l.hubRead.Add(1)
	} else {
		l.reads.Add(1)
		l.mu.Lock()
		gate := l.gate
		l.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []streamhub.Event
	for _, e := range l.events[min(after, int64(len(l.events))):] {
		if len(out) == limit {
			break
		}
		if (f.SessionID == "" || e.SessionID == f.SessionID) && (f.NodeID == "" || *e.NodeID == f.NodeID) {
			out = append(out, e)
		}
	}
	return out, nil
}

// run starts a hub on l; it stops at the end of the test.
func run(t *testing.T, l *pubLog, cfg streamhub.Config) (*streamhub.Hub, *streamhub.Signals) {
	t.Helper()
	cfg.Read, cfg.Last, cfg.Wake = l.read, l.last, l.C
	if cfg.HubPage == 0 {
		cfg.HubPage = streamhub.DefaultHubPage
	}
	cfg.Poll = time.Hour // woken only: a test that passes does not depend on polling
	read := &streamhub.Signals{Read: make(chan int64, 1000)}
	cfg.Signals = read
	hub, err := streamhub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return hub, read
}

// waitRead waits until the hub holds hi.
func waitRead(t *testing.T, read *streamhub.Signals, hi int64) {
	t.Helper()
	if err := read.WaitRead(hi, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// checkOrder holds events to publication order with each session's seqs 1, 2, 3… from
// firstSeq on, and no event twice.
func checkOrder(t *testing.T, events []streamhub.Event, firstSeq map[string]int64) {
	t.Helper()
	next := map[string]int64{}
	for k, v := range firstSeq {
		next[k] = v
	}
	var last int64
	for _, e := range events {
		if e.PubSeq <= last {
			t.Fatalf("pub_seq %d after %d", e.PubSeq, last)
		}
		last = e.PubSeq
		want, ok := next[e.SessionID]
		if !ok {
			want = 1
		}
		if e.Seq != want {
			t.Fatalf("session %s: seq %d, want %d", e.SessionID, e.Seq, want)
		}
		next[e.SessionID] = want + 1
	}
}

func sessions(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("s%d-n%d", i, i%3))
	}
	return out
}

// Live streams, filtered or not, get exactly their events in order, from the window: the
// database is read by the hub alone.
func TestHubDeliversToManyStreams(t *testing.T) {
	l := newPubLog()
	hub, read := run(t, l, streamhub.Config{Page: 16})
	waitRead(t, read, 0)
	type sub struct {
		filter streamhub.Filter
		want   func(streamhub.Event) bool
	}
	subs := []sub{
		{streamhub.Filter{}, func(streamhub.Event) bool { return true }},
		{streamhub.Filter{SessionID: "s4-n1"}, func(e streamhub.Event) bool { return e.SessionID == "s4-n1" }},
		{streamhub.Filter{NodeID: "n2"}, func(e streamhub.Event) bool { return *e.NodeID == "n2" }},
		{streamhub.Filter{NodeID: "n9"}, func(streamhub.Event) bool { return false }},
	}
	const perFilter = 50
	var streams []*streamhub.Stream
	for _, s := range subs {
		for range perFilter {
			st, err := hub.Subscribe(s.filter, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			streams = append(streams, st)
		}
	}
	for range 20 {
		l.publish(sessions(6)...)
	}
	all := l.events
	waitRead(t, read, int64(len(all)))
	for i, st := range streams {
		var want []streamhub.Event
		for _, e := range all {
			if subs[i/perFilter].want(e) {
				want = append(want, e)
			}
		}
		got := collectTo(t, st, int64(len(all)))
		checkOrder(t, got, nil)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stream %d (%+v):\n got %v\nwant %v", i, subs[i/perFilter].filter, got, want)
		}
		if st.Pos() != int64(len(all)) {
			t.Errorf("stream %d at %d, want %d", i, st.Pos(), len(all))
		}
	}
	if n := l.reads.Load(); n != 0 {
		t.Errorf("%d database reads by live streams, want 0", n)
	}
	if n := hub.Streams(); n != len(streams) {
		t.Errorf("%d streams, want %d", n, len(streams))
	}
}

// A stream that starts behind the window catches up from the database and joins the window
// with no gap and nothing twice, while events are published during its catch-up.
func TestCatchUpJoinsLiveWithoutGapOrDuplicate(t *testing.T) {
	for _, filter := range []streamhub.Filter{{}, {SessionID: "s1-n1"}, {NodeID: "n0"}} {
		t.Run(fmt.Sprintf("%+v", filter), func(t *testing.T) {
			l := newPubLog()
			for range 100 {
				l.publish(sessions(5)...)
			}
			hub, read := run(t, l, streamhub.Config{Page: 7, Window: 50, CachedPages: 4})
			waitRead(t, read, 500)
			gate := make(chan struct{})
			l.setGate(gate)
			st, err := hub.Subscribe(filter, 3)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var got []streamhub.Event
			// Each catch-up read waits at the gate while more is published and read by the
			// hub, which moves the window on under it.
			for l.len() < 1500 {
				done := make(chan struct{})
				var events []streamhub.Event
				go func() {
					defer close(done)
					events, _, err = st.Next(ctx)
				}()
				l.publish(sessions(5)...)
				waitRead(t, read, l.len())
				select {
				case gate <- struct{}{}:
				case <-done:
				}
				<-done
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, events...)
			}
			l.setGate(nil)
			got = append(got, collectTo(t, st, 1500)...)
			var want []streamhub.Event
			for _, e := range l.events[3:] {
				if (filter.SessionID == "" || e.SessionID == filter.SessionID) && (filter.NodeID == "" || *e.NodeID == filter.NodeID) {
					want = append(want, e)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("\n got %d events %v\nwant %d events %v", len(got), got, len(want), want)
			}
			if l.reads.Load() == 0 {
				t.Error("the stream never read the database: it did not start behind the window")
			}
		})
	}
}

// collectTo reads a stream until its position reaches pos.
func collectTo(t *testing.T, s *streamhub.Stream, pos int64) []streamhub.Event {
	t.Helper()
	got, err := drain(s, pos)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// drain reads a stream until its position reaches pos, for at most 10s.
func drain(s *streamhub.Stream, pos int64) ([]streamhub.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []streamhub.Event
	for s.Pos() < pos {
		events, more, err := s.Next(ctx)
		if err != nil {
			return got, err
		}
		got = append(got, events...)
		if len(events) == 0 && s.Pos() < pos {
			select {
			case <-more:
			case <-ctx.Done():
				return got, fmt.Errorf("at %d, not %d, after 10s", s.Pos(), pos)
			}
		}
	}
	return got, nil
}

// Beyond MaxStreams Subscribe refuses; a closed stream frees its place.
func TestStreamCap(t *testing.T) {
	l := newPubLog()
	hub, _ := run(t, l, streamhub.Config{MaxStreams: 3})
	var open []*streamhub.Stream
	for i := range 3 {
		st, err := hub.Subscribe(streamhub.Filter{}, 0)
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		open = append(open, st)
	}
	if _, err := hub.Subscribe(streamhub.Filter{}, 0); !errors.Is(err, streamhub.ErrTooManyStreams) {
		t.Fatalf("a fourth stream: %v, want ErrTooManyStreams", err)
	}
	open[0].Close()
	open[0].Close() // twice frees one place
	st, err := hub.Subscribe(streamhub.Filter{}, 0)
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	if _, err := hub.Subscribe(streamhub.Filter{}, 0); !errors.Is(err, streamhub.ErrTooManyStreams) {
		t.Fatalf("a fourth stream again: %v, want ErrTooManyStreams", err)
	}
	for _, s := range append(open[1:], st) {
		s.Close()
	}
	if n := hub.Streams(); n != 0 {
		t.Fatalf("%d streams after all closed", n)
	}
}

// Many streams catching up from the same place read each page of the database once.
func TestCatchUpReadsAreShared(t *testing.T) {
	l := newPubLog()
	for range 100 {
		l.publish(sessions(10)...)
	}
	hub, read := run(t, l, streamhub.Config{Page: 50, Window: 100, CatchUpReaders: 2, CachedPages: 30})
	waitRead(t, read, 1000)
	const streams = 40
	var wg sync.WaitGroup
	results := make([][]streamhub.Event, streams)
	errs := make([]error, streams)
	for i := range streams {
		st, err := hub.Subscribe(streamhub.Filter{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer st.Close()
			results[i], errs[i] = drain(st, 1000)
		})
	}
	wg.Wait()
	for i, got := range results {
		if errs[i] != nil {
			t.Fatalf("stream %d: %v", i, errs[i])
		}
		if len(got) != 1000 {
			t.Fatalf("stream %d: %d events, want 1000", i, len(got))
		}
		checkOrder(t, got, nil)
	}
	// 900 events behind the window are 18 pages; each short read at the end may be done by
	// every stream, but the full pages are shared.
	if n := l.reads.Load(); n > 18+streams {
		t.Errorf("%d catch-up reads for %d streams over 18 pages, want at most %d", n, streams, 18+streams)
	}
}

// A live stream that falls out of the window while events were waiting for it (a slow
// client) is cut with its cursor, and resumed from that cursor gets the rest; one that was at
// the head when more than the window came at once is not slow: it catches up from the
// database. Either way nothing is lost and nothing comes twice.
func TestFallingOutOfTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		took    int64 // of the first 6 events, before 30 more come at once
		wantCut bool
	}{{"behind: cut", 4, true}, {"at the head: catches up", 6, false}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newPubLog()
			hub, read := run(t, l, streamhub.Config{Page: 4, Window: 10})
			waitRead(t, read, 0)
			st, err := hub.Subscribe(streamhub.Filter{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { st.Close() }()
			l.publish(sessions(6)...)
			waitRead(t, read, 6)
			got := collectTo(t, st, tc.took)
			for range 5 {
				l.publish(sessions(6)...)
			}
			waitRead(t, read, 36)
			rest, err := drain(st, 36)
			var slow *streamhub.SlowError
			switch {
			case tc.wantCut && !errors.As(err, &slow):
				t.Fatalf("a stream behind, then 30 events past a window of 10: %v, want a SlowError", err)
			case tc.wantCut:
				if slow.After != tc.took || slow.After != st.Pos() || len(rest) != 0 {
					t.Fatalf("cut at %d (stream at %d, %d more events), want %d", slow.After, st.Pos(), len(rest), tc.took)
				}
				st.Close()
				st, err = hub.Subscribe(streamhub.Filter{}, slow.After)
				if err != nil {
					t.Fatal(err)
				}
				rest = collectTo(t, st, 36)
			case err != nil:
				t.Fatal(err)
			}
			got = append(got, rest...)
			checkOrder(t, got, nil)
			if len(got) != 36 || got[35].PubSeq != 36 {
				t.Fatalf("%d events ending at %d, want 36", len(got), got[len(got)-1].PubSeq)
			}
			if l.reads.Load() == 0 {
				t.Error("the rest did not come from the database")
			}
		})
	}
}

// A filtered stream with nothing to send is woken by its own session's or node's events
// only, not by every publish.
func TestFilteredStreamsWakeForTheirEventsOnly(t *testing.T) {
	for _, filter := range []streamhub.Filter{{SessionID: "s1-n1"}, {NodeID: "n1"}} {
		t.Run(fmt.Sprintf("%+v", filter), func(t *testing.T) {
			l := newPubLog()
			hub, read := run(t, l, streamhub.Config{})
			waitRead(t, read, 0)
			st, err := hub.Subscribe(filter, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			events, wait, err := st.Next(context.Background())
			if err != nil || len(events) != 0 {
				t.Fatalf("%v, %v", events, err)
			}
			l.publish("s0-n0", "s2-n2", "s3-n0")
			waitRead(t, read, 3)
			select {
			case <-wait:
				t.Fatal("woken by events of other sessions and nodes")
			default:
			}
			l.publish("s1-n1")
			waitRead(t, read, 4)
			select {
			case <-wait:
			default:
				t.Fatal("not woken by its own event")
			}
			if got := collectTo(t, st, 4); len(got) != 1 || got[0].PubSeq != 4 {
				t.Fatalf("got %v, want event 4", got)
			}
		})
	}
}

// With IdleRest the hub reads nothing while no stream is subscribed, and a stream that
// subscribes then gets everything after its cursor, what was published while the hub rested
// and what comes after, in order.
func TestIdleRest(t *testing.T) {
	l := newPubLog()
	hub, read := run(t, l, streamhub.Config{Page: 16, IdleRest: true})
	for range 5 {
		l.publish(sessions(4)...)
	}
	if n := l.hubRead.Load(); n != 0 {
		t.Fatalf("the hub read %d times with no stream subscribed", n)
	}
	st, err := hub.Subscribe(streamhub.Filter{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitRead(t, read, int64(len(l.events)))
	for range 3 {
		l.publish(sessions(4)...)
	}
	all := l.events
	got := collectTo(t, st, int64(len(all)))
	if fmt.Sprint(got) != fmt.Sprint(all[3:]) {
		t.Fatalf("after a rest:\n got %v\nwant %v", got, all[3:])
	}
	if l.hubRead.Load() == 0 {
		t.Error("the hub never read once a stream subscribed")
	}
}
