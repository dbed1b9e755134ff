package day

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/ixnstore/ixnstore/client"
)

// stats gathers the latency of every call by kind and the errors by kind and code.
type stats struct {
	mu      sync.Mutex
	latency map[string][]time.Duration
	errs    map[ErrorCount]int
	writes  int // writes answered 2xx
	events  int // events those answers carried
}

func newStats() *stats {
	return &stats{latency: map[string][]time.Duration{}, errs: map[ErrorCount]int{}}
}

// observe records a call of kind that took d: a success with the events it wrote, or an
// error, which is an expected refusal when its code is one of expected.
func (s *stats) observe(kind string, d time.Duration, events int, err error, expected ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.latency[kind] = append(s.latency[kind], d)
		s.writes++
		s.events += events
		return
	}
	c := codeOf(err)
	s.errs[ErrorCount{Kind: kind, Code: c, Expected: slices.Contains(expected, c)}]++
}

// call records a call of kind that changes nothing (a heartbeat): its latency, or its error.
func (s *stats) call(kind string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.latency[kind] = append(s.latency[kind], d)
		return
	}
	s.errs[ErrorCount{Kind: kind, Code: codeOf(err)}]++
}

// fail records a failure that is not an answer of the server (an answer that never came).
func (s *stats) fail(kind, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs[ErrorCount{Kind: kind, Code: code}]++
}

func codeOf(err error) string {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "error"
}

// KindStat is the latency of one kind of call answered 2xx.
type KindStat struct {
	Kind     string
	N        int
	P50, P99 time.Duration
}

// ErrorCount is how many calls of a kind got an error code; Expected: a refusal the day
// provokes on purpose (a claim another node won, an answer after the request timed out).
type ErrorCount struct {
	Kind, Code string
	Expected   bool
	N          int
}

func (s *stats) kinds() []KindStat {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []KindStat
	for k, ds := range s.latency {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		out = append(out, KindStat{Kind: k, N: len(ds), P50: quantile(ds, 0.50), P99: quantile(ds, 0.99)})
	}
	slices.SortFunc(out, func(a, b KindStat) int { return b.N - a.N })
	return out
}

func (s *stats) errors() []ErrorCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ErrorCount
	for k, n := range s.errs {
		k.N = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b ErrorCount) int {
		if a.Expected != b.Expected {
			if a.Expected {
				return 1
			}
			return -1
		}
		return b.N - a.N
	})
	return out
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
