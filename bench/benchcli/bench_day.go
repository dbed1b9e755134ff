package benchcli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ixnstore/ixnstore/bench/day"
	"github.com/ixnstore/ixnstore/internal/cli"
)

const daySynopsis = `A contact centre's day as a benchmark: --nodes routing nodes and --adapters media adapters
drive ixnstore over HTTP with the Go client for --duration, then every session's events are
read back through the API and checked against what they did.

The day's mix. Calls arrive at --rate a second (Poisson), each taken by a node in turn. A call
is one session and one inbound voice interaction: the customer arrives on a routing point
(with user data), the session takes control (present), the customer is queued; --abandon of
calls end there, the media side reporting that the customer hung up (abandoned). The others:
an agent's phone rings (party added, alerting) and the node asks the media side to answer it
(an accept request); the customer is connected; user data is written 1 to 3 times;
--hold of calls are held and retrieved, --conference get a supervisor conferenced in
(singlestepconference) who later hangs up, --transfer are transferred to another agent
(singlesteptransfer); --terminate end by a terminate request, the others by the parties
hanging up, the interaction leaving the session, the session ending. Steps are --think apart
on average (exponential). The adapters follow the pending requests (each answers the
sessions of its share) and answer them done, except --late of them, answered only after
their --request-timeout: those end in error.interaction.<action> (timeout) and the node
carries on (a ring with no answer ends the call).

Each node keeps its lease (--lease) by heartbeats, follows its own events over SSE (the
answers to its requests come that way) and looks for orphaned sessions every quarter lease.
At --fail-at (by default half the duration) the first node fails: it stops heartbeating and
its calls stop where they are. Once its lease lapses the live nodes claim its sessions (one
wins each claim, the others are refused lease_held) and finish its calls; a session restored
to a node by ixnstore's assigner (serve --assign-orphans) is finished the same way.

Reported: changes (writes answered 2xx) per second, p50/p99 by kind of call, errors by kind
and code (refusals the day provokes on purpose apart from failures), the restore of the
failed node's sessions, and the check: for every session, seqs 1, 2, 3 ... without gaps or
repeats; every event of a 2xx answer there exactly once, in the order each node and adapter
wrote them; each action request ended by exactly one answer event; no event that nothing
explains; each interaction's events in the reference's order (added first, nothing after
deleted, present/notcontrolled alternating, parties joining before changing, only allowed
state moves, released then deleted); and each live node's stream delivered exactly the events
written under its ownership, in order. The command exits 1 when the check fails.

Without --target it runs 'ixnstore serve' (built from the module, or --ixnstore) as its own
process on a scratch database (ixn_bench_day) of --database-url's server, and drops it after.
The same --seed gives the same calls (arrivals, turns, late answers); the timing is the
machine's.`

func runDayBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := cli.NewFlags("ixnstore-bench day [flags]", daySynopsis, stderr)
	cfg := day.Config{Mix: day.DefaultMix}
	var dbURL, binary, serveArgs string
	var seed int
	f.EnvString(&cfg.Target, "target", "IXNSTORE_BENCH_TARGET", "", "URL of a running ixnstore to drive (empty: run one)")
	f.EnvString(&cfg.Token, "token", "IXNSTORE_BENCH_TOKEN", "", "with --target: an admin token (the day registers nodes, reads the overview and every session)")
	f.EnvString(&dbURL, "database-url", "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres",
		"without --target: a PostgreSQL server where the bench may create and drop a database")
	f.StringVar(&binary, "ixnstore", "", "without --target: the ixnstore binary to run (empty: go build ./cmd/ixnstore)")
	f.StringVar(&serveArgs, "serve-args", "", "without --target: more flags for 'ixnstore serve', space-separated")
	f.IntVar(&cfg.Nodes, "nodes", 8, "routing nodes (at least 2: the first fails)")
	f.IntVar(&cfg.Adapters, "adapters", 4, "media adapters")
	f.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long calls arrive")
	f.Float64Var(&cfg.Rate, "rate", 25, "calls arriving per second")
	f.DurationVar(&cfg.Think, "think", 200*time.Millisecond, "mean pause between a call's steps")
	f.DurationVar(&cfg.Lease, "lease", 5*time.Second, "the nodes' lease")
	f.DurationVar(&cfg.RequestTimeout, "request-timeout", time.Second, "the action requests' timeout")
	f.DurationVar(&cfg.FailAt, "fail-at", 0, "when the first node fails (0: half the duration; negative: no node fails)")
	f.DurationVar(&cfg.Drain, "drain", 60*time.Second, "how long calls in progress get to finish after the duration")
	f.DurationVar(&cfg.Settle, "settle", 2*time.Minute,
		"how long publication and the streams get to catch up after the calls (a long transaction anywhere on the PostgreSQL server holds publication back)")
	f.IntVar(&seed, "seed", 1, "the seed of the calls")
	f.Float64Var(&cfg.Mix.Abandon, "abandon", cfg.Mix.Abandon, "share of calls abandoned while queued")
	f.Float64Var(&cfg.Mix.Hold, "hold", cfg.Mix.Hold, "share of calls held and retrieved")
	f.Float64Var(&cfg.Mix.Conference, "conference", cfg.Mix.Conference, "share of calls with a supervisor conferenced in")
	f.Float64Var(&cfg.Mix.Transfer, "transfer", cfg.Mix.Transfer, "share of calls transferred")
	f.Float64Var(&cfg.Mix.Terminate, "terminate", cfg.Mix.Terminate, "share of calls ended by a terminate request")
	f.Float64Var(&cfg.Mix.Late, "late", cfg.Mix.Late, "share of action requests answered after their timeout")
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	cfg.Seed = uint64(seed)
	if cfg.Target == "" {
		binary, remove, err := ixnstoreBinary(ctx, binary)
		if err != nil {
			return err
		}
		defer remove()
		scratch, drop, err := scratchDatabase(ctx, dbURL, "ixn_bench_day")
		if err != nil {
			return err
		}
		defer drop()
		srv, err := startServe(ctx, stderr, binary, scratch, strings.Fields(serveArgs))
		if err != nil {
			return err
		}
		defer srv.stop()
		cfg.Target = srv.url
		fmt.Fprintf(stdout, "ixnstore serve pid %d on %s (scratch database ixn_bench_day)\n", srv.pid, srv.url)
	}
	fmt.Fprintf(stdout, "load average at the start: %s\n", loadAverage())
	rep, err := day.Run(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "load average at the end: %s\n", loadAverage())
	printDay(stdout, rep)
	if rep.Failed() {
		return fmt.Errorf("the check failed: %d problems", len(rep.Problems))
	}
	return nil
}

func printDay(w io.Writer, r *day.Report) {
	fmt.Fprintf(w, "-- the day %s: %d calls, %d finished, in %s\n", r.Prefix, r.Calls, r.Finished, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "changes: %d (%.0f/s), events written: %d (%.0f/s)\n", r.Writes, r.ChangesPerSecond(),
		r.Events, float64(r.Events)/r.Elapsed.Seconds())
	fmt.Fprintf(w, "%-28s %8s %10s %10s\n", "kind", "n", "p50", "p99")
	for _, k := range r.Kinds {
		fmt.Fprintf(w, "%-28s %8d %10s %10s\n", k.Kind, k.N, k.P50.Round(10*time.Microsecond), k.P99.Round(10*time.Microsecond))
	}
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	}
	for _, e := range r.Errors {
		what := "FAILURE"
		if e.Expected {
			what = "expected refusal"
		}
		fmt.Fprintf(w, "%-16s %-28s %-24s %6d\n", what, e.Kind, e.Code, e.N)
	}
	if f := r.Failover; f.Node != "" {
		fmt.Fprintf(w, "failover: %s failed owning %d active sessions; %d restored on live nodes, the last %s after its last heartbeat"+
			" (database clock: interaction.restored from %s to %s after it)\n",
			f.Node, f.Sessions, f.Restored, f.AllHeld.Round(time.Millisecond), f.FirstRestored.Round(time.Millisecond), f.LastRestored.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "check: %d sessions, %d events read back, %d events delivered on the live nodes' streams: ", r.Sessions, r.EventsChecked, r.StreamEvents)
	if !r.Failed() {
		fmt.Fprintln(w, "every event in place")
		return
	}
	fmt.Fprintf(w, "%d problems\n", len(r.Problems))
	for i, p := range r.Problems {
		if i == 50 {
			fmt.Fprintf(w, "  ... and %d more\n", len(r.Problems)-i)
			break
		}
		fmt.Fprintln(w, "  "+p)
	}
}

// loadAverage is the machine's load (/proc/loadavg), as uptime gives it.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}
