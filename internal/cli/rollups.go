package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/migrations"
	"github.com/ixnstore/ixnstore/rollup"
	"github.com/ixnstore/ixnstore/service"
)

// rollupFlags set up the worker that keeps the aggregates report's hourly rollups: on by
// default; one instance per database keeps them, the others stand by.
type rollupFlags struct {
	enabled bool
	settle  time.Duration
}

func (r *rollupFlags) register(f *Flags) {
	f.EnvBool(&r.enabled, "rollups", "IXNSTORE_ROLLUPS", true,
		"keep the hourly rollups the aggregates report reads (one instance per database does, the others stand by); "+
			"off: the report reads the rollups as last kept, completed from the rows")
	f.EnvDuration(&r.settle, "rollup-settle", "IXNSTORE_ROLLUP_SETTLE", rollup.DefaultSettle,
		"the rollup worker writes settled_before as its last event's time less this, for operators "+
			"(reports no longer depend on it: they read what the worker has not applied from the events after its position)")
}

func (r *rollupFlags) validate() error {
	if r.settle <= 0 {
		return fmt.Errorf("--rollup-settle must be more than 0")
	}
	return nil
}

// start runs the worker until ctx ends, when --rollups is on. It reads publication through a
// small read-only pool of its own, never the writers'; wait waits for it to stop and closes
// the pool. The worker is returned for the metrics (nil when off).
func (r *rollupFlags) start(ctx context.Context, main *pgxpool.Pool, timeouts database.Timeouts, instance string, takeover time.Duration,
	published func() <-chan struct{}, logger *slog.Logger) (worker *rollup.Worker, wait func(), err error) {
	if !r.enabled {
		return nil, func() {}, nil
	}
	pool, err := database.Open(ctx, main.Config().ConnString(), database.PoolOptions{MaxConns: 2, ReadOnly: true, Timeouts: timeouts})
	if err != nil {
		return nil, func() {}, fmt.Errorf("the rollup worker's pool: %w", err)
	}
	worker, err = rollup.New(rollup.Config{ConnString: main.Config().ConnString(), Timeouts: timeouts, Instance: instance,
		Takeover: takeover, Settle: r.settle, Read: service.New(pool, service.Config{}).ListPublished, Wake: published,
		Logger: logger.With("part", "rollups")})
	if err != nil {
		pool.Close()
		return nil, func() {}, err
	}
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(ctx) })
	return worker, func() { wg.Wait(); pool.Close() }, nil
}

// rollups is `ixnstore rollups rebuild`: the rollups computed again from the rows.
func rollups(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := NewFlags("ixnstore rollups [flags] rebuild",
		"rebuild computes the aggregates report's hourly rollups from scratch from the interactions' rows, in one "+
			"transaction (reports read the old ones until it commits), and sets the rollup worker's position to the "+
			"last published event; a running worker starts again from there. For a database that had none (a "+
			"restored or seeded one) or after a change of how they are counted.", stderr)
	var (
		db                  DatabaseFlags
		logLevel, logFormat string
		settle              time.Duration
	)
	db.Register(f)
	f.EnvString(&logLevel, "log-level", "IXNSTORE_LOG_LEVEL", "info", "debug, info, warn or error")
	f.EnvString(&logFormat, "log-format", "IXNSTORE_LOG_FORMAT", "text", "text or json")
	f.EnvDuration(&settle, "rollup-settle", "IXNSTORE_ROLLUP_SETTLE", rollup.DefaultSettle,
		"settled_before written by the rebuild: its snapshot's time less this (for operators; reports no longer depend on it)")
	var action string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	if action == "" && f.NArg() == 1 {
		action = f.Arg(0)
	} else if f.NArg() != 0 {
		action = ""
	}
	if action != "rebuild" {
		f.Usage()
		return ErrUsage
	}
	logger, err := NewLogger(stderr, logLevel, logFormat)
	if err != nil {
		return err
	}
	pool, closeDB, err := db.Open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := migrations.Up(ctx, pool, logger); err != nil {
		return err
	}
	done, err := rollup.Rebuild(ctx, pool, rollup.DefaultName, settle, service.New(pool, service.Config{}).LastPubSeq)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rollups rebuilt: %d ended interactions counted in %s; the worker goes on after pub_seq %d\n",
		done.Interactions, done.Took.Round(time.Millisecond), done.LastPubSeq)
	return nil
}
