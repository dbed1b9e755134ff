package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/tcpproxy"
	"github.com/ixnstore/ixnstore/internal/testdb"
)

// The network faults below run ixnstore with its default deadlines and timeouts, so that what
// they check is what an operator gets.
const (
	requestDeadline = api.DefaultRequestDeadline
	// slack is how much past its deadline a request may take: answering and the HTTP round
	// trip, on a loaded machine.
	slack = time.Second
	// takeoverLimit is the longest a standby may take to replace a half-open leader.
	takeoverLimit = 15 * time.Second
	faultWriters  = 4
)

// blackholeFor is how long the blackhole lasts: past the request deadline, so that requests
// meet it; IXNSTORE_FAULT_BLACKHOLE=60s measures a long one (docs/operations.md).
func blackholeFor(t *testing.T) time.Duration {
	if v := os.Getenv("IXNSTORE_FAULT_BLACKHOLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("IXNSTORE_FAULT_BLACKHOLE: %v", err)
		}
		return d
	}
	return requestDeadline + 2*time.Second
}

// proxied starts a proxy to the database of dbURL and returns the URL that goes through it.
func proxied(t *testing.T, dbURL string) (*tcpproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tcpproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	return p, u.String()
}

// writers change party states on their own sessions as fast as they are answered, and keep
// what they were answered: how long the longest request took, each status and code, and the
// events of the acknowledged writes.
type writers struct {
	mu       sync.Mutex
	longest  time.Duration
	answers  map[string]int   // "503 timeout", "200", ...
	acked    map[int64]string // event id → session
	writes   int
	failures int // 503s
	wrong    []string
	progress progress
}

// startWriters starts n writers, on sessions named prefix0, prefix1, ..., each through one
// of bases; the returned function stops them.
func startWriters(t *testing.T, prefix string, n int, bases ...string) (*writers, func()) {
	t.Helper()
	w := &writers{answers: map[string]int{}, acked: map[int64]string{}}
	for i := range n {
		sid := fmt.Sprintf("%s%d", prefix, i)
		base := bases[i%len(bases)]
		w.must(t, base, "POST", "/v1/sessions", `{"session_id":"`+sid+`","owner_node":"n1"}`)
		w.must(t, base, "POST", "/v1/sessions/"+sid+"/interactions", `{"interaction_id":"`+sid+`-i","media":"voice","type":"inbound",
			"parties":[{"party_id":"p1","resource":"r1","state":"established"}]}`)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { w.run(fmt.Sprintf("%s%d", prefix, i), bases[i%len(bases)], stop) })
	}
	return w, func() { close(stop); wg.Wait() }
}

func (w *writers) must(t *testing.T, base, method, path, body string) {
	t.Helper()
	if status, _, _, err := timedSend(base, method, path, body); err != nil || status >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, status, err)
	}
}

// timedSend makes one request and says how long it took; no client timeout cuts it short, so the
// time is the server's.
func timedSend(base, method, path, body string) (int, []byte, time.Duration, error) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := http.Client{Timeout: time.Minute} // a hang still ends the test
	began := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, time.Since(began), err
	}
	defer res.Body.Close()
	var b strings.Builder
	_, err = bufio.NewReader(res.Body).WriteTo(&b)
	return res.StatusCode, []byte(b.String()), time.Since(began), err
}

func (w *writers) run(sid, base string, stop <-chan struct{}) {
	held := false
	for {
		select {
		case <-stop:
			return
		default:
		}
		state := map[bool]string{false: "held", true: "established"}[held]
		status, body, took, err := timedSend(base, "PATCH", "/v1/sessions/"+sid+"/interactions/"+sid+"-i/parties/p1", `{"state":"`+state+`"}`)
		var answer struct {
			Events []struct{ ID int64 }
			Error  struct{ Code string }
		}
		_ = json.Unmarshal(body, &answer)
		w.mu.Lock()
		w.longest = max(w.longest, took)
		key := strconv.Itoa(status)
		if answer.Error.Code != "" {
			key += " " + answer.Error.Code
		}
		w.answers[key]++
		switch {
		case err == nil && status == http.StatusOK:
			for _, e := range answer.Events {
				w.acked[e.ID] = sid
			}
			w.writes++
			held = !held
		case err == nil && status == http.StatusConflict && answer.Error.Code == "invalid_transition":
			held = !held // a write whose answer was lost (outcome_unknown) did happen
		case err == nil && status == http.StatusServiceUnavailable &&
			(answer.Error.Code == "timeout" || answer.Error.Code == "unavailable" || answer.Error.Code == "outcome_unknown"):
			w.failures++
		default:
			w.wrong = append(w.wrong, fmt.Sprintf("%d %s (%v) after %s", status, body, err, took))
		}
		w.mu.Unlock()
		w.progress.changed()
		if status == http.StatusServiceUnavailable {
			time.Sleep(20 * time.Millisecond) // no busy loop against a database that is away
		}
	}
}

func (w *writers) status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%d writes acknowledged, answers %v, longest %s", w.writes, w.answers, w.longest)
}

