package natsbridge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/ixnstore/ixnstore/client/natsevents"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/natstest"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/natsbridge"
	"github.com/ixnstore/ixnstore/service"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// world is a database with a dispatcher running, and a bridge config for it.
type world struct {
	t         *testing.T
	pool      *pgxpool.Pool
	store     *service.Store
	published *broadcast
	held      map[string]bool
	mu        sync.Mutex
}

// broadcast wakes every waiter of C at each Raise, as the dispatcher's signal does.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func (b *broadcast) C() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) Raise() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	pool := testdb.Pool(t)
	w := &world{t: t, pool: pool, published: &broadcast{}, held: map[string]bool{}}
	w.store = service.New(pool, service.Config{})
	d := dispatcher.New(dispatcher.Config{ConnString: pool.Config().ConnString(), Instance: "test",
		PollInterval: 10 * time.Millisecond, LockRetry: 50 * time.Millisecond, Logger: quiet,
		Published: func(int64) { w.published.Raise() }})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w
}

// sessions creates n sessions, owned by node n-1.x (a dot, to be escaped), each with an
// interaction and a party: one event each (interaction.added).
func (w *world) sessions(n int) []string {
	w.t.Helper()
	ctx := context.Background()
	var ids []string
	for i := range n {
		sid := fmt.Sprintf("s.%d", i)
		owner := "n-1.x"
		if _, err := w.store.CreateSession(ctx, service.NewSession{SessionID: sid, OwnerNode: &owner}); err != nil {
			w.t.Fatal(err)
		}
		if _, err := w.store.AddInteraction(ctx, service.Target{SessionID: sid}, service.NewInteraction{
			InteractionID: sid + "-i", Media: "voice", Type: "inbound",
			Parties: []service.NewParty{{PartyID: "p1", Resource: "r1", State: "established"}}}); err != nil {
			w.t.Fatal(err)
		}
		ids = append(ids, sid)
	}
	return ids
}

// change writes one event on the session: p1 held, or established again.
func (w *world) change(ctx context.Context, sid string) error {
	w.mu.Lock()
	state := "held"
	if w.held[sid] {
		state = "established"
	}
	w.mu.Unlock()
	if _, err := w.store.ChangePartyState(ctx, service.Target{SessionID: sid}, sid+"-i", "p1", service.PartyStateChange{State: state}); err != nil {
		return err
	}
	w.mu.Lock()
	w.held[sid] = !w.held[sid]
	w.mu.Unlock()
	return nil
}

