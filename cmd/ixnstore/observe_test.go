package main_test

import (
	"bufio"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
)

// metric reads one sample of /metrics: name with its labels as Prometheus writes them
// (`ixnstore_nodes{state="lapsed"}`); -1 when it is not there.
func (p *process) metric(name string) float64 {
	p.t.Helper()
	res, err := http.Get(p.base + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("/metrics: status %d", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				p.t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// waitMetric waits until cond holds of the metric's value.
func (p *process) waitMetric(name string, cond func(float64) bool) float64 {
	p.t.Helper()
	var v float64
	for deadline := time.Now().Add(waitDeadline); ; time.Sleep(50 * time.Millisecond) {
		if v = p.metric(name); cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s is %v after %s", name, v, waitDeadline)
		}
	}
}

// The metrics move with what drives them: a write raises the request and state change
// counters, a refusal the refusals; with no dispatcher running the backlog grows; a node
// whose lease runs out shows as lapsed and its session as orphaned.
func TestMetricsMoveWithTheirActions(t *testing.T) {
	t.Parallel()
	p := start(t, "--database-url", testdb.URL(t), "--dispatcher=false")
	route := `ixnstore_http_requests_total{method="POST",route="/v1/sessions",status="201"}`
	if v := p.metric(route); v != -1 {
		t.Fatalf("%s is %v before any write", route, v)
	}
	p.call("POST", "/v1/nodes", `{"node_id":"n1","lease":"100ms"}`, 200)
	p.call("POST", "/v1/sessions", `{"session_id":"m1","owner_node":"n1"}`, 201)
	p.call("POST", "/v1/sessions/m1/interactions", `{"interaction_id":"m1-i1","media":"voice","type":"inbound"}`, 201)
	p.call("POST", "/v1/sessions/m1/interactions/m1-i1/present", "", 200)
	p.call("POST", "/v1/sessions/m1/interactions/m1-i1/present", "", 409)
	if v := p.metric(route); v != 1 {
		t.Errorf("%s is %v after one write, want 1", route, v)
	}
	if v := p.metric(`ixnstore_state_changes_total{kind="addInteraction"}`); v != 1 {
		t.Errorf("state changes of kind addInteraction: %v, want 1", v)
	}
	if v := p.metric(`ixnstore_refusals_total{reason="invalid_transition"}`); v != 1 {
		t.Errorf("refusals for invalid_transition: %v, want 1", v)
	}
	if v := p.metric(`ixnstore_dispatcher_active`); v != 0 {
		t.Errorf("dispatcher_active is %v with --dispatcher=false, want 0", v)
	}
	// No dispatcher: the two events wait, and the oldest has waited for some time.
	p.waitMetric("ixnstore_outbox_backlog_events", func(v float64) bool { return v == 2 })
	p.waitMetric("ixnstore_outbox_oldest_unpublished_seconds", func(v float64) bool { return v > 0 })
	// The node sends no heartbeat: its 100 ms lease lapses, and its session is orphaned.
	p.waitMetric(`ixnstore_nodes{state="lapsed"}`, func(v float64) bool { return v == 1 })
	if v := p.metric(`ixnstore_nodes{state="live"}`); v != 0 {
		t.Errorf("live nodes: %v, want 0", v)
	}
	if v := p.metric(`ixnstore_sessions_active{owner="orphaned"}`); v != 1 {
		t.Errorf("orphaned sessions: %v, want 1", v)
	}
	if v := p.metric(`ixnstore_db_pool_connections{pool="serving",state="max"}`); v != 32 {
		t.Errorf("the serving pool's max: %v, want 32", v)
	}
	if v := p.metric(`go_goroutines`); v <= 0 {
		t.Errorf("go_goroutines: %v", v)
	}

	// A dispatcher publishes the backlog: the backlog empties, the published counter and the
	// lag histogram count the two events.
	d := start(t, "--database-url", p.arg("--database-url"))
	d.waitMetric("ixnstore_events_published_total", func(v float64) bool { return v == 2 })
	if v := d.metric("ixnstore_publication_lag_seconds_count"); v != 2 {
		t.Errorf("publication lag observations: %v, want 2", v)
	}
	if v := d.metric("ixnstore_dispatcher_active"); v != 1 {
		t.Errorf("dispatcher_active of the dispatching instance: %v, want 1", v)
	}
	p.waitMetric("ixnstore_outbox_backlog_events", func(v float64) bool { return v == 0 })
	p.stop()
	d.stop()
}

// arg is the value the process was started with for flag.
func (p *process) arg(flag string) string {
	for i, a := range p.cmd.Args {
		if a == flag && i+1 < len(p.cmd.Args) {
			return p.cmd.Args[i+1]
		}
	}
	return ""
}

// SIGTERM to the dispatching instance hands publication to the standby within a second:
// the leader resigns its lock at once and tells the standbys, rather than leaving it to
// their next try or to the end of its requests' grace.
func TestSIGTERMHandsTheDispatcherOverWithinASecond(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	a := start(t, "--database-url", url, "--instance", "a")
	b := start(t, "--database-url", url, "--instance", "b")
	a.call("POST", "/v1/sessions", `{"session_id":"h1","owner_node":"n1"}`, 201)
	a.call("POST", "/v1/sessions/h1/interactions", `{"interaction_id":"h1-i1","media":"voice","type":"inbound"}`, 201)
	leader, standby := dispatching(t, url, map[string]*process{"a": a, "b": b})
	signalled := time.Now()
	_ = leader.cmd.Process.Signal(syscall.SIGTERM)
	standby.waitLog("msg=dispatching")
	took := time.Since(signalled)
	t.Logf("the standby dispatches %s after SIGTERM to the leader", took)
	if took > time.Second {
		t.Errorf("the standby took over %s after SIGTERM, want within 1s:\nleader:\n%s", took, leader.log.String())
	}
	select {
	case err := <-leader.done:
		if err != nil {
			t.Fatalf("the leader exited with %v:\n%s", err, leader.log.String())
		}
	case <-time.After(waitDeadline):
		t.Fatalf("the leader did not stop:\n%s", leader.log.String())
	}
	if !strings.Contains(leader.log.String(), "resigned the dispatcher's lead") {
		t.Errorf("the leader did not say it resigned:\n%s", leader.log.String())
	}
	standby.stop()
}

// /readyz is unready, and says why, while the database's migrations are behind the binary
// (another instance, or an operator, rolled one back), and ready again once they are not.
func TestReadyzUnreadyWhileMigrationsAreBehind(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	p := start(t, "--database-url", url)
	migrate := func(args ...string) {
		cmd := exec.Command(binary, append([]string{"migrate"}, args...)...)
		cmd.Env = append(cmd.Environ(), "DATABASE_URL="+url)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("migrate %v: %v\n%s", args, err, out)
		}
	}
	migrate("down")
	body := p.call("GET", "/readyz", "", 503)
	if !strings.Contains(body, "migrations") || !strings.Contains(body, "behind") {
		t.Errorf("/readyz does not say the migrations are behind: %s", body)
	}
	migrate("up")
	p.call("GET", "/readyz", "", 200)
	p.stop()
}