// waitFor waits until cond holds of the writers' counts.
func (w *writers) waitFor(t *testing.T, what string, cond func(writes, failures int) bool) {
	t.Helper()
	w.progress.wait(t, what, func() (bool, string) {
		w.mu.Lock()
		writes, failures := w.writes, w.failures
		w.mu.Unlock()
		return cond(writes, failures), w.status()
	})
}

func (w *writers) counts() (writes, failures int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.failures
}

// waitWrites waits for n more acknowledged writes.
func (w *writers) waitWrites(t *testing.T, n int) {
	t.Helper()
	from, _ := w.counts()
	w.waitFor(t, fmt.Sprintf("%d more acknowledged writes", n), func(writes, _ int) bool { return writes >= from+n })
}

// waitFailures waits for n more 503s.
func (w *writers) waitFailures(t *testing.T, n int) {
	t.Helper()
	_, from := w.counts()
	w.waitFor(t, fmt.Sprintf("%d more 503 answers", n), func(_, failures int) bool { return failures >= from+n })
}

// check fails the test for an answer that is not 200, 409 or a 503 of the database codes,
// and for a request that took longer than its deadline and the slack.
func (w *writers) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.wrong {
		t.Errorf("unexpected answer: %s", s)
	}
	if w.longest > requestDeadline+slack {
		t.Errorf("the longest request took %s, more than its deadline %s and %s", w.longest, requestDeadline, slack)
	}
}

// streamed follows /v1/events/stream from the start, resuming from the last id it saw after
// any interruption, and keeps every event it got.
type streamed struct {
	mu       sync.Mutex
	events   []pubEvent
	progress progress
}

func follow(t *testing.T, base string) *streamed {
	s := &streamed{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			s.read(ctx, base)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func (s *streamed) read(ctx context.Context, base string) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/events/stream", nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if n := len(s.events); n > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(s.events[n-1].PubSeq, 10))
	}
	s.mu.Unlock()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var e pubEvent
		if json.Unmarshal([]byte(data), &e) != nil {
			continue
		}
		s.mu.Lock()
		s.events = append(s.events, e)
		s.mu.Unlock()
		s.progress.changed()
	}
}

// checkConn connects to the database for a test's checks, which have waitDeadline in all.
func checkConn(t *testing.T, dbURL string) (context.Context, *pgx.Conn, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return ctx, conn, func() { _ = conn.Close(context.Background()); cancel() }
}

// verifyStream waits until the stream has carried as many events as the outbox holds, then
// checks that it carried each session's events exactly once, in order, with nothing missing,
// every acknowledged write among them, and that nothing was published twice.
func verifyStream(t *testing.T, dbURL string, s *streamed, w *writers) {
	t.Helper()
	ctx, conn, done := checkConn(t, dbURL)
	defer done()
	lastSeq := map[string]int64{}
	total := 0
	rows, err := conn.Query(ctx, "SELECT session_id, count(*), max(seq) FROM events GROUP BY session_id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sid string
		var n, last int64
		if err := rows.Scan(&sid, &n, &last); err != nil {
			t.Fatal(err)
		}
		if n != last {
			t.Errorf("session %s: %d events kept up to seq %d", sid, n, last)
		}
		lastSeq[sid] = last
		total += int(n)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	s.progress.wait(t, fmt.Sprintf("the stream to carry the %d events kept", total), func() (bool, string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.events) >= total, fmt.Sprintf("%d streamed", len(s.events))
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]int64{}
	ids := map[int64]bool{}
	var lastPub int64
	for _, e := range s.events {
		if e.PubSeq <= lastPub {
			t.Fatalf("pub_seq %d streamed after %d", e.PubSeq, lastPub)
		}
		lastPub = e.PubSeq
		if e.Seq != next[e.SessionID]+1 {
			t.Fatalf("session %s: seq %d streamed after %d", e.SessionID, e.Seq, next[e.SessionID])
		}
		next[e.SessionID] = e.Seq
		ids[e.ID] = true
	}
	for sid, last := range lastSeq {
		if next[sid] != last {
			t.Errorf("session %s: the stream carried up to seq %d, the events go to %d", sid, next[sid], last)
		}
	}
	if len(s.events) != total {
		t.Errorf("the stream carried %d events, %d are kept", len(s.events), total)
	}
	w.mu.Lock()
	for id, sid := range w.acked {
		if !ids[id] {
			t.Errorf("acknowledged event %d of %s was not streamed", id, sid)
		}
	}
	w.mu.Unlock()
	var twice int
	if err := conn.QueryRow(ctx, "SELECT count(*) - count(DISTINCT (session_id, seq)) FROM publication").Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d events were published twice", twice)
	}
}

// readyWithin asks /readyz and checks that it answers want within a second.
func readyWithin(t *testing.T, base string, want int) {
	t.Helper()
	status, body, took, err := timedSend(base, "GET", "/readyz", "")
	if err != nil || status != want || took > time.Second {
		t.Errorf("/readyz: %d %s (%v) after %s, want %d within 1s", status, body, err, took, want)
	}
}

