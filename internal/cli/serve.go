package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/console"
	"github.com/ixnstore/ixnstore/migrations"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/upkeep"
)

// retentionEvery is how often published events past their retention, and idempotency keys
// past their time, are looked for: those times are hours or days, so a minute late is
// nothing, and a pass that finds nothing is one indexed read.
const retentionEvery = time.Minute

// outboxVacuumEvery is how often the outbox is vacuumed (upkeep.OutboxVacuum): at thousands
// of events a second, tens of thousands of dead rows at most, a vacuum of milliseconds.
const outboxVacuumEvery = 10 * time.Second

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	f := NewFlags("ixnstore serve [flags]", "Applies pending migrations, then serves the HTTP API until SIGINT or SIGTERM.", stderr)
	var (
		addr, logLevel, logFormat string
		shutdownGrace             time.Duration
		requestDeadline           time.Duration
		requestTimeout, sweep     time.Duration
		nodeLease, assignEvery    time.Duration
		retention                 time.Duration
		idempotencyTTL            time.Duration
		assignOrphans             bool
		checkpointKeep, ckptBytes int
		sharedCommits             int
		db                        DatabaseFlags
		dispatch                  dispatchFlags
		streams                   streamFlags
		access                    accessFlags
		bridge                    natsFlags
		rollups                   rollupFlags
		observe                   observeFlags
		archived                  archiveFlags
	)
	f.EnvString(&addr, "addr", "IXNSTORE_ADDR", "127.0.0.1:8080", "HOST:PORT the HTTP API listens on")
	db.Register(f)
	dispatch.register(f)
	streams.register(f)
	access.register(f)
	bridge.register(f)
	rollups.register(f)
	observe.register(f)
	archived.register(f)
	f.EnvString(&logLevel, "log-level", "IXNSTORE_LOG_LEVEL", "info", "debug, info, warn or error")
	f.EnvString(&logFormat, "log-format", "IXNSTORE_LOG_FORMAT", "text", "text or json")
	f.EnvDuration(&requestTimeout, "request-timeout", "IXNSTORE_REQUEST_TIMEOUT", service.DefaultRequestTimeout,
		"how long the media side has to answer an action request that gives no timeout of its own")
	f.EnvDuration(&sweep, "request-sweep", "IXNSTORE_REQUEST_SWEEP", 250*time.Millisecond,
		"how often overdue action requests are looked for and ended with error timeout")
	f.EnvDuration(&nodeLease, "node-lease", "IXNSTORE_NODE_LEASE", service.DefaultNodeLease,
		"how long a routing node (and the sessions it owns) stays alive after a heartbeat, for nodes that register without a lease")
	f.EnvInt(&checkpointKeep, "checkpoint-versions", "IXNSTORE_CHECKPOINT_VERSIONS", service.DefaultCheckpointKeep,
		"how many versions of each session's checkpoint are kept: 1, the current one alone; more keeps those before it for audit, at the cost of a history row per write")
	f.EnvInt(&ckptBytes, "checkpoint-max-bytes", "IXNSTORE_CHECKPOINT_MAX_BYTES", service.DefaultCheckpointMaxBytes,
		"the largest session checkpoint taken, in bytes of its JSON (larger: 413 checkpoint_too_large)")
	f.EnvInt(&sharedCommits, "shared-commits", "IXNSTORE_SHARED_COMMITS", service.DefaultSharedCommits,
		"party state changes: how many commits shared by several changes may be written at once; changes that arrive while they are wait for the next and commit together (0: each change commits alone)")
	f.EnvBool(&assignOrphans, "assign-orphans", "IXNSTORE_ASSIGN_ORPHANS", false,
		"give sessions whose node died or left to live nodes by spare capacity (else nodes claim them)")
	f.EnvDuration(&assignEvery, "assign-interval", "IXNSTORE_ASSIGN_INTERVAL", 500*time.Millisecond,
		"how often orphaned sessions are looked for with --assign-orphans")
	f.EnvDuration(&retention, "retention", "IXNSTORE_RETENTION", 7*24*time.Hour,
		"how long published events are kept, by whole UTC days of publication: a day goes once it ended this long ago (0 keeps them)")
	f.EnvDuration(&requestDeadline, "request-deadline", "IXNSTORE_REQUEST_DEADLINE", api.DefaultRequestDeadline,
		"the longest an API request (not an event stream) may take: past it, its statement is abandoned and it answers 503")
	f.EnvDuration(&idempotencyTTL, "idempotency-ttl", "IXNSTORE_IDEMPOTENCY_TTL", service.DefaultIdempotencyTTL,
		"how long an Idempotency-Key and the first answer to its write are kept (a retry within it gets that answer)")
	f.EnvDuration(&shutdownGrace, "shutdown-grace", "IXNSTORE_SHUTDOWN_GRACE", 10*time.Second,
		"how long requests in flight may finish at shutdown")
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	if checkpointKeep < 1 || ckptBytes < 1 {
		return fmt.Errorf("--checkpoint-versions and --checkpoint-max-bytes must be 1 or more")
	}
	storeConfig := service.Config{RequestTimeout: requestTimeout, NodeLease: nodeLease,
		CheckpointKeep: checkpointKeep, CheckpointMaxBytes: ckptBytes, IdempotencyTTL: idempotencyTTL,
		SharedCommits: sharedCommits}
	if idempotencyTTL <= 0 {
		return fmt.Errorf("--idempotency-ttl must be more than 0")
	}
	if err := storeConfig.Validate(); err != nil {
		return fmt.Errorf("--request-timeout, --node-lease, --checkpoint-* or --idempotency-ttl: %w", err)
	}
	if retention < 0 {
		return fmt.Errorf("--retention must be 0 (keep events) or more")
	}
	if err := dispatch.validate(); err != nil {
		return err
	}
	if requestDeadline <= 0 {
		return fmt.Errorf("--request-deadline must be more than 0")
	}
	if err := streams.validate(); err != nil {
		return err
	}
	if err := access.validate(); err != nil {
		return err
	}
	if err := bridge.validate(); err != nil {
		return err
	}
	if err := rollups.validate(); err != nil {
		return err
	}
	if err := observe.validate(); err != nil {
		return err
	}
	if err := archived.validate(); err != nil {
		return err
	}
	if sweep <= 0 || assignEvery <= 0 {
		return fmt.Errorf("--request-sweep and --assign-interval must be more than 0")
	}
	logger, err := NewLogger(stderr, logLevel, logFormat)
	if err != nil {
		return err
	}
	var ob observability
	if ob.tracing, logger, err = observe.startTracing(ctx, logger); err != nil {
		return err
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := ob.tracing.Shutdown(flushCtx); err != nil {
			logger.Warn("sending the last spans failed", "err", err)
		}
	}()
	db.tracer = ob.pgTracer()

	migrationPool, closeDB, err := db.Open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()

	applied, err := migrations.Up(ctx, migrationPool, nil)
	if err != nil {
		return err
	}
	logger.Info("database schema is current", "migrations_applied", applied)
	pool, err := db.OpenServing(ctx, migrationPool)
	if err != nil {
		return err
	}
	defer pool.Close()
	migrationPool.Reset() // its connections are not needed any more

	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	reportsPool, err := db.OpenReporting(ctx, pool)
	if err != nil {
		return err
	}
	defer reportsPool.Close()
	backgroundCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	pub := dispatch.start(backgroundCtx, pool, db.Timeouts(), logger, ob.batches(observe.metrics), ob.pgTracer())
	var background sync.WaitGroup
	closeStreamsPool, stopBridge, stopRollups := func() {}, func() {}, func() {}
	defer func() {
		stopBackground()
		pub.Wait()
		background.Wait()
		stopBridge()
		stopRollups()
		closeStreamsPool() // after the stream hub stopped reading through it
	}()
	storeConfig.Written = pub.Written
	hub, streamsPool, err := streams.open(ctx, pool, db.Timeouts(), pub.Published.C, logger)
	if err != nil {
		return err
	}
	closeStreamsPool = streamsPool.Close
	background.Go(func() { hub.Run(backgroundCtx) })
	if stopBridge, err = bridge.start(backgroundCtx, pool, db.Timeouts(), dispatch.instance, dispatch.takeover, pub.Published.C, logger); err != nil {
		return err
	}
	rollupWorker, stopRollups, err := rollups.start(backgroundCtx, pool, db.Timeouts(), dispatch.instance, dispatch.takeover, pub.Published.C, logger)
	if err != nil {
		return err
	}
	store := service.New(pool, storeConfig)
	ob.metrics = observe.startMetrics(store, pub.IsDispatcher, hub.Streams,
		map[string]*pgxpool.Pool{"serving": pool, "reporting": reportsPool, "streams": streamsPool}, rollupWorker, logger)
	ob.batchMetrics.Store(ob.metrics)
	stopMetrics, err := observe.serveMetrics(ctx, &ob, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	loops := []upkeep.Config{upkeep.RequestTimeouts(store, sweep, logger),
		upkeep.IdempotencyExpiry(store, retentionEvery, logger), upkeep.OutboxVacuum(store, outboxVacuumEvery, logger)}
	if retention > 0 {
		loops = append(loops, upkeep.Retention(store, retention, retentionEvery, logger))
	}
	if assignOrphans {
		loops = append(loops, upkeep.OrphanAssignment(store, assignEvery, logger))
	}
	if archiveLoop, err := archived.loop(pool, logger); err != nil {
		return err
	} else if archiveLoop != nil {
		loops = append(loops, *archiveLoop)
	}
	for _, cfg := range loops {
		cfg.Passed = ob.passed(cfg)
		loop, err := upkeep.New(cfg)
		if err != nil {
			return err
		}
		background.Go(func() { loop.Run(backgroundCtx) })
	}
	checks, err := access.start(backgroundCtx, pool, db.embeddedDir(), logger, stderr, &background)
	if err != nil {
		return err
	}
	latest, err := migrations.Latest()
	if err != nil {
		return err
	}
	stopping := make(chan struct{})
	handler := api.New(store, logger, api.Options{Streams: hub, Stopping: stopping,
		Reports: reporting.New(reportsPool), RequestDeadline: requestDeadline, Access: checks,
		Observer: ob.apiObserver(), Metrics: ob.metricsHandler(&observe), Tracer: ob.tracing.Tracer,
		ReadyChecks: []api.ReadyCheck{migrationsCurrent(func(ctx context.Context) (int64, error) {
			return migrations.Applied(ctx, pool)
		}, latest)}})
	server := &http.Server{
		Handler:           console.New(handler, consoleConfig(checks, access.tlsCert != "")),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- access.serve(server, listener) }()
	logger.Info("ixnstore serving", "addr", listener.Addr().String(), "tls", access.tlsCert != "", "auth", access.mode)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", shutdownGrace)
	// Unready, and the event streams end with a comment that says to resume; the other
	// requests may finish. The dispatcher's lead goes to a standby now, not after the
	// grace: publication does not wait for this instance's requests to drain.
	close(stopping)
	pub.Resign()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// consoleConfig: the console checks its logins with the API's verifier (none with access
// off), and marks its cookie Secure when the server speaks TLS.
func consoleConfig(checks *api.Access, tls bool) console.Config {
	cfg := console.Config{Secure: tls}
	if checks != nil {
		cfg.Verifier = checks.Verifier
	}
	return cfg
}
