// Package metrics is ixnstore's Prometheus metrics: one registry, the instruments the parts
// report to through small hooks (the parts themselves import no Prometheus), and the handler
// that serves them. Everything this process knows it counts as it happens; what only the
// database knows (the publication backlog, nodes and sessions by state, pending requests) is
// read by one statement at most per scrape, under a timeout, and kept for a second so that
// several scrapers do not multiply it.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "ixnstore"

// Observed is what the database knows and this process cannot count (service.Observed, put
// here by the command that wires the two).
type Observed struct {
	Backlog                           int64
	OldestUnpublished                 time.Duration
	NodesLive, NodesLapsed, NodesLeft int64
	SessionsOwned, SessionsOrphaned   int64
	RequestsPending                   int64
}

// PoolStat is one pgxpool's statistics, read at each scrape.
type PoolStat struct {
	Acquired, Idle, Max                                   int32
	AcquireCount, EmptyAcquireCount, CanceledAcquireCount int64
	AcquireDuration                                       time.Duration
	NewConns                                              int64
}

// Config says where the gauges read from; every field may be nil (its metrics are then left
// out).
type Config struct {
	// Observe reads what only the database knows; called at most once per ObserveEvery.
	Observe func(ctx context.Context) (Observed, error)
	// ObserveTimeout bounds Observe (default 1 s): a scrape never waits longer on the database.
	ObserveTimeout time.Duration
	// ObserveEvery is the least time between two Observe calls (default 1 s).
	ObserveEvery time.Duration
	// IsDispatcher says whether this instance is the active dispatcher now.
	IsDispatcher func() bool
	// StreamsOpen says how many event streams this instance serves.
	StreamsOpen func() int
	// Pools are the database pools by name ("serving", "reporting", "streams").
	Pools map[string]func() PoolStat
	// Rollups tells what this instance's rollup worker did; nil: it runs none.
	Rollups func() RollupStat
	Logger  *slog.Logger
}

// RollupStat is what an instance's rollup worker did (rollup.Worker's Stats).
type RollupStat struct {
	Active           bool
	Position, Events int64
}

// Metrics holds the instruments. Its methods are the hooks the parts call; each is safe for
// concurrent use and cheap (no allocation once a label set has been seen).
type Metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	routes    sync.Map // routeKey → *routeInstruments
	changes   *prometheus.CounterVec
	refusals  *prometheus.CounterVec

	changeCounters, refusalCounters counters

	published     prometheus.Counter
	batches       *prometheus.CounterVec
	lag           prometheus.Histogram
	eventsSent    prometheus.Counter
	timeouts      prometheus.Counter
	sweeps        *prometheus.CounterVec
	claims        *prometheus.CounterVec
	observeErrors prometheus.Counter
}

type routeKey struct {
	method, route string
	status        int
}

type routeInstruments struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// New makes the registry with the Go runtime's and the process's collectors, the instruments,
// and the gauges cfg reads.
func New(cfg Config) *Metrics {
	if cfg.ObserveTimeout <= 0 {
		cfg.ObserveTimeout = time.Second
	}
	if cfg.ObserveEvery <= 0 {
		cfg.ObserveEvery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{reg}
	m := &Metrics{
		reg: reg,
		requests: f.counterVec("http_requests_total",
			"HTTP requests answered, by route (as registered), method and status.", "route", "method", "status"),
		durations: f.histogramVec("http_request_duration_seconds",
			"Time from a request's arrival to its answer, by route and method.",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}, "route", "method"),
		changes: f.counterVec("state_changes_total",
			"State changes made through the API, by kind (the operation), counted when they commit.", "kind"),
		refusals: f.counterVec("refusals_total",
			"Requests refused with a 4xx, by reason (the error code of the answer).", "reason"),
		published: f.counter("events_published_total", "Events the dispatcher of this instance published."),
		batches: f.counterVec("dispatcher_batches_total",
			"Dispatcher batches by outcome: published (committed with events), empty, failed.", "outcome"),
		lag: f.histogram("publication_lag_seconds",
			"Time from an event's write to its publication by this instance's dispatcher.",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}),
		eventsSent: f.counter("stream_events_sent_total", "Events sent on this instance's event streams."),
		timeouts: f.counter("request_timeouts_total",
			"Action requests this instance ended with error timeout because the media side did not answer in time."),
		sweeps: f.counterVec("upkeep_passes_total",
			"Passes of the background loops (request timeouts, orphan assignment, retention, idempotency expiry), by loop and outcome.",
			"loop", "outcome"),
		claims: f.counterVec("claims_total",
			"Sessions that changed owner through this instance: claimed by a node, or assigned to one by orphan assignment.", "how"),
		observeErrors: f.counter("observe_errors_total",
			"Scrapes whose read of the database's state (backlog, nodes, sessions, requests) failed or timed out."),
	}
	if cfg.IsDispatcher != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "dispatcher_active",
			Help: "1 while this instance is the active dispatcher, 0 while it stands by or runs none."},
			func() float64 { return boolValue(cfg.IsDispatcher()) }))
	}
	if cfg.StreamsOpen != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "streams_open",
			Help: "Event streams this instance serves now."},
			func() float64 { return float64(cfg.StreamsOpen()) }))
	}
	if cfg.Rollups != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "rollup_worker_active",
			Help: "1 while this instance keeps the aggregates report's rollups, 0 while it stands by."},
			func() float64 { return boolValue(cfg.Rollups().Active) }))
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "rollup_position",
			Help: "The last publication number this instance's rollup worker applied (compare with the last published)."},
			func() float64 { return float64(cfg.Rollups().Position) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: "rollup_events_applied_total",
			Help: "Published events this instance's rollup worker applied to the rollups."},
			func() float64 { return float64(cfg.Rollups().Events) }))
	}
	if cfg.Observe != nil {
		reg.MustRegister(&observedCollector{cfg: cfg, errors: m.observeErrors})
	}
	if len(cfg.Pools) > 0 {
		reg.MustRegister(&poolCollector{pools: cfg.Pools})
	}
	return m
}

