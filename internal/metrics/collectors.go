package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

var (
	backlogDesc = desc("outbox_backlog_events",
		"Events written and not yet published, in the database (all instances).")
	oldestDesc = desc("outbox_oldest_unpublished_seconds",
		"How long the oldest unpublished event has waited; 0 with no backlog.")
	nodesDesc = desc("nodes",
		"Registered routing nodes by state: live, lapsed (lease ran out without a heartbeat), left.", "state")
	sessionsDesc = desc("sessions_active",
		"Active sessions by owner: owned (by a live node) or orphaned (no owner, or a dead one).", "owner")
	pendingDesc = desc("requests_pending",
		"Action requests waiting for the media side to answer.")
)

// observedCollector reads the database's state at most once per ObserveEvery, under
// ObserveTimeout; a failed read leaves these metrics out of that scrape (and counts the
// failure) rather than showing stale numbers as current.
type observedCollector struct {
	cfg    Config
	errors prometheus.Counter

	mu   sync.Mutex
	at   time.Time
	last Observed
	ok   bool
}

func (c *observedCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{backlogDesc, oldestDesc, nodesDesc, sessionsDesc, pendingDesc} {
		ch <- d
	}
}

func (c *observedCollector) Collect(ch chan<- prometheus.Metric) {
	o, ok := c.read()
	if !ok {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(backlogDesc, float64(o.Backlog))
	gauge(oldestDesc, o.OldestUnpublished.Seconds())
	gauge(nodesDesc, float64(o.NodesLive), "live")
	gauge(nodesDesc, float64(o.NodesLapsed), "lapsed")
	gauge(nodesDesc, float64(o.NodesLeft), "left")
	gauge(sessionsDesc, float64(o.SessionsOwned), "owned")
	gauge(sessionsDesc, float64(o.SessionsOrphaned), "orphaned")
	gauge(pendingDesc, float64(o.RequestsPending))
}

// read returns the last reading when it is recent, else reads again. Scrapes that come
// together wait for the one read rather than each making their own.
func (c *observedCollector) read() (Observed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && time.Since(c.at) < c.cfg.ObserveEvery {
		return c.last, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ObserveTimeout)
	defer cancel()
	o, err := c.cfg.Observe(ctx)
	if err != nil {
		c.errors.Inc()
		c.ok = false
		c.cfg.Logger.Warn("metrics: reading the database's state failed", "err", err)
		return Observed{}, false
	}
	c.last, c.at, c.ok = o, time.Now(), true
	return o, true
}

var (
	poolConnsDesc = desc("db_pool_connections",
		"Connections of each database pool by state: acquired (in use), idle; and the pool's max.", "pool", "state")
	poolAcquiresDesc = desc("db_pool_acquires_total",
		"Connections taken from each pool; empty: the pool had none idle and the taker waited; canceled: the taker gave up.", "pool", "kind")
	poolAcquireSecondsDesc = desc("db_pool_acquire_seconds_total",
		"Time spent taking connections from each pool, added up: its rate over acquires is the mean wait.", "pool")
	poolConnectsDesc = desc("db_pool_connections_opened_total",
		"Connections each pool opened; a fast rise means connections are being lost or recycled.", "pool")
)

// poolCollector reads the pools' statistics, which pgxpool keeps in memory, at each scrape.
type poolCollector struct {
	pools map[string]func() PoolStat
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnsDesc, poolAcquiresDesc, poolAcquireSecondsDesc, poolConnectsDesc} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, stat := range c.pools {
		s := stat()
		g := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, t, v, append([]string{name}, labels...)...)
		}
		g(poolConnsDesc, prometheus.GaugeValue, float64(s.Acquired), "acquired")
		g(poolConnsDesc, prometheus.GaugeValue, float64(s.Idle), "idle")
		g(poolConnsDesc, prometheus.GaugeValue, float64(s.Max), "max")
		g(poolAcquiresDesc, prometheus.CounterValue, float64(s.AcquireCount), "all")
		g(poolAcquiresDesc, prometheus.CounterValue, float64(s.EmptyAcquireCount), "empty")
		g(poolAcquiresDesc, prometheus.CounterValue, float64(s.CanceledAcquireCount), "canceled")
		g(poolAcquireSecondsDesc, prometheus.CounterValue, s.AcquireDuration.Seconds())
		g(poolConnectsDesc, prometheus.CounterValue, float64(s.NewConns))
	}
}