// writeConcurrently writes per events on each session, one writer per session.
func (w *world) writeConcurrently(sids []string, per int) {
	w.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(sids))
	for _, sid := range sids {
		wg.Go(func() {
			for range per {
				if err := w.change(context.Background(), sid); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		w.t.Fatal(err)
	}
}

// waitPublished waits until the dispatcher has published n events, and returns the last
// publication number.
func (w *world) waitPublished(n int64) int64 {
	w.t.Helper()
	deadline := time.After(natstest.Within)
	for {
		wake := w.published.C()
		last, err := w.store.LastPubSeq(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		if last >= n {
			return last
		}
		select {
		case <-wake:
		case <-time.After(100 * time.Millisecond): // the dispatcher may have published before C was taken
		case <-deadline:
			w.t.Fatalf("%d of %d events published after %s", last, n, natstest.Within)
		}
	}
}

func (w *world) lastPublished() int64 {
	w.t.Helper()
	last, err := w.store.LastPubSeq(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return last
}

// written is how many events were written.
func (w *world) written() int64 {
	w.t.Helper()
	var n int64
	if err := w.pool.QueryRow(context.Background(), "SELECT count(*) FROM events").Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) position(stream string) int64 {
	w.t.Helper()
	var n int64
	err := w.pool.QueryRow(context.Background(), "SELECT last_pub_seq FROM nats_bridge_state WHERE stream = $1", stream).Scan(&n)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) config(url, stream, prefix string) natsbridge.Config {
	return natsbridge.Config{
		ConnString: w.pool.Config().ConnString(), Instance: "test", URL: url,
		Stream: stream, SubjectPrefix: prefix, Memory: true,
		Read: w.store.ListPublished, Wake: w.published.C,
		Poll: 50 * time.Millisecond, Retry: 100 * time.Millisecond, AckTimeout: 5 * time.Second,
		Logger: quiet, Signals: &natsbridge.Signals{Saved: make(chan int64, 1), Failed: make(chan error, 1)},
	}
}

// run runs a bridge until the test ends or the returned function stops it.
func run(t *testing.T, cfg natsbridge.Config) (*natsbridge.Bridge, func()) {
	t.Helper()
	b, err := natsbridge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { b.Run(ctx) })
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return b, stop
}

// checkSession checks that a session's messages are its events 1..n, in order, each once,
// on subjects by node, session and event name, with the event id as the message id.
func checkSession(t *testing.T, prefix, sid string, got []natstest.Received) {
	t.Helper()
	for i, r := range got {
		e := r.Event
		if e.SessionID != sid || e.Seq != int64(i+1) {
			t.Fatalf("session %s: message %d is the event %d of session %s", sid, i, e.Seq, e.SessionID)
		}
		if want := natsevents.Subject(prefix, e.NodeID, e.SessionID, e.Name); r.Subject != want {
			t.Fatalf("event %d on %q, want %q", e.ID, r.Subject, want)
		}
		if r.MsgID != strconv.FormatInt(e.ID, 10) {
			t.Fatalf("event %d has the message id %q", e.ID, r.MsgID)
		}
	}
}

// checkStream checks that the stream holds the published events 1..last, in publication
// order, each once.
func checkStream(t *testing.T, js jetstream.JetStream, stream, prefix string, last int64) {
	t.Helper()
	all := natstest.Consume(t, js, stream, prefix+".>", int(last))
	next := map[string]int64{}
	for i, r := range all {
		if r.Event.PubSeq != int64(i+1) {
			t.Fatalf("stream message %d is the event of pub_seq %d", i+1, r.Event.PubSeq)
		}
		if r.Event.Seq != next[r.Event.SessionID]+1 {
			t.Fatalf("session %s: seq %d after %d", r.Event.SessionID, r.Event.Seq, next[r.Event.SessionID])
		}
		next[r.Event.SessionID] = r.Event.Seq
	}
}

// Concurrent writers on many sessions: each session's consumer (an ordered consumer on the
// session's subjects) gets its events in order, each once; the stream holds every event in
// publication order.
func TestPerSessionOrderOnAConsumer(t *testing.T) {
	t.Parallel()
	url := natstest.URL(t)
	w := newWorld(t)
	stream, prefix := natstest.Unique("T_ORDER_"), natstest.Unique("t")
	js := natstest.Client(t, url, stream)
	sids := w.sessions(8)
	cfg := w.config(url, stream, prefix)
	cfg.Window = 64 // several windows' worth of events
	run(t, cfg)
	w.writeConcurrently(sids, 40)
	last := w.waitPublished(int64(len(sids) * 41))
	if err := cfg.Signals.WaitSaved(last, natstest.Within); err != nil {
		t.Fatal(err)
	}
	for _, sid := range sids {
		checkSession(t, prefix, sid, natstest.Consume(t, js, stream, natsevents.SessionFilter(prefix, sid), 41))
	}
	checkStream(t, js, stream, prefix, last)
	// Event names are tokens a consumer filters on.
	added := natstest.Consume(t, js, stream, prefix+".*.*.interaction.added", len(sids))
	if added[0].Subject != prefix+".n-1%2Ex.s%2E0.interaction.added" {
		t.Errorf("the first interaction.added went to %s", added[0].Subject)
	}
}

// JetStream refuses events past the stream's limit: the position stops at the last event
// stored, however many runs fail after it, and the events after it follow once the limit is
// lifted, each once, in order.
func TestPositionNeverPassesAnUnacknowledgedEvent(t *testing.T) {
	t.Parallel()
	url := natstest.URL(t)
	w := newWorld(t)
	stream, prefix := natstest.Unique("T_UNACKED_"), natstest.Unique("t")
	js := natstest.Client(t, url, stream)
	ctx := context.Background()
	limited := jetstream.StreamConfig{Name: stream, Subjects: []string{prefix + ".>"}, Storage: jetstream.MemoryStorage,
		Duplicates: natsbridge.DefaultDuplicates, Replicas: 1, MaxMsgs: 5, Discard: jetstream.DiscardNew}
	if _, err := js.CreateStream(ctx, limited); err != nil {
		t.Fatal(err)
	}
	sids := w.sessions(3)
	w.writeConcurrently(sids, 4)
	last := w.waitPublished(15)
	cfg := w.config(url, stream, prefix)
	b, _ := run(t, cfg)
	if err := cfg.Signals.WaitSaved(5, natstest.Within); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		err, werr := cfg.Signals.WaitFailed(natstest.Within)
		if werr != nil {
			t.Fatal(werr)
		}
		if got := w.position(stream); got != 5 {
			t.Fatalf("after %v the position is %d; JetStream stored 5", err, got)
		}
	}
	info, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 5 {
		t.Fatalf("the stream holds %d messages, want 5", n)
	}
	limited.MaxMsgs = -1
	if _, err := js.UpdateStream(ctx, limited); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Signals.WaitSaved(last, natstest.Within); err != nil {
		t.Fatal(err)
	}
	checkStream(t, js, stream, prefix, last)
	if s := b.Stats(); s.Stored != last {
		t.Errorf("the bridge counts %d events stored, want %d (%d duplicates)", s.Stored, last, s.Duplicates)
	}
}

// A bridge that crashed after JetStream stored events and before it saved its position goes
// on after the stream's last event and sends none of them again. Where the stream no longer
// holds its last event (a limit, a work queue's consumer), the bridge sends again from its
// saved position, the server drops the copies by message id, and the stream holds each once.
func TestACrashedBridgeSendsNoEventTwice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		deleteLast        bool
		wantDups, wantNew func(back int64) int64
	}{
		{"goes on after the stream's last event", false,
			func(int64) int64 { return 0 }, func(int64) int64 { return 8 }},
		{"the stream's last event is gone: copies dropped by message id", true,
			func(back int64) int64 { return 44 - back }, func(int64) int64 { return 8 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := natstest.URL(t)
			w := newWorld(t)
			stream, prefix := natstest.Unique("T_DUPS_"), natstest.Unique("t")
			js := natstest.Client(t, url, stream)
			sids := w.sessions(4)
			w.writeConcurrently(sids, 10)
			last := w.waitPublished(44)
			cfg := w.config(url, stream, prefix)
			_, stop := run(t, cfg)
			if err := cfg.Signals.WaitSaved(last, natstest.Within); err != nil {
				t.Fatal(err)
			}
			stop()
			ctx := context.Background()
			if tc.deleteLast {
				s, err := js.Stream(ctx, stream)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.DeleteMsg(ctx, uint64(last)); err != nil {
					t.Fatal(err)
				}
			}
			// The crash: the position as it was before the last two thirds were saved.
			back := last / 3
			if _, err := w.pool.Exec(ctx, "UPDATE nats_bridge_state SET last_pub_seq = $1 WHERE stream = $2", back, stream); err != nil {
				t.Fatal(err)
			}
			w.writeConcurrently(sids, 2)
			last = w.waitPublished(last + 8)
			b, _ := run(t, cfg)
			if err := cfg.Signals.WaitSaved(last, natstest.Within); err != nil {
				t.Fatal(err)
			}
			s := b.Stats()
			if s.Duplicates != tc.wantDups(back) || s.Stored != tc.wantNew(back) {
				t.Errorf("after the rollback to %d: %d duplicates dropped, %d stored; want %d and %d",
					back, s.Duplicates, s.Stored, tc.wantDups(back), tc.wantNew(back))
			}
			if !tc.deleteLast {
				checkStream(t, js, stream, prefix, last)
				return
			}
			// Every event once, in order, but the deleted one.
			all := natstest.Consume(t, js, stream, prefix+".>", int(last-1))
			want := int64(1)
			for _, r := range all {
				if want == 44 {
					want++
				}
				if r.Event.PubSeq != want {
					t.Fatalf("the stream holds the event of pub_seq %d where %d was due", r.Event.PubSeq, want)
				}
				want++
			}
		})
	}
}