// Handler serves the registry in Prometheus's text format (or OpenMetrics when asked).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, Timeout: 5 * time.Second})
}

// Registry is the registry, for tests that read a metric's value.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request counts one answered request. The label sets are made once per route, method and
// status and kept: the hot path does a map read and two atomic adds.
func (m *Metrics) Request(method, route string, status int, elapsed time.Duration) {
	k := routeKey{method: method, route: route, status: status}
	ri, ok := m.routes.Load(k)
	if !ok {
		ri, _ = m.routes.LoadOrStore(k, &routeInstruments{
			count:    m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
			duration: m.durations.WithLabelValues(route, method),
		})
	}
	r := ri.(*routeInstruments)
	r.count.Inc()
	r.duration.Observe(elapsed.Seconds())
}

// Changed counts one committed state change of kind.
func (m *Metrics) Changed(kind string) { m.changeCounters.of(m.changes, kind).Inc() }

// Refused counts one refusal with reason (the answer's error code).
func (m *Metrics) Refused(reason string) { m.refusalCounters.of(m.refusals, reason).Inc() }

// counters keeps the counter of each label value of a one-label vector once made: a map
// read instead of hashing the label on every call.
type counters struct{ m sync.Map }

func (c *counters) of(vec *prometheus.CounterVec, label string) prometheus.Counter {
	if v, ok := c.m.Load(label); ok {
		return v.(prometheus.Counter)
	}
	v, _ := c.m.LoadOrStore(label, vec.WithLabelValues(label))
	return v.(prometheus.Counter)
}

// Claimed counts n sessions that changed owner, how: "claim" or "assign".
func (m *Metrics) Claimed(how string, n int) { m.claims.WithLabelValues(how).Add(float64(n)) }

// EventsSent counts n events sent on a stream.
func (m *Metrics) EventsSent(n int) { m.eventsSent.Add(float64(n)) }

// Batch counts one dispatcher batch: its events, and each one's lag from write to now.
func (m *Metrics) Batch(published int, writtenAt []time.Time, err error) {
	switch {
	case err != nil:
		m.batches.WithLabelValues("failed").Inc()
		return
	case published == 0:
		m.batches.WithLabelValues("empty").Inc()
		return
	}
	m.batches.WithLabelValues("published").Inc()
	m.published.Add(float64(published))
	now := time.Now()
	for _, w := range writtenAt {
		m.lag.Observe(now.Sub(w).Seconds())
	}
}

// Pass counts one pass of the background loop named loop; for the request timeouts, the
// requests it ended.
func (m *Metrics) Pass(loop string, done int, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
	m.sweeps.WithLabelValues(loop, outcome).Inc()
	switch loop {
	case LoopRequestTimeouts:
		m.timeouts.Add(float64(done))
	case LoopOrphanAssignment:
		if done > 0 {
			m.Claimed("assign", done)
		}
	}
}

// The loops whose passes count something besides the pass.
const (
	LoopRequestTimeouts  = "request timeouts"
	LoopOrphanAssignment = "orphan assignment"
)

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// factory registers instruments under the namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}
