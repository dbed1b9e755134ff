package rollup_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/rollup"
	"github.com/ixnstore/ixnstore/service"
)

// within bounds every wait of these tests.
const within = 30 * time.Second

// world is a database with a dispatcher publishing its events.
type world struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store *service.Store
	rng   *rand.Rand
	// stopDispatcher stops the dispatcher running now (nothing when none runs).
	stopDispatcher func()
}

func newWorld(t *testing.T) *world {
	t.Helper()
	pool := testdb.Pool(t)
	seed := time.Now().UnixNano()
	t.Logf("random seed %d", seed)
	w := &world{t: t, pool: pool, store: service.New(pool, service.Config{}), rng: rand.New(rand.NewPCG(uint64(seed), 19))}
	w.startDispatcher()
	t.Cleanup(func() { w.stopDispatcher() })
	return w
}

// startDispatcher runs a dispatcher until stopDispatcher.
func (w *world) startDispatcher() {
	d := dispatcher.New(dispatcher.Config{ConnString: w.pool.Config().ConnString(), Instance: "test",
		PollInterval: 10 * time.Millisecond, LockRetry: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	w.stopDispatcher = func() { cancel(); wg.Wait(); w.stopDispatcher = func() {} }
}

func sp(s string) *string { return &s }

func (w *world) must(_ []service.Event, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// day writes interactions on sessions of three nodes: answered, transferred, conferenced,
// abandoned, merged, left live, and one session ended with its interactions in it.
func (w *world) day(sessions, perSession int) {
	w.t.Helper()
	ctx := context.Background()
	media := []string{"voice", "chat", "email"}
	agent := func() string { return fmt.Sprintf("agent-%d", 1+w.rng.IntN(9)) }
	for s := range sessions {
		sid := fmt.Sprintf("s%d", s)
		node := fmt.Sprintf("node-%d", 1+s%3)
		if _, err := w.store.CreateSession(ctx, service.NewSession{SessionID: sid, OwnerNode: &node}); err != nil {
			w.t.Fatal(err)
		}
		tg := service.Target{SessionID: sid}
		var live []string
		for i := range perSession {
			iid := fmt.Sprintf("%s-i%d", sid, i)
			a := agent()
			w.must(w.store.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: iid,
				Media: media[w.rng.IntN(len(media))], Type: "inbound",
				Parties: []service.NewParty{{PartyID: "c", Resource: "+1555" + strconv.Itoa(i), State: "alerting", Role: sp("customer")},
					{PartyID: "a1", Resource: a, State: "alerting", Role: sp("agent")}}}))
			switch k := w.rng.IntN(10); {
			case k == 0: // abandoned while ringing
				w.must(w.store.ReportAbandoned(ctx, tg, iid, service.Abandon{FocusResource: "+1555" + strconv.Itoa(i), Reason: "hangup"}))
				w.must(w.store.DeleteInteraction(ctx, tg, iid))
			case k == 1 && len(live) > 0: // merged into a live one
				into := live[len(live)-1]
				live = live[:len(live)-1] // one merge into each
				w.must(w.store.ChangePartyState(ctx, tg, iid, "a1", service.PartyStateChange{State: "established"}))
				w.must(w.store.ReportMerge(ctx, tg, iid, service.Merge{IntoInteractionID: into, ActivePartyID: "a1", HeldPartyID: "c"}))
			default:
				w.must(w.store.ChangePartyState(ctx, tg, iid, "a1", service.PartyStateChange{State: "established"}))
				talking := "a1"
				if w.rng.IntN(3) == 0 {
					talking = "a2"
					w.must(w.store.ReportSingleStepTransfer(ctx, tg, iid, service.PartyLeft{PartyID: "a1", NewDestination: "x"}))
					w.must(w.store.AddParty(ctx, tg, iid, service.NewParty{PartyID: "a2", Resource: agent(), State: "established", Role: sp("agent")}))
				}
				if w.rng.IntN(4) == 0 {
					w.must(w.store.ReportSingleStepConference(ctx, tg, iid, service.Conference{PartyID: talking,
						AddedParty: service.NewParty{PartyID: "a3", Resource: agent(), State: "established", Role: sp("agent")}}))
				}
				if w.rng.IntN(5) == 0 {
					live = append(live, iid)
				} else {
					w.must(w.store.DeleteInteraction(ctx, tg, iid))
				}
			}
		}
		if s == sessions-1 {
			w.must(w.store.EndSession(ctx, tg)) // its live interactions end with it
		}
	}
}

// spread moves every interaction written so far back into the last day, by a random offset
// of one hour to a day, and gives the ended ones handle times up to half an hour and times to
// connect up to a minute: what the test wrote in seconds becomes a day of traffic.
func (w *world) spread() {
	w.t.Helper()
	_, err := w.pool.Exec(context.Background(), `
WITH shift AS (
    SELECT session_id, interaction_id,
           make_interval(secs => 3600 + abs(hashtext(session_id || interaction_id)) % 82800) AS back,
           make_interval(secs => (abs(hashtext(interaction_id || 'h')) % 1800000) / 1000.0) AS handle,
           make_interval(secs => (abs(hashtext(interaction_id || 'c')) % 60000) / 1000.0) AS connect
      FROM interactions
), i AS (
    UPDATE interactions i
       SET created_at = i.created_at - s.back,
           deleted_at = i.deleted_at - s.back + s.handle,
           abandoned_at = i.abandoned_at - s.back,
           first_established_at = i.first_established_at - s.back + s.connect
      FROM shift s WHERE s.session_id = i.session_id AND s.interaction_id = i.interaction_id
)
UPDATE interaction_resources r
   SET interaction_created_at = r.interaction_created_at - s.back, joined_at = r.joined_at - s.back
  FROM shift s WHERE s.session_id = r.session_id AND s.interaction_id = r.interaction_id`)
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) lastPubSeq() int64 {
	w.t.Helper()
	n, err := w.store.LastPubSeq(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// waitPublished waits until every event written is published, and returns the last number.
func (w *world) waitPublished() int64 {
	w.t.Helper()
	var written int64
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&written); err != nil {
		w.t.Fatal(err)
	}
	deadline := time.Now().Add(within)
	for last := w.lastPubSeq(); last < written; last = w.lastPubSeq() {
		if time.Now().After(deadline) {
			w.t.Fatalf("%d of %d events published after %s", last, written, within)
		}
		time.Sleep(10 * time.Millisecond) // the dispatcher publishes every 10 ms
	}
	return written
}

func (w *world) position() int64 {
	w.t.Helper()
	var pos int64
	err := w.pool.QueryRow(context.Background(),
		`SELECT coalesce((SELECT last_pub_seq FROM report_rollup_state WHERE name = 'default'), 0)`).Scan(&pos)
	if err != nil {
		w.t.Fatal(err)
	}
	return pos
}

func (w *world) config() rollup.Config {
	return rollup.Config{ConnString: w.pool.Config().ConnString(), Instance: "test", Read: w.store.ListPublished,
		Poll: 20 * time.Millisecond, Retry: 50 * time.Millisecond}
}

// runWorker runs a worker in this process until the test ends.
func (w *world) runWorker() *rollup.Signals {
	w.t.Helper()
	sig := &rollup.Signals{Applied: make(chan int64, 1)}
	cfg := w.config()
	cfg.Signals = sig
	worker, err := rollup.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(ctx) })
	w.t.Cleanup(func() { cancel(); wg.Wait() })
	return sig
}

