package auth

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: PerSecond requests on average, Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// DefaultRates are generous: a routing node at full speed (thousands of writes a second,
// see docs/benchmarks.md) stays far below its rate; they stop a runaway client, not a busy one.
var DefaultRates = map[Role]Rate{
	RoleNode:      {PerSecond: 20000, Burst: 40000},
	RoleAdapter:   {PerSecond: 20000, Burst: 40000},
	RoleReporting: {PerSecond: 2000, Burst: 4000},
	RoleAdmin:     {PerSecond: 20000, Burst: 40000},
}

// DefaultStreams is how many event or request streams one token may hold open at once.
const DefaultStreams = 64

// ParseRates reads "node=20000,reporting=500:1000" (requests a second, optionally :burst;
// without a burst, twice the rate) over the defaults.
func ParseRates(s string) (map[Role]Rate, error) {
	out := map[Role]Rate{}
	for r, v := range DefaultRates {
		out[r] = v
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not role=rate[:burst]", part)
		}
		role, err := ParseRole(name)
		if err != nil {
			return nil, err
		}
		perSec, burstText, hasBurst := strings.Cut(value, ":")
		ps, err := strconv.ParseFloat(perSec, 64)
		if err != nil || ps <= 0 {
			return nil, fmt.Errorf("%s: the rate must be a number of requests a second above 0, not %q", name, perSec)
		}
		burst := int(math.Ceil(2 * ps))
		if hasBurst {
			if burst, err = strconv.Atoi(burstText); err != nil || burst < 1 {
				return nil, fmt.Errorf("%s: the burst must be a whole number above 0, not %q", name, burstText)
			}
		}
		out[role] = Rate{PerSecond: ps, Burst: burst}
	}
	return out, nil
}

// Limiter holds each token to its role's rate and to a number of open streams.
type Limiter struct {
	rates   map[Role]Rate
	streams int

	buckets sync.Map // token id → *rate.Limiter

	mu   sync.Mutex
	open map[int64]int
}

// NewLimiter returns a limiter; rates missing a role take the default, streams ≤ 0 the default.
func NewLimiter(rates map[Role]Rate, streams int) *Limiter {
	all := map[Role]Rate{}
	for r, v := range DefaultRates {
		all[r] = v
	}
	for r, v := range rates {
		all[r] = v
	}
	if streams <= 0 {
		streams = DefaultStreams
	}
	return &Limiter{rates: all, streams: streams, open: map[int64]int{}}
}

// Allow takes one request from the token's bucket; when it is empty it says how long until
// the next request would be let through.
func (l *Limiter) Allow(p Principal) (bool, time.Duration) {
	b, ok := l.buckets.Load(p.TokenID)
	if !ok {
		r := l.rates[p.Role]
		b, _ = l.buckets.LoadOrStore(p.TokenID, rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst))
	}
	lim := b.(*rate.Limiter)
	now := time.Now()
	res := lim.ReserveN(now, 1)
	if res.OK() && res.DelayFrom(now) == 0 {
		return true, 0
	}
	wait := res.DelayFrom(now)
	res.CancelAt(now)
	return false, wait
}

// OpenStream counts a stream against the token's cap; release must be called when it ends.
func (l *Limiter) OpenStream(p Principal) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[p.TokenID] >= l.streams {
		return nil, false
	}
	l.open[p.TokenID]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[p.TokenID]--; l.open[p.TokenID] <= 0 {
				delete(l.open, p.TokenID)
			}
		})
	}, true
}

// Streams is the cap of open streams per token.
func (l *Limiter) Streams() int { return l.streams }
