package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/internal/embeddedpg"
	"github.com/ixnstore/ixnstore/internal/testdb"
)

// load changes party states on its sessions through whichever processes it is given, and
// remembers every event whose write was acknowledged.
type load struct {
	mu       sync.Mutex
	targets  []string
	acked    map[int64]string // event id → session
	order    []int64          // the acknowledged events' ids, in the order their writes were acknowledged
	writes   int              // acknowledged writes
	failures int
	progress progress // changed at each acknowledged or failed write
}

func newLoad(t *testing.T, sessions int, targets ...string) *load {
	t.Helper()
	l := &load{targets: targets, acked: map[int64]string{}}
	for i := range sessions {
		sid := fmt.Sprintf("s%d", i)
		l.must(t, "POST", "/v1/sessions", `{"session_id":"`+sid+`","owner_node":"n1"}`)
		l.must(t, "POST", "/v1/sessions/"+sid+"/interactions", `{"interaction_id":"`+sid+`-i","media":"voice","type":"inbound",
			"parties":[{"party_id":"p1","resource":"r1","state":"established"}]}`)
	}
	return l
}

func (l *load) must(t *testing.T, method, path, body string) {
	t.Helper()
	if status, _, err := l.send(l.targets[0], method, path, body); err != nil || status >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, status, err)
	}
}

func (l *load) setTargets(targets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.targets = targets
}

func (l *load) target(i int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.targets[i%len(l.targets)]
}

func (l *load) send(base, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// run drives the sessions with one writer per session until stop is closed.
func (l *load) run(sessions int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			sid := fmt.Sprintf("s%d", i)
			held := false
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				state := "held"
				if held {
					state = "established"
				}
				status, body, err := l.send(l.target(n+i), "PATCH", "/v1/sessions/"+sid+"/interactions/"+sid+"-i/parties/p1", `{"state":"`+state+`"}`)
				switch {
				case err == nil && status == http.StatusOK:
					var answer struct{ Events []struct{ ID int64 } }
					if json.Unmarshal(body, &answer) == nil {
						l.mu.Lock()
						for _, e := range answer.Events {
							l.acked[e.ID] = sid
							l.order = append(l.order, e.ID)
						}
						l.writes++
						l.mu.Unlock()
						l.progress.changed()
					}
					held = !held
				case err == nil && status == http.StatusConflict:
					// A write whose answer was lost did happen: the party is already there.
					held = !held
				default:
					l.mu.Lock()
					l.failures++
					l.mu.Unlock()
					l.progress.changed()
					time.Sleep(20 * time.Millisecond) // no busy loop against a server that is down
				}
			}
		})
	}
	return &wg
}

// waitAcked waits until n more writes than at the call have been acknowledged, and returns
// the ids of the events acknowledged meanwhile.
func (l *load) waitAcked(t *testing.T, n int) []int64 {
	t.Helper()
	l.mu.Lock()
	writes, events := l.writes, len(l.order)
	l.mu.Unlock()
	l.progress.wait(t, fmt.Sprintf("%d more acknowledged writes", n), func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.writes >= writes+n, fmt.Sprintf("%d acknowledged, %d failed", l.writes-writes, l.failures)
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.order[events:]...)
}

// waitFailed waits until a write has failed since the call.
func (l *load) waitFailed(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	failures, writes := l.failures, l.writes
	l.mu.Unlock()
	l.progress.wait(t, "a failed write", func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.failures > failures, fmt.Sprintf("%d writes acknowledged meanwhile", l.writes-writes)
	})
}

