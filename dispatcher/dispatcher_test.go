package dispatcher_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// run starts a dispatcher on the database until the test ends.
func run(t *testing.T, pool *pgxpool.Pool, name string, batch int) (*dispatcher.Dispatcher, context.CancelFunc) {
	t.Helper()
	return runConfig(t, pool, dispatcher.Config{Instance: name, BatchSize: batch})
}

func runConfig(t *testing.T, pool *pgxpool.Pool, cfg dispatcher.Config) (*dispatcher.Dispatcher, context.CancelFunc) {
	t.Helper()
	cfg.ConnString = pool.Config().ConnString()
	cfg.PollInterval = 20 * time.Millisecond
	cfg.LockRetry = 50 * time.Millisecond
	cfg.Logger = quiet
	d := dispatcher.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return d, cancel
}

// session creates a session with one presented interaction and an established party p1.
func session(t testing.TB, s *service.Store, id string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateSession(ctx, service.NewSession{SessionID: id}); err != nil {
		t.Fatal(err)
	}
	tg := service.Target{SessionID: id}
	if _, err := s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: id + "-i", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{{PartyID: "p1", Resource: "r1", State: "established"}}}); err != nil {
		t.Fatal(err)
	}
}

// toggle changes p1's state on the session's interaction: one event.
func toggle(ctx context.Context, q *db.Queries, sessionID string, held bool) error {
	state := db.PartyStateEstablished
	if held {
		state = db.PartyStateHeld
	}
	_, err := q.PartyStateChange(ctx, db.PartyStateChangeParams{
		SessionID: sessionID, InteractionID: sessionID + "-i", PartyID: "p1", State: state, Hints: []byte(`{}`)})
	return err
}

type published struct {
	pubSeq, seq int64
	session     string
}

