// Package day simulates a contact centre's day against a running ixnstore, over HTTP with
// the Go client: routing nodes take calls through their life (arriving, queued, ringing,
// answered, held, conferenced, transferred, abandoned, user data written, action requests
// made and answered or timed out), media adapters answer the requests, each node follows
// its own events over SSE, and one node fails midway and its sessions are restored on the
// live ones, which finish the calls. It measures the calls' latencies and errors, and then
// checks every session's events, read back through the API, against what it did (Check).
package day

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixnstore/ixnstore/client"
)

// Mix is the share of calls (0 to 1) that take each turn.
type Mix struct {
	Abandon    float64 // the customer hangs up while queued (the media side reports it)
	Hold       float64 // the customer is held and retrieved
	Conference float64 // a supervisor is conferenced in (singlestepconference), then leaves
	Transfer   float64 // the agent transfers the call to another agent (singlesteptransfer)
	Terminate  float64 // the call ends by a terminate request, not by the parties hanging up
	// Late is the share of action requests the media side answers only after their timeout:
	// each ends in error.interaction.<action> (timeout), and the late answer is refused.
	Late float64
}

// DefaultMix is a day's mix.
var DefaultMix = Mix{Abandon: 0.08, Hold: 0.30, Conference: 0.15, Transfer: 0.20, Terminate: 0.10, Late: 0.04}

// Config is the day to run.
type Config struct {
	Target, Token   string
	Nodes, Adapters int
	Duration        time.Duration
	Rate            float64       // calls arriving per second, Poisson
	Think           time.Duration // mean pause between a call's steps (exponential)
	Lease           time.Duration // the nodes' lease
	RequestTimeout  time.Duration // the action requests' timeout
	FailAt          time.Duration // when the first node fails (stops heartbeating); < 0: none
	Drain           time.Duration // how long calls in progress get to finish after Duration
	// Settle is how long, after the calls, publication and the streams get to catch up. A
	// long transaction anywhere on the PostgreSQL server holds publication back meanwhile.
	Settle time.Duration
	Seed   uint64
	Mix    Mix
}

// Report is what the day measured and what the check found.
type Report struct {
	Prefix                  string
	Elapsed                 time.Duration // arrivals until the last call finished
	Calls, Finished         int
	Writes, Events          int
	Kinds                   []KindStat
	Errors                  []ErrorCount
	Failover                Failover
	Sessions, EventsChecked int
	Problems                []string // of the check: sessions' events, then streams
	StreamEvents            int      // events the live nodes got on their streams
	Records                 map[string]*Record
	Readback                map[string][]client.Event
}

// Failover is the restore of the failed node's sessions.
type Failover struct {
	Node     string
	Sessions int // active sessions it owned when it stopped
	Restored int // of those, held by a live node afterwards
	// AllHeld: from its last heartbeat to the last of them held by a live node (this
	// process's clock). FirstRestored, LastRestored: from its last heartbeat, as the
	// database recorded it, to the first and last interaction.restored of them.
	AllHeld, FirstRestored, LastRestored time.Duration
	Claims                               int // claims made
}

// Failed: the check found a problem.
func (r *Report) Failed() bool { return len(r.Problems) > 0 }

// ChangesPerSecond is the writes answered 2xx per second.
func (r *Report) ChangesPerSecond() float64 { return float64(r.Writes) / r.Elapsed.Seconds() }

// Day is one run.
type Day struct {
	cfg      Config
	prefix   string
	stats    *stats
	ledger   *ledger
	nodes    []*simNode
	adapters []*simAdapter
	http     *http.Client
	cursor   int64 // the publication position the streams start from
	admin    *client.Client
	work     sync.WaitGroup // calls and takeovers in progress
	answers  sync.WaitGroup // the adapters' answers in progress
	mu       sync.Mutex
	heldAt   map[string]time.Time // session → when a live node took it over
	finished atomic.Int64         // calls that ran to their end
	logMu    sync.Mutex
}