// waitPublished waits until the database has published every one of the events ids.
func waitPublished(t *testing.T, url string, ids []int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The dispatcher publishes inside the server: nothing reaches the test, so it asks.
	for {
		var published int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM publication WHERE id = ANY($1)", ids).Scan(&published)
		if err != nil {
			t.Fatalf("waiting for %d events to be published: %d were after %v (%v)", len(ids), published, waitDeadline, err)
		}
		if published == len(ids) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %d events to be published: %d were after %v", len(ids), published, waitDeadline)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type pubEvent struct {
	PubSeq    int64  `json:"pub_seq"`
	ID        int64  `json:"id"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
}

// verifyPublished waits until the publication covers every event of the sessions, then checks
// that nothing acknowledged is missing and that each session's events are in order.
func (l *load) verifyPublished(t *testing.T, base string, sessions int) {
	t.Helper()
	var total int64
	for i := range sessions {
		_, body, err := l.send(base, "GET", fmt.Sprintf("/v1/sessions/s%d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			LastSeq int64 `json:"last_seq"`
		}
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatal(err)
		}
		total += s.LastSeq
	}
	var got []pubEvent
	deadline := time.Now().Add(60 * time.Second)
	for int64(len(got)) < total {
		after := int64(0)
		if len(got) > 0 {
			after = got[len(got)-1].PubSeq
		}
		_, body, err := l.send(base, "GET", fmt.Sprintf("/v1/events?after=%d", after), "")
		if err != nil {
			t.Fatal(err)
		}
		var page struct{ Events []pubEvent }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		got = append(got, page.Events...)
		if len(page.Events) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d events published after 60s", len(got), total)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	next := map[string]int64{}
	published := map[int64]bool{}
	for i, e := range got {
		if e.PubSeq != int64(i+1) {
			t.Fatalf("publication %d has pub_seq %d", i, e.PubSeq)
		}
		if e.Seq != next[e.SessionID]+1 {
			t.Fatalf("session %s: seq %d published after %d", e.SessionID, e.Seq, next[e.SessionID])
		}
		next[e.SessionID] = e.Seq
		published[e.ID] = true
	}
	if int64(len(got)) != total {
		t.Fatalf("%d published, the sessions hold %d events", len(got), total)
	}
	for id := range l.acked {
		if !published[id] {
			t.Fatalf("acknowledged event %d was not published", id)
		}
	}
	t.Logf("%d events published in order; %d acknowledged writes all there; %d failed requests", len(got), len(l.acked), l.failures)
}

// kill -9 of the dispatching process under load: the other process takes over and every
// committed event is published, each session's in order.
func TestKillOfTheDispatcherLosesNothing(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	a := start(t, "--database-url", url, "--instance", "a")
	b := start(t, "--database-url", url, "--instance", "b")
	const sessions = 8
	l := newLoad(t, sessions, a.base, b.base)
	stop := make(chan struct{})
	wg := l.run(sessions, stop)
	// The kill comes under load: some writes acknowledged (each writer alternates between the
	// instances) and published (dispatching waits for a publication).
	l.waitAcked(t, 5*sessions)
	// Which instance dispatches is whichever took the lock first, not which started first:
	// ask the database, and kill that one.
	leader, standby := dispatching(t, url, map[string]*process{"a": a, "b": b})
	leader.kill()
	l.setTargets(standby.base)
	// The load goes on through the standby until it has taken over and published writes
	// acknowledged after the kill.
	standby.waitLog("msg=dispatching")
	waitPublished(t, url, l.waitAcked(t, 5*sessions))
	close(stop)
	wg.Wait()
	if !strings.Contains(standby.log.String(), "msg=dispatching") {
		t.Errorf("the standby did not take over:\n%s", standby.log.String())
	}
	l.verifyPublished(t, standby.base, sessions)
	// The events written after the kill were published by the standby.
	if now := dispatcherLeader(t, url); now != standby.instance {
		t.Errorf("after the kill the dispatcher is %q, want %q", now, standby.instance)
	}
	standby.stop()
}

// dispatcherLeader is the instance that published the last batch, as dispatcher_state says.
func dispatcherLeader(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var leader *string
	if err := conn.QueryRow(ctx, "SELECT leader FROM dispatcher_state").Scan(&leader); err != nil {
		t.Fatal(err)
	}
	if leader == nil {
		return ""
	}
	return *leader
}

// dispatching finds, of processes started with --instance NAME (the keys), the one that
// holds the dispatcher and the one standing by: dispatcher_state names the instance that
// published, and the logs of both must agree.
func dispatching(t *testing.T, url string, procs map[string]*process) (leader, standby *process) {
	t.Helper()
	name := ""
	for deadline := time.Now().Add(30 * time.Second); name == ""; time.Sleep(20 * time.Millisecond) {
		if name = dispatcherLeader(t, url); name == "" && time.Now().After(deadline) {
			t.Fatal("no instance published anything after 30s")
		}
	}
	for n, p := range procs {
		p.instance = n
		if n == name {
			leader = p
		} else {
			standby = p
		}
	}
	if leader == nil || standby == nil {
		t.Fatalf("dispatcher_state names %q, not one of the instances", name)
	}
	if !strings.Contains(leader.log.String(), "msg=dispatching") || !strings.Contains(standby.log.String(), "standing by") {
		t.Fatalf("the logs disagree with dispatcher_state (leader %s):\nleader:\n%s\nstandby:\n%s", name, leader.log.String(), standby.log.String())
	}
	t.Logf("instance %s dispatches; killing it", name)
	return leader, standby
}

// PostgreSQL restarts under load: ixnstore reconnects by itself and loses nothing.
func TestDatabaseRestartLosesNothing(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts and restarts a PostgreSQL server")
	}
	dir, err := os.MkdirTemp("", "ixnstore-restart-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	cfg := embeddedpg.Config{DataDir: filepath.Join(dir, "pg"), Port: freePort(t), Logger: quiet}
	pg, err := embeddedpg.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })

	p := start(t, "--database-url", pg.URL())
	const sessions = 6
	l := newLoad(t, sessions, p.base)
	stop := make(chan struct{})
	wg := l.run(sessions, stop)
	l.waitAcked(t, 5*sessions)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	// Down long enough for the load to see it.
	l.waitFailed(t)
	if pg, err = embeddedpg.Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// Back: ixnstore reconnects by itself and writes are acknowledged again.
	l.waitAcked(t, 5*sessions)
	close(stop)
	wg.Wait()
	if l.failures == 0 {
		t.Error("no request failed while the database was down: was it?")
	}
	l.verifyPublished(t, p.base, sessions)
	p.stop()
}
