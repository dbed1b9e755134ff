package upkeep_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/upkeep"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The dispatcher makes the days of publication ahead; retention drops the days past the
// retention while writers write, the dispatcher publishes and a stream reads: the days
// dropped held only published events, an old event not published yet stays and is published
// afterwards, and the stream gets every event published after it started, once, in order.
func TestRetentionDropsPublishedDaysWhileWritersAndAStreamRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	voice := func(sid string, k int) service.NewInteraction {
		return service.NewInteraction{InteractionID: fmt.Sprintf("%s-i%d", sid, k), Media: "voice", Type: "inbound",
			Parties: []service.NewParty{{PartyID: "p1", Resource: "agent-1", State: "established"}}}
	}
	for _, sid := range []string{"old", "old2"} {
		if _, err := s.CreateSession(ctx, service.NewSession{SessionID: sid}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddInteraction(ctx, service.Target{SessionID: sid}, voice(sid, 1)); err != nil {
			t.Fatal(err)
		}
	}

	// A dispatcher publishes the old sessions' events, having made the days ahead first.
	var (
		lastPublished atomic.Int64
		progress      = make(chan struct{}, 1)
	)
	runDispatcher := func() (stop func()) {
		d := dispatcher.New(dispatcher.Config{ConnString: pool.Config().ConnString(), Instance: "t",
			PollInterval: 20 * time.Millisecond, Logger: quiet, Published: func(seq int64) {
				lastPublished.Store(seq)
				select {
				case progress <- struct{}{}:
				default:
				}
			}})
		dctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { d.Run(dctx) })
		return func() { cancel(); wg.Wait() }
	}
	waitPublished := func(n int64) {
		t.Helper()
		for lastPublished.Load() < n {
			select {
			case <-progress:
			case <-ctx.Done():
				t.Fatalf("published up to %d of %d", lastPublished.Load(), n)
			}
		}
	}
	stop := runDispatcher()
	waitPublished(2)
	stop()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var ahead int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ixn_publication_days_kept() WHERE day BETWEEN $1::date AND $2::date`,
		today, today.AddDate(0, 0, dispatcher.DaysAhead)).Scan(&ahead); err != nil {
		t.Fatal(err)
	}
	if ahead != dispatcher.DaysAhead+1 {
		t.Fatalf("%d days of publication from today on, want today and %d ahead", ahead, dispatcher.DaysAhead)
	}

	// Their published events go to days past: old's nine days ago, old2's eight. An event of
	// old written since stays unpublished, written nine days ago too.
	for sid, daysAgo := range map[string]int{"old": 9, "old2": 8} {
		at := today.Add(time.Hour).AddDate(0, 0, -daysAgo)
		if _, err := s.PublishedDaysAhead(ctx, at, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "UPDATE publication SET published_at = $1 WHERE session_id = $2", at, sid); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddInteraction(ctx, service.Target{SessionID: "old"}, voice("old", 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE outbox SET created_at = now() - interval '9 days' WHERE session_id = 'old'"); err != nil {
		t.Fatal(err)
	}
	startedAfter := lastPublished.Load()

	// A retention that keeps what ended 8 days ago drops old's day and nothing else: the
	// unpublished event stays in the outbox.
	pass := func(keep time.Duration) int {
		t.Helper()
		loop, err := upkeep.New(upkeep.Retention(s, keep, time.Hour, quiet))
		if err != nil {
			t.Fatal(err)
		}
		n, err := loop.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := pass(time.Since(today.AddDate(0, 0, -8))); n != 1 {
		t.Fatalf("retention dropped %d days, want old's", n)
	}
	left := eventKeys(ctx, t, pool, "")
	if len(left) != 2 || left[0] != "old:2" || left[1] != "old2:1" {
		t.Fatalf("events kept %v, want old:2 (unpublished) and old2:1 (its day is kept)", left)
	}

	// Writers, the dispatcher and a stream from where publication stands.
	stop = runDispatcher()
	defer stop()
	const writers, perWriter = 4, 30
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			sid := fmt.Sprintf("w%d", w)
			if _, err := s.CreateSession(ctx, service.NewSession{SessionID: sid}); err != nil {
				t.Error(err)
				return
			}
			for k := range perWriter {
				if _, err := s.AddInteraction(ctx, service.Target{SessionID: sid}, voice(sid, k)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var (
		stream     []service.PublishedEvent
		streamDone = make(chan struct{})
		streamEnd  atomic.Int64
	)
	go func() {
		defer close(streamDone)
		after := startedAfter
		for end := streamEnd.Load(); end == 0 || after < end; end = streamEnd.Load() {
			page, err := s.ListPublished(ctx, service.PublishedFilter{}, after, 7)
			if err != nil {
				t.Error(err)
				return
			}
			for _, e := range page {
				stream = append(stream, e)
				after = e.PubSeq
			}
			if len(page) == 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
	}()

	// Retention of 7 days passes while they run, once some of the writers' events are
	// published: old2's day goes.
	waitPublished(startedAfter + 10)
	if n := pass(7 * 24 * time.Hour); n != 1 {
		t.Fatalf("retention dropped %d days while writers ran, want old2's", n)
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// Everything is published in the end, the old unpublished event with it.
	var total int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&total); err != nil {
		t.Fatal(err)
	}
	end := startedAfter + total
	waitPublished(end)
	streamEnd.Store(end)
	<-streamDone

	oldLeft := eventKeys(ctx, t, pool, "old")
	if len(oldLeft) != 1 || oldLeft[0] != "old:2" {
		t.Fatalf("the old sessions keep events %v, want old:2 (published today) only", oldLeft)
	}
	var unpublished int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&unpublished); err != nil || unpublished != 0 {
		t.Fatalf("%d events left unpublished (err %v)", unpublished, err)
	}

	// The stream: every number after where it started, once and in order; every writer's
	// session whole and in order; the old event among them.
	next := map[string]int64{"old": 1}
	for i, e := range stream {
		if e.PubSeq != startedAfter+int64(i)+1 {
			t.Fatalf("stream event %d has number %d, want %d", i, e.PubSeq, startedAfter+int64(i)+1)
		}
		if e.Seq != next[e.SessionID]+1 {
			t.Fatalf("stream: %s:%d after %s:%d", e.SessionID, e.Seq, e.SessionID, next[e.SessionID])
		}
		next[e.SessionID] = e.Seq
	}
	if int64(len(stream)) != total || next["old"] != 2 {
		t.Fatalf("the stream got %d events (old session to %d), want %d (and old's 2)", len(stream), next["old"], total)
	}
	var lastSeqs int64
	for w := range writers {
		sid := fmt.Sprintf("w%d", w)
		var last int64
		if err := pool.QueryRow(ctx, "SELECT last_seq FROM sessions WHERE session_id = $1", sid).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if next[sid] != last || last < perWriter {
			t.Errorf("the stream got %s's events to %d, want to %d (at least %d)", sid, next[sid], last, perWriter)
		}
		lastSeqs += last
	}
	if lastSeqs+1 != total {
		t.Errorf("%d events in all, want the writers' %d and old:2", total, lastSeqs)
	}
	if n := pass(7 * 24 * time.Hour); n != 0 {
		t.Fatalf("a second pass dropped %d, want nothing", n)
	}
}

// eventKeys lists the events kept (published or not) of the sessions whose id starts with
// prefix, as session:seq in order.
func eventKeys(ctx context.Context, t *testing.T, pool *pgxpool.Pool, prefix string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT session_id || ':' || seq FROM events
	                               WHERE starts_with(session_id, $1) ORDER BY session_id, seq`, prefix)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// The outbox vacuum gives the space of published events to the next ones: with it between
