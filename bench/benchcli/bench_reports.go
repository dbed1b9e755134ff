package benchcli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/bench"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/migrations"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/rollup"
)

// benchReports measures the reporting queries on a seeded database (ixnstore-bench seed) while
// writers change party states through the API at full speed: p50 and p95 of each query, the
// writers' rate, and the plan of each query with any sequential scan of a big table.
func benchReports(ctx context.Context, stdout io.Writer, logger *slog.Logger, dbURL string, clients int, duration time.Duration) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		return err
	}
	cfg, err := database.PoolConfig(dbURL, reporting.PoolOptions(4))
	if err != nil {
		return err
	}
	recorder := bench.NewStatementRecorder()
	cfg.ConnConfig.Tracer = recorder
	rpool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer rpool.Close()
	r := reporting.New(rpool)

	// What the queries ask for, taken from the data: the last day, and the node, resource,
	// user data and interactions of interactions picked at random in it.
	to := time.Now()
	from := to.Add(-24 * time.Hour)
	var samples []reporting.Detail
	for tries := 0; len(samples) < 50; tries++ {
		if tries == 1000 {
			return fmt.Errorf("too few interactions in the last day of %s: seed it first (ixnstore-bench seed)", dbURL)
		}
		at := from.Add(time.Duration(rand.Int64N(int64(24 * time.Hour))))
		page, err := r.ListInteractions(ctx, reporting.Filter{CreatedFrom: &at}, "", 1)
		if err != nil {
			return err
		}
		if len(page.Interactions) == 0 {
			continue // after the last one
		}
		d, err := r.InteractionDetail(ctx, page.Interactions[0].InteractionID)
		if err != nil {
			return err
		}
		samples = append(samples, d)
	}
	pick := samples[0]
	node := *pick.Stays[0].OwnerNode
	var resource, udKey string
	var udValue json.RawMessage
	for _, p := range pick.Parties {
		if !strings.HasPrefix(p.Resource, "+") {
			resource = p.Resource // an agent rather than a customer's number
		}
	}
	// The most specific user data value of the samples: a number (an account) where there is
	// one, else the longest.
	isNumber := func(v json.RawMessage) bool { return len(v) > 0 && v[0] >= '0' && v[0] <= '9' }
	for _, d := range samples {
		for _, kv := range d.UserData {
			for k, v := range kv {
				if udKey == "" || (isNumber(v) && !isNumber(udValue)) || (!isNumber(udValue) && len(v) > len(udValue)) {
					udKey, udValue = k, v
				}
			}
		}
	}
	hour := to.Add(-3 * time.Hour)
	hourEnd := hour.Add(time.Hour)
	first, err := r.ListInteractions(ctx, reporting.Filter{}, "", 100)
	if err != nil {
		return err
	}
	recorded := func(name string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) { return recorder.Explain(ctx, rpool, name) }
	}
	list := func(name string, f reporting.Filter, after string) bench.ReportQuery {
		return bench.ReportQuery{Name: name,
			Run: func(ctx context.Context) error {
				_, err := r.ListInteractions(ctx, f, after, 100)
				return err
			},
			Plan: func(ctx context.Context) (string, error) { return r.ExplainList(ctx, f, after, 100) }}
	}
	aggregate := func(groupBy string) bench.ReportQuery {
		name := "aggregates of a day by " + groupBy
		return bench.ReportQuery{Name: name, Plan: recorded(name), Run: func(ctx context.Context) error {
			_, err := r.Aggregates(bench.Label(ctx, name), from, to, groupBy)
			return err
		}}
	}
	n := 0
	queries := []bench.ReportQuery{
		list("list: first page", reporting.Filter{}, ""),
		list("list: next page", reporting.Filter{}, first.Next),
		list("list: live", reporting.Filter{State: "live"}, ""),
		list("list: chat, last day", reporting.Filter{Media: "chat", CreatedFrom: &from, CreatedTo: &to}, ""),
		list("list: a node's", reporting.Filter{NodeID: node}, ""),
		list("list: an agent's", reporting.Filter{Resource: resource}, ""),
		list("list: user data "+udKey+"="+string(udValue), reporting.Filter{UserDataKey: udKey, UserDataValue: udValue}, ""),
		list("list: user data key lang=\"fr\"", reporting.Filter{UserDataKey: "lang", UserDataValue: json.RawMessage(`"fr"`)}, ""),
		list("list: ended in an hour", reporting.Filter{EndedFrom: &hour, EndedTo: &hourEnd}, ""),
		list("list: one session", reporting.Filter{SessionID: pick.Stays[0].SessionID}, ""),
		{Name: "one interaction with its timeline", Plan: recorded("one interaction with its timeline"), Run: func(ctx context.Context) error {
			n++
			_, err := r.InteractionDetail(bench.Label(ctx, "one interaction with its timeline"), samples[n%len(samples)].InteractionID)
			return err
		}},
		aggregate("media"), aggregate("node"), aggregate("resource"),
	}

	// Writers through the API, at full speed, for the whole measurement.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hubCtx, stopHub := context.WithCancel(ctx)
	defer stopHub()
	inproc, err := newInProcess(hubCtx, pool, logger)
	if err != nil {
		return err
	}
	// As serve runs: the dispatcher publishes the writers' events and the rollup worker
	// follows them, after a rebuild of the rollups from the seeded rows.
	inproc.startDispatcher(hubCtx)
	defer inproc.stopDispatcher()
	rebuilt, err := rollup.Rebuild(ctx, pool, rollup.DefaultName, 0, inproc.store.LastPubSeq)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rollups rebuilt from %d interactions (live ones too) in %s\n", rebuilt.Interactions, rebuilt.Took.Round(time.Millisecond))
	worker, err := rollup.New(rollup.Config{ConnString: dbURL, Instance: "bench", Read: inproc.store.ListPublished,
		Wake: inproc.published.C, Logger: logger})
	if err != nil {
		return err
	}
	var workerDone sync.WaitGroup
	workerDone.Go(func() { worker.Run(hubCtx) })
	defer func() { stopHub(); workerDone.Wait() }() // the worker runs until hubCtx ends
	server := &http.Server{Handler: inproc.handler, ReadHeaderTimeout: 10 * time.Second}
	go server.Serve(listener) //nolint:errcheck // ends with Close below
	defer server.Close()
	load := bench.NewLoad("http://"+listener.Addr().String(), 2000)
	if err := load.Seed(ctx, 8); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reporting queries for %s while %d writers change party states; %d interactions sampled\n",
		duration, clients, len(samples))
	written := make(chan bench.Result, 1)
	werr := make(chan error, 1)
	go func() {
		res, err := load.Run(ctx, clients, duration)
		written <- res
		werr <- err
	}()
	timings, err := bench.MeasureReports(ctx, queries, duration)
	if err != nil {
		return err
	}
	res := <-written
	if err := <-werr; err != nil {
		return err
	}
	ws := worker.Stats()
	fmt.Fprintf(stdout, "writers meanwhile: %s; the rollup worker applied %d events (%d passed over, %d changes to the rollups) in %s of transactions: %s an event\n\n",
		res, ws.Events, ws.Skipped, ws.Changed, ws.Busy.Round(time.Millisecond), perEvent(ws.Busy, ws.Events))
	fmt.Fprintf(stdout, "%-46s %6s %9s %9s   plan\n", "query", "runs", "p50", "p95")
	for _, q := range queries {
		raw, err := q.Plan(ctx)
		if err != nil {
			return fmt.Errorf("plan of %s: %w", q.Name, err)
		}
		plan, err := bench.ReadPlan(raw)
		if err != nil {
			return err
		}
		seq := "no sequential scan of a big table"
		if len(plan.SeqScans) > 0 {
			seq = "SEQUENTIAL SCAN of " + strings.Join(plan.SeqScans, ", ")
		}
		fmt.Fprintf(stdout, "%-46s %6d %9s %9s   %s; %s\n", q.Name, len(timings[q.Name]),
			timings.Percentile(q.Name, 50).Round(10*time.Microsecond), timings.Percentile(q.Name, 95).Round(10*time.Microsecond),
			seq, strings.Join(plan.Scans, ", "))
	}
	return nil
}

// perEvent is a duration shared out over n events.
func perEvent(d time.Duration, n int64) time.Duration {
	if n == 0 {
		return 0
	}
	return (d / time.Duration(n)).Round(time.Microsecond)
}
