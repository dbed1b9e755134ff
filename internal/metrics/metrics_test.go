package metrics_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixnstore/ixnstore/internal/metrics"
)

// every makes metrics with every gauge's source and each labelled instrument touched once,
// so that each metric shows in a scrape.
func every(t *testing.T, observe func(context.Context) (metrics.Observed, error)) *metrics.Metrics {
	t.Helper()
	m := metrics.New(metrics.Config{
		Observe:      observe,
		IsDispatcher: func() bool { return true }, StreamsOpen: func() int { return 3 },
		Pools:   map[string]func() metrics.PoolStat{"serving": func() metrics.PoolStat { return metrics.PoolStat{Max: 32} }},
		Rollups: func() metrics.RollupStat { return metrics.RollupStat{Active: true, Position: 41, Events: 40} },
	})
	m.Request("POST", "/v1/sessions", 201, time.Millisecond)
	m.Changed("createSession")
	m.Refused("conflict")
	m.Claimed("claim", 1)
	m.EventsSent(2)
	m.Batch(2, []time.Time{time.Now().Add(-time.Second), time.Now()}, nil)
	m.Pass(metrics.LoopRequestTimeouts, 4, nil)
	return m
}

func TestHooksMoveTheirMetrics(t *testing.T) {
	m := every(t, func(context.Context) (metrics.Observed, error) { return metrics.Observed{Backlog: 7}, nil })
	m.Request("POST", "/v1/sessions", 201, 2*time.Millisecond)
	reg := m.Registry()
	for name, want := range map[string]float64{
		"ixnstore_http_requests_total":         2,
		"ixnstore_events_published_total":      2,
		"ixnstore_publication_lag_seconds":     2, // observations
		"ixnstore_request_timeouts_total":      4,
		"ixnstore_outbox_backlog_events":       7,
		"ixnstore_streams_open":                3,
		"ixnstore_dispatcher_active":           1,
		"ixnstore_stream_events_sent_total":    2,
		"ixnstore_rollup_worker_active":        1,
		"ixnstore_rollup_position":             41,
		"ixnstore_rollup_events_applied_total": 40,
	} {
		got := gathered(t, reg, name)
		if got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// A scrape whose database read fails leaves those metrics out, not stale, and counts it.
func TestObserveFailureLeavesTheGaugesOut(t *testing.T) {
	m := every(t, func(context.Context) (metrics.Observed, error) { return metrics.Observed{}, errors.New("down") })
	if n, err := testutil.GatherAndCount(m.Registry(), "ixnstore_outbox_backlog_events"); err != nil || n != 0 {
		t.Fatalf("backlog series: %d (%v), want 0", n, err)
	}
	// Each scrape tries again (a failure is not kept): this one's own read may count or not
	// by the time its counter is collected, the one before has.
	if got := gathered(t, m.Registry(), "ixnstore_observe_errors_total"); got < 1 {
		t.Errorf("observe errors: %v, want 1 or more", got)
	}
}

// gathered sums a metric's samples (a histogram's: its observation count).
func gathered(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// Every metric is in the operator's table (docs/operations.md), and every metric the
// dashboard (deploy/grafana) queries exists.
func TestDocsAndDashboardNameRealMetrics(t *testing.T) {
	m := every(t, func(context.Context) (metrics.Observed, error) { return metrics.Observed{}, nil })
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	real := map[string]bool{}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "ixnstore_") {
			real[f.GetName()] = true
		}
	}
	docs, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range real {
		if !strings.Contains(string(docs), "`"+name+"`") {
			t.Errorf("docs/operations.md does not list %s", name)
		}
	}
	dashboard, err := os.ReadFile("../../deploy/grafana/dashboards/ixnstore.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, used := range regexp.MustCompile(`ixnstore_[a-z_]+`).FindAllString(string(dashboard), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(used, "_bucket"), "_count"), "_sum")
		if !real[base] {
			t.Errorf("the dashboard queries %s, which is no metric", used)
		}
	}
}