// Under writers and a stream, the connections between ixnstore and PostgreSQL are cut, or
// blackholed: no request waits past its deadline and a second, requests answer 503 while the
// database is away, and afterwards every event is published once, each session's in order.
func TestNetworkFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault func(t *testing.T, p *tcpproxy.Proxy, w *writers, base string)
	}{
		{"cut", func(t *testing.T, p *tcpproxy.Proxy, w *writers, base string) {
			// Cuts while writes are in flight; each cut hits whatever is sent at that moment.
			_, before := w.counts()
			for range 20 {
				p.Cut()
				w.waitWrites(t, 1)
			}
			// With a write in flight nearly all the time, some cut must have hit one.
			if _, after := w.counts(); after == before {
				t.Errorf("20 cuts under load and no request answered 503: %s", w.status())
			}
		}},
		{"blackhole", func(t *testing.T, p *tcpproxy.Proxy, w *writers, base string) {
			p.Set(tcpproxy.Blackhole)
			began := time.Now()
			w.waitFailures(t, faultWriters) // every writer met its deadline
			readyWithin(t, base, http.StatusServiceUnavailable)
			// A read that meets the deadline changed nothing, whatever was sent: not
			// outcome_unknown.
			status, body, took, err := timedSend(base, "GET", "/v1/sessions/s0", "")
			if err != nil || status != http.StatusServiceUnavailable || strings.Contains(string(body), "outcome_unknown") || took > requestDeadline+slack {
				t.Errorf("a read in the blackhole: %d %s (%v) after %s, want 503 timeout or unavailable", status, body, err, took)
			}
			time.Sleep(time.Until(began.Add(blackholeFor(t))))
			p.Set(tcpproxy.Pass)
			t.Logf("blackhole of %s: %s", blackholeFor(t), w.status())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbURL := testdb.URL(t)
			proxy, through := proxied(t, dbURL)
			p := start(t, "--database-url", through)
			s := follow(t, p.base)
			w, stop := startWriters(t, "s", faultWriters, p.base)
			w.waitWrites(t, 5*faultWriters)
			tc.fault(t, proxy, w, p.base)
			w.waitWrites(t, 5*faultWriters) // back
			readyWithin(t, p.base, http.StatusOK)
			stop()
			w.check(t)
			verifyStream(t, dbURL, s, w)
			t.Logf("%s: %s", tc.name, w.status())
			p.stop()
		})
	}
}

// The dispatching instance's connections go half-open (its ends closed, PostgreSQL's kept, so
// the server keeps the session that holds the dispatcher's lock): the other instance takes
// over within 15 s, and nothing is lost or published twice.
func TestHalfOpenLeaderIsReplaced(t *testing.T) {
	t.Parallel()
	dbURL := testdb.URL(t)
	proxy, through := proxied(t, dbURL)
	a := start(t, "--database-url", through, "--instance", "a")
	// a leads once it has published; b, started after, stands by.
	wa, stopA := startWriters(t, "a", faultWriters, a.base)
	waitLeader(t, dbURL, "a", time.Now())
	b := start(t, "--database-url", dbURL, "--instance", "b")
	b.waitLog("standing by")
	s := follow(t, b.base)
	wb, stopB := startWriters(t, "b", faultWriters, b.base)
	wa.waitWrites(t, 5*faultWriters)

	proxy.Set(tcpproxy.HalfOpen)
	began := time.Now()
	readyWithin(t, a.base, http.StatusServiceUnavailable)
	// b's writes go on; their events are published once b leads.
	takeover := waitLeader(t, dbURL, "b", began)
	t.Logf("half-open leader replaced after %s (--dispatch-takeover %s)", takeover.Round(time.Millisecond), dispatcher.DefaultTakeover)
	if takeover > takeoverLimit {
		t.Errorf("the half-open leader was replaced after %s, more than %s", takeover, takeoverLimit)
	}
	wa.waitFailures(t, faultWriters) // a's writers meet the partition
	wb.waitWrites(t, 5*faultWriters)
	proxy.Set(tcpproxy.Pass)
	wa.waitWrites(t, 5*faultWriters) // a is back
	stopA()
	stopB()
	wa.check(t)
	wb.check(t)
	for id, sid := range wb.acked {
		wa.acked[id] = sid
	}
	verifyStream(t, dbURL, s, wa)
	a.stop()
	b.stop()
}

// waitLeader waits until dispatcher_state names instance as the one that published last, and
// says how long after since that was.
func waitLeader(t *testing.T, dbURL, instance string, since time.Time) time.Duration {
	t.Helper()
	ctx, conn, done := checkConn(t, dbURL)
	defer done()
	for {
		var leader *string
		if err := conn.QueryRow(ctx, "SELECT leader FROM dispatcher_state").Scan(&leader); err != nil {
			t.Fatalf("waiting for %s to publish: %v", instance, err)
		}
		if leader != nil && *leader == instance {
			return time.Since(since)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not publish within %s", instance, waitDeadline)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
