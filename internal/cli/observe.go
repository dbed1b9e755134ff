package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/metrics"
	"github.com/ixnstore/ixnstore/internal/tracing"
	"github.com/ixnstore/ixnstore/rollup"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/upkeep"
)

// observeFlags switch the metrics and the traces, and say where the metrics are served.
type observeFlags struct {
	metrics     bool
	metricsAddr string
	tracing     string
}

func (o *observeFlags) register(f *Flags) {
	f.EnvBool(&o.metrics, "metrics", "IXNSTORE_METRICS", true,
		"Prometheus metrics at /metrics (docs/operations.md lists them)")
	f.EnvString(&o.metricsAddr, "metrics-addr", "IXNSTORE_METRICS_ADDR", "",
		"HOST:PORT of a listener of their own for /metrics (plain HTTP, no token); empty serves them on --addr")
	f.EnvString(&o.tracing, "tracing", "IXNSTORE_TRACING", tracing.ModeAuto,
		"OpenTelemetry traces: auto (on when $OTEL_EXPORTER_OTLP_ENDPOINT or $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set), "+
			"on (spans are made even with no endpoint, and dropped: to measure their cost), or off; "+
			"the exporter reads the standard $OTEL_EXPORTER_OTLP_* variables ($OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf or grpc), "+
			"$OTEL_SERVICE_NAME and $OTEL_TRACES_SAMPLER")
}

func (o *observeFlags) validate() error {
	switch o.tracing {
	case tracing.ModeAuto, tracing.ModeOn, tracing.ModeOff:
	default:
		return fmt.Errorf("--tracing must be auto, on or off, not %q", o.tracing)
	}
	if o.metricsAddr != "" {
		if !o.metrics {
			return errors.New("--metrics-addr needs --metrics")
		}
		if _, _, err := net.SplitHostPort(o.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr must be HOST:PORT: %w", err)
		}
	}
	return nil
}

// observability is what the flags set up: the metrics (nil when off) and the traces.
type observability struct {
	metrics *metrics.Metrics
	tracing tracing.Tracing
	// batchMetrics is metrics for the dispatcher's goroutine, which starts before they are
	// made (they read the store, which needs the dispatcher's wake-up).
	batchMetrics atomic.Pointer[metrics.Metrics]
}

// startTracing sets up the traces and returns the logger that puts trace ids in its lines.
func (o *observeFlags) startTracing(ctx context.Context, logger *slog.Logger) (tracing.Tracing, *slog.Logger, error) {
	t, err := tracing.Start(ctx, o.tracing)
	if err != nil {
		return t, logger, err
	}
	if !t.Enabled() {
		return t, logger, nil
	}
	logger = slog.New(tracing.LogHandler(logger.Handler()))
	logger.Info("tracing on", "exporting", t.Exporting)
	return t, logger, nil
}

// pgTracer is the statements' tracer; nil when tracing is off.
func (ob *observability) pgTracer() pgx.QueryTracer {
	if !ob.tracing.Enabled() {
		return nil
	}
	return tracing.Statements{Tracer: ob.tracing.Tracer}
}

// startMetrics makes the metrics, reading the database's state through store and the
// pools' statistics.
func (o *observeFlags) startMetrics(store *service.Store, isDispatcher func() bool, streamsOpen func() int, pools map[string]*pgxpool.Pool,
	rollups *rollup.Worker, logger *slog.Logger) *metrics.Metrics {
	if !o.metrics {
		return nil
	}
	stats := map[string]func() metrics.PoolStat{}
	for name, p := range pools {
		stats[name] = func() metrics.PoolStat {
			s := p.Stat()
			return metrics.PoolStat{Acquired: s.AcquiredConns(), Idle: s.IdleConns(), Max: s.MaxConns(),
				AcquireCount: s.AcquireCount(), EmptyAcquireCount: s.EmptyAcquireCount(),
				CanceledAcquireCount: s.CanceledAcquireCount(), AcquireDuration: s.AcquireDuration(),
				NewConns: s.NewConnsCount()}
		}
	}
	var rollupStat func() metrics.RollupStat
	if rollups != nil {
		rollupStat = func() metrics.RollupStat {
			s := rollups.Stats()
			return metrics.RollupStat{Active: rollups.IsLeader(), Position: s.Position, Events: s.Events}
		}
	}
	return metrics.New(metrics.Config{
		Observe: func(ctx context.Context) (metrics.Observed, error) {
			s, err := store.Observe(ctx)
			return metrics.Observed(s), err
		},
		IsDispatcher: isDispatcher, StreamsOpen: streamsOpen, Pools: stats, Rollups: rollupStat,
		Logger: logger.With("part", "metrics"),
	})
}

// apiObserver is what the API reports to; nil when metrics are off.
func (ob *observability) apiObserver() api.Observer {
	if ob.metrics == nil {
		return nil
	}
	return ob.metrics
}

// metricsHandler is what /metrics on the API's listener serves: nil when the metrics are
// off or have a listener of their own.
func (ob *observability) metricsHandler(o *observeFlags) http.Handler {
	if ob.metrics == nil || o.metricsAddr != "" {
		return nil
	}
	return ob.metrics.Handler()
}

// batches sees each dispatcher batch: its span (its statements are the span's children) and
// its metrics (made after the dispatcher starts, so read at each batch). Nil when both are
// off.
func (ob *observability) batches(metricsOn bool) func(context.Context) (context.Context, func(dispatcher.Batch)) {
	if !metricsOn && !ob.tracing.Enabled() {
		return nil
	}
	return func(ctx context.Context) (context.Context, func(dispatcher.Batch)) {
		var span trace.Span
		if ob.tracing.Enabled() {
			ctx, span = ob.tracing.Tracer.Start(ctx, "dispatcher batch")
		}
		return ctx, func(b dispatcher.Batch) {
			if m := ob.batchMetrics.Load(); m != nil {
				m.Batch(b.Published, b.WrittenAt, b.Err)
			}
			if span != nil {
				span.SetAttributes(attribute.Int("ixnstore.events_published", b.Published))
				if b.Err != nil {
					span.RecordError(b.Err)
					span.SetStatus(codes.Error, "")
				}
				span.End()
			}
		}
	}
}

// passed counts each pass of a background loop; nil when the metrics are off.
func (ob *observability) passed(cfg upkeep.Config) func(upkeep.Pass) {
	if ob.metrics == nil {
		return nil
	}
	return func(p upkeep.Pass) { ob.metrics.Pass(cfg.Name, p.Count, p.Err) }
}

// serveMetrics serves /metrics on --metrics-addr, when given, until ctx ends.
func (o *observeFlags) serveMetrics(ctx context.Context, ob *observability, logger *slog.Logger) (stop func(), err error) {
	if ob.metrics == nil || o.metricsAddr == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", o.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", ob.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("the metrics listener stopped", "err", err)
		}
	}()
	logger.Info("metrics served", "addr", "http://"+l.Addr().String()+"/metrics")
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}, nil
}

// migrationsCurrent is the readiness check that the database's migrations are not behind
// this binary's.
func migrationsCurrent(applied func(ctx context.Context) (int64, error), latest int64) api.ReadyCheck {
	return api.ReadyCheck{Name: "migrations", Check: func(ctx context.Context) error {
		v, err := applied(ctx)
		if err != nil {
			return fmt.Errorf("could not read the database's migration version: %s", strings.TrimSpace(err.Error()))
		}
		if v < latest {
			return fmt.Errorf("the database is at migration %d, behind this binary's %d (run ixnstore migrate up)", v, latest)
		}
		return nil
	}}
}