// allPublished reads the whole publication order through the service.
func allPublished(t *testing.T, s *service.Store) []published {
	t.Helper()
	var out []published
	after := int64(0)
	for {
		page, err := s.ListPublished(context.Background(), service.PublishedFilter{}, after, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		for _, e := range page {
			out = append(out, published{pubSeq: e.PubSeq, seq: e.Seq, session: e.SessionID})
			after = e.PubSeq
		}
	}
}

// waitPublished waits until every event in the outbox is published.
func waitPublished(t *testing.T, pool *pgxpool.Pool, s *service.Store) []published {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := db.New(pool).StoreCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := allPublished(t, s)
		if int64(len(got)) == c.Events {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events published after 30s", len(got), c.Events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkOrder: publication numbers are 1..n, and each session's events come in seq order from
// 1, none missing, none twice.
func checkOrder(t *testing.T, got []published) {
	t.Helper()
	next := map[string]int64{}
	for i, p := range got {
		if p.pubSeq != int64(i+1) {
			t.Fatalf("publication %d has pub_seq %d", i, p.pubSeq)
		}
		if p.seq != next[p.session]+1 {
			t.Fatalf("session %s: seq %d published after seq %d", p.session, p.seq, next[p.session])
		}
		next[p.session] = p.seq
	}
}

func TestConcurrentWritersArePublishedInSessionOrder(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	const sessions, writers, changes = 20, 10, 40
	for i := range sessions {
		session(t, s, fmt.Sprintf("s%d", i))
	}
	run(t, pool, "d1", 50)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			q := db.New(pool)
			for c := range changes {
				// Writers share sessions; a refused toggle (the party is already in that
				// state) writes nothing and is fine here.
				if err := toggle(context.Background(), q, fmt.Sprintf("s%d", (w+c)%sessions), c%2 == 0); err != nil && !isTransition(err) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkOrder(t, waitPublished(t, pool, s))
}

func isTransition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "IXST0"
}

// An event whose transaction commits late is held back while that transaction is open (and
// with it everything written after it began), and published in its place once it commits,
// without a later event of its session to pull it in.
func TestLateCommitIsPublished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	for _, id := range []string{"slow", "fast", "early"} {
		session(t, s, id)
	}
	// Each committed batch raises a signal: the test waits on passes of the dispatcher, not
	// on time.
	batch := make(chan struct{}, 1)
	runConfig(t, pool, dispatcher.Config{Instance: "d1", BatchSize: 10, Published: func(int64) {
		select {
		case batch <- struct{}{}:
		default:
		}
	}})
	waitPublished(t, pool, s)
	q := db.New(pool)

	// "early" takes its transaction id first, then "slow" writes its event and stays open.
	early, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Rollback(ctx) //nolint:errcheck
	if err := toggle(ctx, q.WithTx(early), "early", true); err != nil {
		t.Fatal(err)
	}
	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx) //nolint:errcheck
	if err := toggle(ctx, q.WithTx(slow), "slow", true); err != nil {
		t.Fatal(err)
	}
	// Later events of another session commit while slow is open.
	for i := range 20 {
		if err := toggle(ctx, q, "fast", i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	// early commits last. Its event is settled (its id is below slow's), so the dispatcher
	// publishes it, in a pass that began after every fast event had committed: that pass is
	// the proof the dispatcher looked, and chose to hold the rest back.
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	heldBack := func(got []published) {
		for _, p := range got {
			if (p.session == "slow" || p.session == "fast") && p.seq > 1 {
				t.Fatalf("while slow's transaction is open, %s seq %d was published: a commit after it was not held back (%+v)",
					p.session, p.seq, got)
			}
		}
	}
	heldBack(waitForEvent(t, s, batch, "early", 2, heldBack))

	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Now slow's event is published by itself: nothing else is written to its session that
	// could have it published by the filling of a gap.
	waitForEvent(t, s, batch, "slow", 2, nil)
	waitForEvent(t, s, batch, "fast", 21, nil)
	if err := toggle(ctx, q, "slow", false); err != nil {
		t.Fatal(err)
	}
	got := waitPublished(t, pool, s)
	checkOrder(t, got)
	slowCount := 0
	for _, p := range got {
		if p.session == "slow" {
			slowCount++
		}
	}
	if slowCount != 3 { // added, held (the late one), established
		t.Errorf("%d events of the slow session published, want 3", slowCount)
	}
}

// waitForEvent waits, batch by published batch, until the session's event seq is published,
// and returns the publication as it then is. check, when given, sees every state on the way.
func waitForEvent(t *testing.T, s *service.Store, batch <-chan struct{}, session string, seq int64,
	check func([]published)) []published {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		got := allPublished(t, s)
		if check != nil {
			check(got)
		}
		for _, p := range got {
			if p.session == session && p.seq == seq {
				return got
			}
		}
		select {
		case <-batch:
		case <-timeout:
			t.Fatalf("%s seq %d not published after 30s; published %+v", session, seq, got)
		}
	}
}

// Within a session, a later event can have the smaller transaction id: its transaction got an
// id (by writing elsewhere) before it took the session's lock. The dispatcher reads in
// transaction-id order, and must still publish the session's events in seq order.
func TestTransactionIDInversionKeepsSessionOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	for _, id := range []string{"a", "b"} {
		session(t, s, id)
	}
	q := db.New(pool)

	early, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Rollback(ctx)                                       //nolint:errcheck
	if err := toggle(ctx, q.WithTx(early), "b", true); err != nil { // takes its transaction id now
		t.Fatal(err)
	}
	if err := toggle(ctx, q, "a", true); err != nil { // a later id, committed first: a's seq 2
		t.Fatal(err)
	}
	if err := toggle(ctx, q.WithTx(early), "a", false); err != nil { // a's seq 3, the smaller id
		t.Fatal(err)
	}
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := q.OutboxListSessionRange(ctx, db.OutboxListSessionRangeParams{SessionID: "a", AfterSeq: 1, BeforeSeq: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].Txid >= rows[0].Txid {
		t.Fatalf("the scenario did not invert: %+v", rows)
	}
	run(t, pool, "d1", 1) // one event per batch: the inversion spans batches
	checkOrder(t, waitPublished(t, pool, s))
}

// Of two dispatchers on one database one publishes; when it stops, the other takes over and
// goes on from where it stopped.
func TestStandbyTakesOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	session(t, s, "s")
	first, stopFirst := run(t, pool, "first", 100)
	waitFor(t, first.IsLeader)
	second, _ := run(t, pool, "second", 100)
	q := db.New(pool)
	for i := range 10 {
		if err := toggle(ctx, q, "s", i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	waitPublished(t, pool, s)
	if second.IsLeader() {
		t.Fatal("two dispatchers lead at once")
	}
	stopFirst()
	waitFor(t, second.IsLeader)
	for i := range 10 {
		if err := toggle(ctx, q, "s", i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	checkOrder(t, waitPublished(t, pool, s))
	st, err := q.DispatcherStateGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader == nil || *st.Leader != "second" {
		t.Errorf("leader %v, want second", st.Leader)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The dispatcher commits its batches without waiting for their flush (dispatcher.lead): a
// crash may lose the last of them after subscribers saw them, and the next dispatcher must
// then give every event the number it had. Here every batch is lost at once (the publication
// emptied and the position set back, as a crash before any flush would leave them) and a
// dispatcher with other batch boundaries and an empty cache publishes again; commit order
// and transaction id order disagree within sessions, so events are brought forward.
func TestLostBatchesArePublishedAgainWithTheSameNumbers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	const sessions, writers, changes = 6, 8, 30
	for i := range sessions {
		session(t, s, fmt.Sprintf("s%d", i)) // the writers'
		session(t, s, fmt.Sprintf("v%d", i)) // the inversions'
	}
	q := db.New(pool)
	_, stopFirst := run(t, pool, "first", 1) // publishes while the writers write
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			for c := range changes {
				if err := toggle(ctx, q, fmt.Sprintf("s%d", (w+c)%sessions), c%2 == 0); err != nil && !isTransition(err) {
					errs <- err
					return
				}
			}
		})
	}
	// Meanwhile, inversions: a transaction takes its id on one session; another, with a later
	// id, changes a second session and commits; then the first changes the second session
	// too, so that session's later event has the earlier transaction id.
	wg.Go(func() {
		for i := range changes {
			a, b := fmt.Sprintf("v%d", i%sessions), fmt.Sprintf("v%d", (i+1)%sessions)
			if err := invert(ctx, pool, q, a, b); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	first := waitPublished(t, pool, s)
	checkOrder(t, first)
	stopFirst()

	inverted, err := q.OutboxInversions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if inverted == 0 {
		t.Fatal("no session's events committed out of transaction id order: the scenario proves nothing")
	}
	// The batches lost, as a crash loses commits not flushed: the events back in the outbox,
	// as they were, and the position before them.
	if _, err := pool.Exec(ctx, `
		WITH back AS (DELETE FROM publication RETURNING *)
		INSERT INTO outbox (id, session_id, seq, name, attrs, node_id, epoch, txid, created_at) OVERRIDING SYSTEM VALUE
		SELECT id, session_id, seq, name, attrs, node_id, epoch, txid, created_at FROM back`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE dispatcher_state SET cursor_txid = '0', cursor_id = 0, last_pub_seq = 0`); err != nil {
		t.Fatal(err)
	}
	run(t, pool, "second", 7)
	again := waitPublished(t, pool, s)
	if len(again) != len(first) {
		t.Fatalf("published %d events again, first %d", len(again), len(first))
	}
	for i := range first {
		if again[i] != first[i] {
			t.Fatalf("publication %d: first %+v, again %+v", i+1, first[i], again[i])
		}
	}
	t.Logf("%d events, %d of them behind a later transaction id in their session, numbered alike twice", len(first), inverted)
}

// invert writes, to session b, an event of a transaction whose id is below that of b's
// event before it (the transaction took its id with a change of session a).
func invert(ctx context.Context, pool *pgxpool.Pool, q *db.Queries, a, b string) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if err := toggleAny(ctx, tx, q, a); err != nil {
		return err
	}
	if err := toggleAny(ctx, pool, q, b); err != nil {
		return err
	}
	if err := toggleAny(ctx, tx, q, b); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// toggleAny changes p1's state to whichever of held and established it is not in, in a
// transaction of its own within on (a savepoint when on is a transaction).
func toggleAny(ctx context.Context, on interface {
	Begin(context.Context) (pgx.Tx, error)
}, q *db.Queries, sessionID string) error {
	for _, held := range []bool{true, false} {
		tx, err := on.Begin(ctx)
		if err != nil {
			return err
		}
		err = toggle(ctx, q.WithTx(tx), sessionID, held)
		if isTransition(err) {
			if err := tx.Rollback(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			tx.Rollback(ctx) //nolint:errcheck
			return err
		}
		return tx.Commit(ctx)
	}
	return fmt.Errorf("session %s: p1 can be neither held nor established", sessionID)
}