// two rounds of writes (each published whole), the outbox is no larger after the second
// than after the first; autovacuum is off here, as it is on some databases.
func TestOutboxVacuumGivesThePublishedEventsSpaceToTheNext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := testdb.Pool(t)
	if _, err := pool.Exec(ctx, "ALTER TABLE outbox SET (autovacuum_enabled = off)"); err != nil {
		t.Fatal(err)
	}
	s := service.New(pool, service.Config{})
	const sessions, perRound = 4, 200
	for k := range sessions {
		if _, err := s.CreateSession(ctx, service.NewSession{SessionID: fmt.Sprintf("v%d", k)}); err != nil {
			t.Fatal(err)
		}
	}
	var written int64
	round := func(r int) int64 {
		t.Helper()
		for k := range perRound {
			sid := fmt.Sprintf("v%d", k%sessions)
			events, err := s.AddInteraction(ctx, service.Target{SessionID: sid}, service.NewInteraction{
				InteractionID: fmt.Sprintf("%s-r%d-i%d", sid, r, k), Media: "voice", Type: "inbound"})
			if err != nil {
				t.Fatal(err)
			}
			written += int64(len(events))
		}
		published := make(chan int64, 64)
		d := dispatcher.New(dispatcher.Config{ConnString: pool.Config().ConnString(), Instance: "t",
			PollInterval: 20 * time.Millisecond, Logger: quiet, Published: func(seq int64) { published <- seq }})
		dctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { d.Run(dctx) })
		for last := int64(0); last < written; {
			select {
			case last = <-published:
			case <-ctx.Done():
				t.Fatalf("published %d of %d", last, written)
			}
		}
		stop()
		wg.Wait()
		var size int64
		if err := pool.QueryRow(ctx, "SELECT pg_relation_size('outbox')").Scan(&size); err != nil {
			t.Fatal(err)
		}
		return size
	}
	first := round(1)
	loop, err := upkeep.New(upkeep.OutboxVacuum(s, time.Hour, quiet))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loop.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if second := round(2); second > first {
		t.Fatalf("the outbox grew from %d to %d bytes over a vacuum, every event published", first, second)
	}
}