// Two bridges on one stream: one bridges, the other stands by and takes over when the
// first stops, from the position the first saved.
func TestOneBridgeAtATime(t *testing.T) {
	t.Parallel()
	url := natstest.URL(t)
	w := newWorld(t)
	stream, prefix := natstest.Unique("T_ONE_"), natstest.Unique("t")
	js := natstest.Client(t, url, stream)
	sids := w.sessions(2)
	last := w.waitPublished(2)
	cfgA, cfgB := w.config(url, stream, prefix), w.config(url, stream, prefix)
	cfgA.Instance, cfgB.Instance = "a", "b"
	a, stopA := run(t, cfgA)
	if err := cfgA.Signals.WaitSaved(last, natstest.Within); err != nil {
		t.Fatal(err)
	}
	b, _ := run(t, cfgB)
	w.writeConcurrently(sids, 5)
	last = w.waitPublished(12)
	if err := cfgA.Signals.WaitSaved(last, natstest.Within); err != nil {
		t.Fatal(err)
	}
	if !a.IsLeader() || b.IsLeader() {
		t.Fatalf("a leads: %v, b leads: %v", a.IsLeader(), b.IsLeader())
	}
	stopA()
	w.writeConcurrently(sids, 5)
	last = w.waitPublished(22)
	if err := cfgB.Signals.WaitSaved(last, natstest.Within); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Stored != 10 || s.Duplicates != 0 {
		t.Errorf("b stored %d and sent %d copies, want 10 and 0", s.Stored, s.Duplicates)
	}
	checkStream(t, js, stream, prefix, last)
}