// killWorkerMidway runs a worker in a process of its own (this test binary, in
// TestWorkerProcess) that applies pages of 20 events and stops inside the transaction of its
// stopAt-th page, after applying it and before committing; it is then killed (SIGKILL). It
// returns the position that transaction was about to commit.
func (w *world) killWorkerMidway(stopAt int) int64 {
	w.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ROLLUP_WORKER_DB="+w.pool.Config().ConnString(), "ROLLUP_WORKER_STOP_AT="+strconv.Itoa(stopAt))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(within)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				w.t.Fatal("the worker process ended before it stopped to commit")
			}
			if at, found := strings.CutPrefix(line, "committing "); found {
				if err := cmd.Process.Kill(); err != nil {
					w.t.Fatal(err)
				}
				_ = cmd.Wait()
				pos, err := strconv.ParseInt(at, 10, 64)
				if err != nil {
					w.t.Fatal(err)
				}
				return pos
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			w.t.Fatalf("the worker process did not stop to commit within %s", within)
		}
	}
}

// TestWorkerProcess is the worker of killWorkerMidway, run in a process of its own.
func TestWorkerProcess(t *testing.T) {
	url := os.Getenv("ROLLUP_WORKER_DB")
	if url == "" {
		t.Skip("the worker process of TestRollupsEqualRowsAfterADay")
	}
	stopAt, err := strconv.Atoi(os.Getenv("ROLLUP_WORKER_STOP_AT"))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pages := 0
	worker, err := rollup.New(rollup.Config{ConnString: url, Instance: "process", Page: 20,
		Read: service.New(pool, service.Config{}).ListPublished, Poll: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		BeforeCommit: func(pos int64) {
			if pages++; pages == stopAt {
				fmt.Printf("committing %d\n", pos)
				select {} // killed here
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	worker.Run(ctx)
}

// sameAggregates compares the report from the rollups with the one from the rows: the same
// groups, the same counts and averages, percentiles within the buckets' error.
func sameAggregates(t *testing.T, got, want []reporting.Aggregate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d groups, want %d:\ngot  %+v\nwant %+v", len(got), len(want), got, want)
	}
	near := func(a, b, rel, abs float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))+abs }
	for i, g := range got {
		wg := want[i]
		counts := func(a reporting.Aggregate) [10]int64 {
			return [10]int64{a.Total, a.Live, a.Completed, a.Abandoned, a.Merged, a.Moved, a.Connected, a.Transfers, a.Conferences}
		}
		if g.Group != wg.Group || counts(g) != counts(wg) || g.AbandonedRate != wg.AbandonedRate {
			t.Errorf("group %d:\ngot  %+v\nwant %+v", i, g, wg)
			continue
		}
		if !near(g.HandleTimeAvg, wg.HandleTimeAvg, 1e-9, 1e-9) || !near(g.TimeToConnectAvg, wg.TimeToConnectAvg, 1e-9, 1e-9) {
			t.Errorf("group %s: averages %v, %v; want %v, %v", g.Group, g.HandleTimeAvg, g.TimeToConnectAvg, wg.HandleTimeAvg, wg.TimeToConnectAvg)
		}
		for _, p := range [][3]any{{"handle p50", g.HandleTimeP50, wg.HandleTimeP50}, {"handle p90", g.HandleTimeP90, wg.HandleTimeP90},
			{"connect p50", g.TimeToConnectP50, wg.TimeToConnectP50}} {
			if !near(p[1].(float64), p[2].(float64), rollup.RelativeError, 0.0006) {
				t.Errorf("group %s: %s %v, want %v (within %.1f%%)", g.Group, p[0], p[1], p[2], 100*rollup.RelativeError)
			}
		}
	}
}

// windows are the report windows compared: whole hours, windows that start or end mid-hour,
// one inside an hour, and the last 24 hours up to now (the current partial hour).
func windows(now time.Time) [][2]time.Time {
	day := now.Truncate(time.Hour).Add(-24 * time.Hour)
	return [][2]time.Time{
		{day, day.Add(25 * time.Hour)},
		{day.Add(17 * time.Minute), now.Add(5 * time.Minute)},
		{day.Add(30 * time.Minute), day.Add(3*time.Hour + 10*time.Minute)},
		{day.Add(5 * time.Hour), day.Add(9*time.Hour + 59*time.Minute)},
		{day.Add(2 * time.Hour), day.Add(2*time.Hour + 40*time.Minute)},
		{now.Add(-24 * time.Hour), now},
	}
}

func compareReports(t *testing.T, r *reporting.Reporter, now time.Time) {
	t.Helper()
	ctx := context.Background()
	for _, win := range windows(now) {
		for _, by := range reporting.GroupBys {
			want, err := r.AggregatesFromRows(ctx, win[0], win[1], by)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Aggregates(ctx, win[0], win[1], by)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, g := range want {
				n += g.Total
			}
			t.Run(fmt.Sprintf("%s %s-%s, %d interactions", by, win[0].Format("15:04"), win[1].Format("15:04"), n), func(t *testing.T) {
				sameAggregates(t, got, want)
			})
		}
	}
}

// tables is the content of the rollup tables, as text, in order.
func tables(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `
SELECT (SELECT coalesce(string_agg(r::text, E'\n' ORDER BY dim, hours, hour, key), '') FROM report_rollups r) || E'\n--\n' ||
       (SELECT coalesce(string_agg(c::text, E'\n' ORDER BY session_id, interaction_id), '') FROM report_rollup_counted c)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// After a random day of writes, with the worker killed in the middle of a transaction and
// started again, and more writes after (interactions ended, one added anew to its session),
// the rollups are what a rebuild from the rows makes, and the report from them is the report
// from the rows for every window.
func TestRollupsEqualRowsAfterADay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	w.day(12, 14)
	w.spread()
	last := w.waitPublished()

	stopped := w.killWorkerMidway(8)
	if pos := w.position(); pos >= stopped || pos == 0 {
		t.Fatalf("after the kill the position is %d; the killed transaction was to commit %d, 7 pages of 20 before it", pos, stopped)
	}
	sig := w.runWorker()
	if err := sig.WaitApplied(last, within); err != nil {
		t.Fatal(err)
	}

	// More of the day: live interactions end, one comes back to its session (counted in the
	// rollups, then live again), one is added and ended now.
	live := w.keys(`SELECT session_id, interaction_id FROM interactions WHERE state <> 'deleted' ORDER BY 1, 2 LIMIT 4`)
	ended := w.keys(`SELECT session_id, interaction_id FROM interactions WHERE state = 'deleted' AND session_id = 's0' ORDER BY 2 LIMIT 1`)
	for _, k := range live[:len(live)-1] {
		w.must(w.store.DeleteInteraction(ctx, service.Target{SessionID: k[0]}, k[1]))
	}
	tg := service.Target{SessionID: "s0"}
	w.must(w.store.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: ended[0][1], Media: "chat", Type: "inbound",
		Parties: []service.NewParty{{PartyID: "a9", Resource: "agent-99", State: "established", Role: sp("agent")}}}))
	w.must(w.store.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "s0-new", Media: "voice", Type: "inbound"}))
	w.must(w.store.DeleteInteraction(ctx, tg, "s0-new"))
	if err := sig.WaitApplied(w.waitPublished(), within); err != nil {
		t.Fatal(err)
	}

	r := reporting.New(w.pool)
	compareReports(t, r, time.Now())
	w.keptIsRebuilt(r)
}

// keys returns the (session, interaction) pairs a query selects; at least one.
func (w *world) keys(sql string) [][2]string {
	w.t.Helper()
	rows, err := w.pool.Query(context.Background(), sql)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, k)
	}
	if rows.Err() != nil || len(out) == 0 {
		w.t.Fatalf("no interaction for %s (%v)", sql, rows.Err())
	}
	return out
}

// keptIsRebuilt checks that the rollups hold a day, live interactions among them, and that the
// rollup tables the worker kept are, row for row, what a rebuild from the rows makes; and
// compares the reports again after the rebuild.
func (w *world) keptIsRebuilt(r *reporting.Reporter) {
	t := w.t
	t.Helper()
	ctx := context.Background()
	var hours, counted, live int
	if err := w.pool.QueryRow(ctx, `SELECT (SELECT count(DISTINCT hour) FROM report_rollups WHERE hours = 1),
       (SELECT count(*) FROM report_rollup_counted), (SELECT count(*) FROM report_rollup_counted WHERE handle_us IS NULL)`).
		Scan(&hours, &counted, &live); err != nil {
		t.Fatal(err)
	}
	if hours < 12 || counted < 50 || live == 0 {
		t.Fatalf("the rollups hold %d interactions (%d live) in %d hours: not a day", counted, live, hours)
	}
	kept := tables(t, w.pool)
	if _, err := rollup.Rebuild(ctx, w.pool, "", 0, w.store.LastPubSeq); err != nil {
		t.Fatal(err)
	}
	if rebuilt := tables(t, w.pool); rebuilt != kept {
		t.Errorf("the rollups the worker kept are not the rebuild's:\nkept\n%s\nrebuilt\n%s", kept, rebuilt)
	}
	compareReports(t, r, time.Now())
}

// Whatever the worker has not applied yet, the report from the rollups is the report from the
// rows: changes to live interactions published after its position, changes not published yet
// (the dispatcher stopped), and a session released to no node (its live interactions change
// owner without an event). Then the worker catches up and keeps what a rebuild makes.
func TestReportEqualsRowsBeforeTheWorkerApplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	w.day(8, 10)
	w.spread()
	w.waitPublished()
	// Rollups of the day so far, and no worker: nothing after this is applied.
	if _, err := rollup.Rebuild(ctx, w.pool, "", 0, w.store.LastPubSeq); err != nil {
		t.Fatal(err)
	}
	r := reporting.New(w.pool)
	compareReports(t, r, time.Now())

	live := w.keys(`SELECT session_id, interaction_id FROM interactions
                     WHERE state <> 'deleted' AND session_id <> 's0' ORDER BY created_at LIMIT 5`)
	if len(live) < 5 {
		t.Fatalf("%d live interactions; the day leaves more", len(live))
	}
	tg := func(k [2]string) service.Target { return service.Target{SessionID: k[0]} }
	// Published, not applied: one ends, one gets an agent it never had, one is added now.
	w.must(w.store.DeleteInteraction(ctx, tg(live[0]), live[0][1]))
	w.must(w.store.AddParty(ctx, tg(live[1]), live[1][1], service.NewParty{PartyID: "a8", Resource: "agent-88",
		State: "established", Role: sp("agent")}))
	w.must(w.store.AddInteraction(ctx, service.Target{SessionID: "s0"}, service.NewInteraction{InteractionID: "s0-now",
		Media: "voice", Type: "inbound"}))
	// A session released to no node: its live interactions count for node '' now.
	if _, err := w.store.ReleaseSession(ctx, tg(live[2]), nil); err != nil {
		t.Fatal(err)
	}
	w.waitPublished()
	compareReports(t, r, time.Now())

	// Not published: one more ends, one more gets an agent.
	w.stopDispatcher()
	w.must(w.store.DeleteInteraction(ctx, tg(live[3]), live[3][1]))
	w.must(w.store.AddParty(ctx, tg(live[4]), live[4][1], service.NewParty{PartyID: "a7", Resource: "agent-77",
		State: "alerting", Role: sp("agent")}))
	compareReports(t, r, time.Now())

	// The worker catches up; the released session is claimed (interaction.restored for each
	// of its live interactions) so that the rollups hold them under their owner again.
	w.startDispatcher()
	if _, err := w.store.RegisterNode(ctx, service.NodeRegistration{NodeID: "node-9", Lease: "10m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.ClaimSession(ctx, live[2][0], "node-9"); err != nil {
		t.Fatal(err)
	}
	sig := w.runWorker()
	if err := sig.WaitApplied(w.waitPublished(), within); err != nil {
		t.Fatal(err)
	}
	compareReports(t, r, time.Now())
	w.keptIsRebuilt(r)
}

// An interaction the worker found connected, ended and added anew to its session, is not
// connected any more: the worker forgets what it knew (interactionsOf), and the party's move
// to established that follows, in a page of its own, counts as its first connection again.
func TestAnInteractionAddedAnewIsConnectedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	node := "node-1"
	if _, err := w.store.CreateSession(ctx, service.NewSession{SessionID: "k", OwnerNode: &node}); err != nil {
		t.Fatal(err)
	}
	tg := service.Target{SessionID: "k"}
	add := func() {
		w.must(w.store.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "k-i", Media: "voice", Type: "inbound",
			Parties: []service.NewParty{{PartyID: "c", Resource: "+15550001", State: "alerting", Role: sp("customer")},
				{PartyID: "a1", Resource: "agent-1", State: "alerting", Role: sp("agent")}}}))
	}
	sig := w.runWorker()
	applied := func() {
		t.Helper()
		if err := sig.WaitApplied(w.waitPublished(), within); err != nil {
			t.Fatal(err)
		}
	}
	add()
	w.must(w.store.ChangePartyState(ctx, tg, "k-i", "a1", service.PartyStateChange{State: "established"}))
	applied() // the worker knows k-i connected
	w.must(w.store.DeleteInteraction(ctx, tg, "k-i"))
	add()
	applied() // added anew: not connected
	w.must(w.store.ChangePartyState(ctx, tg, "k-i", "a1", service.PartyStateChange{State: "established"}))
	applied()
	var connected bool
	if err := w.pool.QueryRow(ctx, `SELECT connect_us IS NOT NULL FROM report_rollup_counted
                                     WHERE session_id = 'k' AND interaction_id = 'k-i'`).Scan(&connected); err != nil {
		t.Fatal(err)
	}
	if !connected {
		t.Fatal("the rollups hold k-i as never connected after its party moved to established")
	}
	kept := tables(t, w.pool)
	if _, err := rollup.Rebuild(ctx, w.pool, "", 0, w.store.LastPubSeq); err != nil {
		t.Fatal(err)
	}
	if rebuilt := tables(t, w.pool); rebuilt != kept {
		t.Errorf("the rollups the worker kept are not the rebuild's:\nkept\n%s\nrebuilt\n%s", kept, rebuilt)
	}
}