func (d *Day) logf(w io.Writer, format string, args ...any) {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// Run runs the day and checks it. Progress goes to log. An error is a day that could not
// run (the server unreachable, a node refused); a day that ran and whose check failed
// returns a Report with Problems.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	if cfg.Nodes < 2 || cfg.Adapters < 1 || cfg.Rate <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("a day needs at least 2 nodes (one fails), 1 adapter, a rate and a duration")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Minute
	}
	if cfg.FailAt == 0 {
		cfg.FailAt = cfg.Duration / 2
	}
	d := &Day{cfg: cfg, stats: newStats(), ledger: &ledger{records: map[string]*Record{}}, heldAt: map[string]time.Time{},
		prefix: "day" + strconv.FormatUint(cfg.Seed, 10) + "-" + strconv.FormatInt(time.Now().UnixMilli(), 36),
		http:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}}
	defer d.http.CloseIdleConnections()
	var err error
	if d.admin, err = client.New(cfg.Target, client.Config{Token: cfg.Token, HTTPClient: d.http}); err != nil {
		return nil, err
	}
	if d.cursor, err = d.lastPublished(ctx); err != nil {
		return nil, err
	}

	runCtx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	var background sync.WaitGroup
	defer background.Wait()
	defer stopAll()
	for i := range cfg.Adapters {
		a := &simAdapter{d: d, id: fmt.Sprintf("%s-adapter-%d", d.prefix, i+1), index: i}
		if a.c, err = client.New(cfg.Target, client.Config{Token: cfg.Token, HTTPClient: d.http}); err != nil {
			return nil, err
		}
		d.adapters = append(d.adapters, a)
		background.Go(func() { a.run(runCtx) })
	}
	for i := range cfg.Nodes {
		n, err := d.startNode(runCtx, i, &background)
		if err != nil {
			return nil, err
		}
		d.nodes = append(d.nodes, n)
	}
	fmt.Fprintf(log, "day %s: %d nodes, %d adapters, %.0f calls/s for %s against %s; %s fails at %s\n",
		d.prefix, cfg.Nodes, cfg.Adapters, cfg.Rate, cfg.Duration, cfg.Target, d.nodes[0].id, cfg.FailAt)

	rep := &Report{Prefix: d.prefix}
	started := time.Now()
	calls := d.arrive(runCtx, log)
	rep.Calls = calls
	drained := make(chan struct{})
	go func() { d.work.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(cfg.Drain):
		d.stats.fail("day", "calls_not_finished")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	rep.Elapsed = time.Since(started)
	// No call is left to make a request: the answers still on their way (late ones, or to a
	// failed node's requests) end within the request timeout.
	d.answers.Wait()
	rep.Finished = int(d.finished.Load())
	rep.Writes, rep.Events = d.stats.changes()

	if err := d.check(ctx, rep); err != nil {
		return nil, err
	}
	rep.Kinds, rep.Errors = d.stats.kinds(), d.stats.errors()
	for _, n := range d.nodes[1:] {
		// An orderly end: every session has ended, and a node that leaves hands on none.
		_ = n.node.Leave(ctx, "")
	}
	return rep, nil
}

