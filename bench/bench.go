// Package bench drives ixnstore's HTTP API with concurrent clients and measures state changes
// per second and their latency. Each change is a party state change (established ↔ held),
// one interaction.partystatechanged event: the same state change with its outbox row that
// shared/bench/commit-ceiling measures in bare SQL.
package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Load drives one ixnstore API over sessions bench-1 … bench-N. It remembers the state it
// left each party in, so that every change it asks for is a legal one, run after run.
type Load struct {
	baseURL string
	held    []bool // per session: p1 is held now
	// checkpoint, when set, is sent with every change: a node that checkpoints its session
	// with each state change its strategy causes, in the same transaction.
	checkpoint string
	// header is sent with every request: a token, the lease epoch (WithAuth).
	header http.Header
}

// WithAuth sends token (when not empty) with every request and, when epoch is above 0, the
// lease epoch: with a node token bound to "bench", the node that owns the sessions (from
// their creation, at epoch 1) writes as a routing node must.
func (l *Load) WithAuth(token string, epoch int64) *Load {
	if token != "" {
		l.header.Set("Authorization", "Bearer "+token)
	}
	if epoch > 0 {
		l.header.Set("X-Lease-Epoch", strconv.FormatInt(epoch, 10))
	}
	return l
}

// WithCheckpoint makes every change carry a session checkpoint of about size bytes of JSON
// (a data model with a counter and padding, one active state, no timers).
func (l *Load) WithCheckpoint(size int) *Load {
	const frame = `,"checkpoint":{"datamodel":{"counter":0,"pad":""},"configuration":["waiting"],"timers":[]}`
	if size > len(frame) {
		l.checkpoint = `,"checkpoint":{"datamodel":{"counter":0,"pad":"` + strings.Repeat("x", size-len(frame)) +
			`"},"configuration":["waiting"],"timers":[]}`
	}
	return l
}

func NewLoad(baseURL string, sessions int) *Load {
	return &Load{baseURL: baseURL, held: make([]bool, sessions+1), header: http.Header{}}
}

func (l *Load) sessions() int { return len(l.held) - 1 }

// Result of one measurement.
type Result struct {
	Clients  int
	Changes  int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

func (r Result) PerSecond() float64 { return float64(r.Changes) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("ixnstore: %.0f state changes/s at %d clients (p50 %s, p99 %s, %d errors, %.0fs)",
		r.PerSecond(), r.Clients, r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Errors, r.Elapsed.Seconds())
}

func sessionID(n int) string { return fmt.Sprintf("bench-%d", n) }

// Seed creates the sessions, each with one presented interaction and one established party,
// through the API; sessions that exist already are left as they are.
func (l *Load) Seed(ctx context.Context, workers int) error {
	baseURL, sessions := l.baseURL, l.sessions()
	client := newClient(workers)
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				sid := sessionID(n)
				steps := []struct{ method, path, body string }{
					{"POST", "/v1/sessions", `{"session_id":"` + sid + `","owner_node":"bench"}`},
					{"POST", "/v1/sessions/" + sid + "/interactions", `{"interaction_id":"` + sid + `-i","media":"voice","type":"inbound",` +
						`"parties":[{"party_id":"p1","resource":"7001","state":"established","role":"agent"}]}`},
					{"POST", "/v1/sessions/" + sid + "/interactions/" + sid + "-i/present", ""},
				}
				for _, s := range steps {
					status, err := l.send(ctx, client, s.method, baseURL+s.path, s.body)
					if status == http.StatusConflict {
						// Seeded by an earlier run on this database (creating the session or
						// the interaction again may succeed, as the same request again; making
						// it present again does not): its party is established again (a
						// conflict when it is already), as the load expects.
						_, _ = l.send(ctx, client, "PATCH", baseURL+"/v1/sessions/"+sid+"/interactions/"+sid+"-i/parties/p1",
							`{"state":"established"}`)
						break
					}
					if err != nil {
						errs <- fmt.Errorf("seeding %s: %w", sid, err)
						return
					}
				}
			}
		}()
	}
	var err error
feed:
	for n := 1; n <= sessions; n++ {
		select {
		case jobs <- n:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs // nil when the channel is empty and closed
}

// Run measures state changes per second with that many concurrent clients for that long.
func (l *Load) Run(ctx context.Context, clients int, duration time.Duration) (Result, error) {
	client := newClient(clients)
	// Requests in flight at the deadline are let finish (and the parties' states noted) but
	// not counted: cutting them off would leave the state unknown to the next run.
	deadline := time.Now().Add(duration)
	type tally struct {
		latencies []time.Duration
		errors    int
		firstErr  error
	}
	tallies := make([]tally, clients)
	// Each client owns the sessions n ≡ c+1 (mod clients), so no two toggle the same party
	// and l.held[n] is only ever touched by one goroutine.
	held := l.held
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(start.UnixNano())))
			t := &tallies[c]
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := 1 + c + clients*rng.IntN(max(1, l.sessions()/clients))
				next := "held"
				if held[n] {
					next = "established"
				}
				sid := sessionID(n)
				began := time.Now()
				status, err := l.send(ctx, client, "PATCH", l.baseURL+"/v1/sessions/"+sid+"/interactions/"+sid+"-i/parties/p1",
					`{"state":"`+next+`"`+l.checkpoint+`}`)
				took := time.Since(began)
				if err == nil && status == http.StatusOK {
					held[n] = next == "held"
				}
				if time.Now().After(deadline) {
					break
				}
				if err != nil || status != http.StatusOK {
					t.errors++
					if t.firstErr == nil {
						t.firstErr = fmt.Errorf("status %d: %v", status, err)
					}
					continue
				}
				t.latencies = append(t.latencies, took)
			}
		}()
	}
	wg.Wait()
	elapsed := deadline.Sub(start)

	res := Result{Clients: clients, Elapsed: elapsed}
	var all []time.Duration
	var firstErr error
	for _, t := range tallies {
		all = append(all, t.latencies...)
		res.Errors += t.errors
		if firstErr == nil {
			firstErr = t.firstErr
		}
	}
	res.Changes = len(all)
	if len(all) == 0 {
		return res, fmt.Errorf("no state change succeeded: %v", firstErr)
	}
	slices.Sort(all)
	res.P50 = all[len(all)/2]
	res.P99 = all[len(all)*99/100]
	return res, nil
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			IdleConnTimeout:     time.Minute,
		},
	}
}

func (l *Load) send(ctx context.Context, client *http.Client, method, url, body string) (int, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, err
	}
	for k, v := range l.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, msg)
	}
	return res.StatusCode, nil
}