// NATS stops under load (its process gone; JetStream's files stay) and starts again: the
// bridge starts again by itself, and the stream holds every event once, in order.
func TestNATSRestartLosesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	srv := natstest.StartServer(t, t.TempDir(), [2]int{19450, 19499})
	stream, prefix := "RESTART", "ixn"
	js := natstest.Client(t, srv.URL(), stream)
	sids := w.sessions(6)
	cfg := w.config(srv.URL(), stream, prefix)
	cfg.Memory = false // files, which the restart keeps
	run(t, cfg)
	ctx, stopLoad := context.WithCancel(context.Background())
	var load sync.WaitGroup
	load.Go(func() {
		for ctx.Err() == nil {
			for _, sid := range sids {
				if err := w.change(ctx, sid); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}
	})
	defer func() { stopLoad(); load.Wait() }()
	if err := cfg.Signals.WaitSaved(30, natstest.Within); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	if _, err := cfg.Signals.WaitFailed(natstest.Within); err != nil {
		t.Fatal(err)
	}
	// Events go on being published while NATS is down.
	down := w.waitPublished(w.lastPublished() + 30)
	srv.Start(t)
	if err := cfg.Signals.WaitSaved(down+30, natstest.Within); err != nil {
		t.Fatal(err)
	}
	stopLoad()
	load.Wait()
	// A change the load gave up on when it stopped may still commit: its statement runs on
	// after the client's cancel. It holds its session's row lock until then; wait for them.
	if _, err := w.pool.Exec(context.Background(), "SELECT FROM sessions WHERE session_id = ANY($1) FOR UPDATE", sids); err != nil {
		t.Fatal(err)
	}
	last := w.waitPublished(w.written())
	if err := cfg.Signals.WaitSaved(last, natstest.Within); err != nil {
		t.Fatal(err)
	}
	checkStream(t, js, stream, prefix, last)
}