// lastPublished is where publication stands, the place the nodes' streams start from. A
// busy database may not answer at once: it is asked again for up to 30s.
func (d *Day) lastPublished(ctx context.Context) (int64, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ov, err := d.admin.GetOverviewWithResponse(ctx)
		if err == nil {
			if ov.JSON200.Publication == nil {
				return 0, nil
			}
			return ov.JSON200.Publication.LastPubSeq, nil
		}
		if !errors.Is(err, client.ErrUnavailable) || time.Now().After(deadline) {
			return 0, fmt.Errorf("reading where publication stands (GET /v1/overview): %w", err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// arrive starts calls at the configured rate until the day's duration is over and returns
// how many it started. The first node fails at FailAt.
func (d *Day) arrive(ctx context.Context, log io.Writer) int {
	rng := rand.New(rand.NewPCG(d.cfg.Seed, 0))
	start := time.Now()
	end := start.Add(d.cfg.Duration)
	if d.cfg.FailAt > 0 {
		failing := time.AfterFunc(d.cfg.FailAt, func() {
			dead := d.nodes[0]
			// The takeover is work in progress: the day does not end before it is done.
			d.work.Add(1)
			dead.fail()
			d.logf(log, "  %4.1fs: %s stops heartbeating, owning %d active sessions\n",
				time.Since(start).Seconds(), dead.id, len(dead.activeSessions()))
			go func() {
				defer d.work.Done()
				d.waitTakenOver(ctx, dead, log, start)
			}()
		})
		defer failing.Stop()
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	next := start
	calls := 0
	for {
		next = next.Add(time.Duration(rng.ExpFloat64() / d.cfg.Rate * float64(time.Second)))
		if next.After(end) {
			return calls
		}
		for wait := time.Until(next); wait > 0; wait = time.Until(next) {
			select {
			case <-ctx.Done():
				return calls
			case <-tick.C:
				d.logf(log, "  %4.0fs: %d calls, %d changes\n", time.Since(start).Seconds(), calls, d.stats.writeCount())
			case <-time.After(wait):
			}
		}
		n := d.nodeFor(calls)
		p := d.plan(calls)
		id := calls
		d.work.Go(func() { n.runCall(ctx, id, p) })
		calls++
	}
}

// waitTakenOver waits until live nodes hold every session the dead node owned (at most its
// lease and the drain time), and says when that was.
func (d *Day) waitTakenOver(ctx context.Context, dead *simNode, log io.Writer, start time.Time) {
	deadline := time.Now().Add(d.cfg.Lease + d.cfg.Drain)
	for time.Now().Before(deadline) {
		sessions := dead.activeSessions()
		d.mu.Lock()
		held := 0
		for _, sid := range sessions {
			if _, ok := d.heldAt[sid]; ok {
				held++
			}
		}
		d.mu.Unlock()
		if held == len(sessions) {
			d.logf(log, "  %4.1fs: its %d sessions are held by live nodes, %s after its last heartbeat\n", time.Since(start).Seconds(),
				held, time.Since(time.Unix(0, dead.lastBeat.Load())).Round(time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// nodeFor is the node that takes call i: in turn, skipping a failed node.
func (d *Day) nodeFor(i int) *simNode {
	for k := range d.nodes {
		if n := d.nodes[(i+k)%len(d.nodes)]; !n.dead() {
			return n
		}
	}
	return d.nodes[len(d.nodes)-1]
}

// write runs one write of kind to session sid by actor, times it, and records the events its
// answer carried. Codes in expected are refusals the day provokes on purpose.
func (d *Day) write(kind, sid, actor string, call func() ([]client.Event, error), expected ...string) ([]client.Event, error) {
	start := time.Now()
	events, err := call()
	d.stats.observe(kind, time.Since(start), len(events), err, expected...)
	if err != nil {
		d.ledger.unsure(sid, err)
		return nil, err
	}
	d.ledger.confirm(sid, actor, events)
	return events, nil
}

// eventsOf is the events of whichever answer came (201 or 200).
func eventsOf(answers ...*client.Events) []client.Event {
	for _, a := range answers {
		if a != nil {
			return a.Events
		}
	}
	return nil
}

// held notes that a live node holds sid after a takeover.
func (d *Day) held(sid string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.heldAt[sid]; !ok {
		d.heldAt[sid] = time.Now()
	}
}

func (s *stats) writeCount() int {
	writes, _ := s.changes()
	return writes
}

// changes is the writes answered 2xx so far and the events they wrote.
func (s *stats) changes() (writes, events int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes, s.events
}
