package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/internal/testdb"
)

// routingNode plays a routing node: it heartbeats, writes to the sessions it owns with the
// epoch it holds, and claims orphaned sessions, through any of the ixnstore instances.
type routingNode struct {
	id        string
	instances []string
	http      *load // only its send

	mu       sync.Mutex
	epochs   map[string]int64 // session → the epoch this node holds
	acked    map[int64]string // event id → session, for every acknowledged write
	refused  int              // writes refused with lease_lost
	claimed  []string
	beating  chan struct{} // closed: heartbeats stop (the node "dies")
	stopping chan struct{} // closed: everything stops
	progress *progress     // changed at each acknowledged or refused write and each claim won
}

func newRoutingNode(t *testing.T, id string, instances []string, progress *progress) *routingNode {
	n := &routingNode{id: id, instances: instances, http: &load{}, epochs: map[string]int64{},
		acked: map[int64]string{}, beating: make(chan struct{}), stopping: make(chan struct{}), progress: progress}
	if status, body, err := n.http.send(instances[0], "POST", "/v1/nodes", `{"node_id":"`+id+`","lease":"2s","capacity":100}`); err != nil || status != 200 {
		t.Fatalf("register %s: %d %s %v", id, status, body, err)
	}
	return n
}

func (n *routingNode) claims() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.claimed)
}

func (n *routingNode) instance() string { return n.instances[rand.IntN(len(n.instances))] }

// run heartbeats every 200 ms (until its heartbeats stop), writes to its sessions, and claims
// orphans every 100 ms, until stopping.
func (n *routingNode) run(wg *sync.WaitGroup) {
	wg.Go(func() {
		for {
			select {
			case <-n.stopping:
				return
			case <-n.beating:
				return
			case <-time.After(200 * time.Millisecond):
				n.http.send(n.instance(), "POST", "/v1/nodes/"+n.id+"/heartbeat", "")
			}
		}
	})
	wg.Go(func() {
		held := map[string]bool{}
		for i := 0; ; i++ {
			select {
			case <-n.stopping:
				return
			default:
			}
			n.mu.Lock()
			var sessions []string
			for sid := range n.epochs {
				sessions = append(sessions, sid)
			}
			n.mu.Unlock()
			for _, sid := range sessions {
				n.write(sid, held[sid])
				held[sid] = !held[sid]
			}
			if i%5 == 0 {
				n.claimOrphans()
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func (n *routingNode) write(sid string, held bool) {
	state := "held"
	if held {
		state = "established"
	}
	n.mu.Lock()
	epoch := n.epochs[sid]
	n.mu.Unlock()
	req, _ := http.NewRequest("PATCH", n.instance()+"/v1/sessions/"+sid+"/interactions/"+sid+"-i/parties/p1",
		jsonBody(`{"state":"`+state+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Lease-Epoch", fmt.Sprint(epoch))
	res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	var answer struct {
		Events []struct{ ID int64 }
		Error  struct{ Code string }
	}
	_ = json.NewDecoder(res.Body).Decode(&answer)
	defer n.progress.changed() // after the unlock below: a waiter's check takes the lock
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case res.StatusCode == http.StatusOK:
		for _, e := range answer.Events {
			n.acked[e.ID] = sid
		}
	case answer.Error.Code == "lease_lost":
		n.refused++
	}
}

func (n *routingNode) claimOrphans() {
	select {
	case <-n.beating:
		return // a dead node claims nothing
	default:
	}
	_, body, err := n.http.send(n.instance(), "GET", "/v1/sessions/orphaned", "")
	if err != nil {
		return
	}
	var page struct {
		Sessions []struct {
			SessionID string `json:"session_id"`
		}
	}
	_ = json.Unmarshal(body, &page)
	for _, o := range page.Sessions {
		status, body, err := n.http.send(n.instance(), "POST", "/v1/sessions/"+o.SessionID+"/claim", `{"node_id":"`+n.id+`"}`)
		if err != nil || status != http.StatusOK {
			continue // another node won it
		}
		var got struct {
			Session struct {
				LeaseEpoch int64 `json:"lease_epoch"`
			}
		}
		_ = json.Unmarshal(body, &got)
		n.mu.Lock()
		n.epochs[o.SessionID] = got.Session.LeaseEpoch
		n.claimed = append(n.claimed, o.SessionID)
		n.mu.Unlock()
		n.progress.changed()
	}
}

// Three ixnstore instances and three routing nodes with four sessions each. One node stops
// heartbeating mid-traffic but goes on writing: the others claim its sessions, each of them
// exactly once; every interaction gets one interaction.restored; the dead node's writes are
// refused from the claim on; and no acknowledged event is lost or out of order.
func TestNodeFailoverAcrossInstances(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	var instances []string
	for i := range 3 {
		args := []string{"--database-url", url}
		if i > 0 {
			args = append(args, "--dispatcher=false")
		}
		instances = append(instances, start(t, args...).base)
	}
	nodes := map[string]*routingNode{}
	var changed progress
	for _, id := range []string{"n1", "n2", "n3"} {
		nodes[id] = newRoutingNode(t, id, instances, &changed)
	}
	for i := range 12 {
		sid := fmt.Sprintf("s%d", i)
		owner := nodes[fmt.Sprintf("n%d", i%3+1)]
		owner.http.mustSend(t, instances[0], "POST", "/v1/sessions", `{"session_id":"`+sid+`","owner_node":"`+owner.id+`"}`)
		owner.http.mustSend(t, instances[0], "POST", "/v1/sessions/"+sid+"/interactions", `{"interaction_id":"`+sid+`-i",
			"media":"voice","type":"inbound","parties":[{"party_id":"p1","resource":"r1","state":"established"}]}`)
		owner.epochs[sid] = 1
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		n.run(&wg)
	}
	// n1 dies mid-traffic: once every node has had a write acknowledged on each of its sessions.
	changed.wait(t, "a write acknowledged on every session", func() (bool, string) {
		written := map[string]bool{}
		for _, n := range nodes {
			n.mu.Lock()
			for _, sid := range n.acked {
				written[sid] = true
			}
			n.mu.Unlock()
		}
		return len(written) == 12, fmt.Sprintf("%d of 12 sessions written", len(written))
	})
	close(nodes["n1"].beating)
	// Its lease (2 s, ten heartbeats long) lapses, the others claim; then everyone goes on.
	changed.wait(t, "n1's 4 sessions claimed", func() (bool, string) {
		claimed := nodes["n2"].claims() + nodes["n3"].claims()
		return claimed >= 4, fmt.Sprintf("%d claimed", claimed)
	})
	// Everyone goes on until each claimant wrote to each session it claimed, at the new epoch,
	// and the dead node, still writing at the old one, was refused.
	changed.wait(t, "writes after the claims", func() (bool, string) {
		unwritten := 0
		for _, id := range []string{"n2", "n3"} {
			n := nodes[id]
			n.mu.Lock()
			// A node writes to a session it claimed only after the claim: any acknowledged
			// write of its on that session came after it.
			written := map[string]bool{}
			for _, sid := range n.acked {
				written[sid] = true
			}
			for _, sid := range n.claimed {
				if !written[sid] {
					unwritten++
				}
			}
			n.mu.Unlock()
		}
		n1 := nodes["n1"]
		n1.mu.Lock()
		refused := n1.refused
		n1.mu.Unlock()
		return unwritten == 0 && refused > 0, fmt.Sprintf("%d claimed sessions not yet written by their claimant; n1 refused %d times", unwritten, refused)
	})
	for _, n := range nodes {
		close(n.stopping)
	}
	wg.Wait()

	if c := len(nodes["n2"].claimed) + len(nodes["n3"].claimed); c != 4 {
		t.Errorf("%d claims won, want 4 (n2 %v, n3 %v)", c, nodes["n2"].claimed, nodes["n3"].claimed)
	}
	if nodes["n1"].refused == 0 {
		t.Error("the dead node's writes after the claims were not refused")
	}
	for i := range 12 {
		sid := fmt.Sprintf("s%d", i)
		var page struct {
			Events []struct {
				ID     int64
				Seq    int64
				Name   string
				NodeID string `json:"node_id"`
				Epoch  int64
			}
		}
		_, body, _ := nodes["n2"].http.send(instances[0], "GET", "/v1/sessions/"+sid+"/events?limit=1000", "")
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		have := map[int64]bool{}
		restored := 0
		for k, e := range page.Events {
			have[e.ID] = true
			if e.Seq != int64(k+1) {
				t.Errorf("%s: event %d has seq %d", sid, k+1, e.Seq)
			}
			if e.Name == "interaction.restored" {
				restored++
			}
			if restored > 0 && (e.Epoch != 2 || e.NodeID == "n1") {
				t.Errorf("%s: after the restore an event of epoch %d by %s", sid, e.Epoch, e.NodeID)
			}
		}
		if want := map[bool]int{true: 1, false: 0}[i%3 == 0]; restored != want {
			t.Errorf("%s: %d interaction.restored, want %d", sid, restored, want)
		}
		for _, n := range nodes {
			for id, s := range n.acked {
				if s == sid && !have[id] {
					t.Errorf("%s: acknowledged event %d (by %s) is missing", sid, id, n.id)
				}
			}
		}
	}
	t.Logf("claims: n2 %v, n3 %v; n1's refused writes: %d", nodes["n2"].claimed, nodes["n3"].claimed, nodes["n1"].refused)
}

// kill -9 of the instance serving a claim: after a restart the claim either happened whole
// (new owner and epoch, a restore for each interaction) or left nothing behind. Two trials
// have a known outcome, so that both outcomes are seen and a claim that never happens fails:
// one claim is acknowledged before the kill (whole), one is killed while its transaction
// waits on the session's row lock, which the test holds (nothing: the transaction dies with
// its connection even though its statement completes once the lock is let go). The other
// trials kill at times from before the claim arrives to after it is done, either outcome
// allowed.
func TestClaimIsWholeOrNothingAcrossAKill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.URL(t)
	p := start(t, "--database-url", url)
	h := &load{}
	h.mustSend(t, p.base, "POST", "/v1/nodes", `{"node_id":"old","lease":"100ms"}`)
	h.mustSend(t, p.base, "POST", "/v1/nodes", `{"node_id":"new","lease":"10m"}`)
	const rounds = 6
	for r := range rounds {
		sid := fmt.Sprintf("s%d", r)
		h.mustSend(t, p.base, "POST", "/v1/sessions", `{"session_id":"`+sid+`","owner_node":"old"}`)
		for k := range 3 {
			h.mustSend(t, p.base, "POST", "/v1/sessions/"+sid+"/interactions",
				fmt.Sprintf(`{"interaction_id":"%s-i%d","media":"chat","type":"inbound"}`, sid, k))
		}
	}
	// old's lease (100 ms) lapses: wait until the database says so, as the claims will ask it.
	for deadline := time.Now().Add(waitDeadline); nodeAlive(t, h, p.base, "old"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("old is still alive %v after its 100 ms lease", waitDeadline)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Another connection watches: within conn's transaction pg_stat_activity would show the
	// snapshot taken at its first read, never the claim arriving after it.
	watch, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)

	restart := func() {
		p.kill()
		p = start(t, "--database-url", url)
		h.mustSend(t, p.base, "POST", "/v1/nodes/new/heartbeat", "")
	}
	claim := func(sid string) (int, []byte, error) {
		return h.send(p.base, "POST", "/v1/sessions/"+sid+"/claim", `{"node_id":"new"}`)
	}
	outcomes := map[string]int{}

	// s0: acknowledged, then killed: it must be whole.
	if status, body, err := claim("s0"); err != nil || status != http.StatusOK {
		t.Fatalf("claim of s0: %d %s %v", status, body, err)
	}
	restart()
	if got := claimOutcome(t, h, p.base, "s0"); got != "whole" {
		t.Errorf("s0: a claim acknowledged before the kill is %s after it, want whole", got)
	}
	outcomes["whole"]++

	// s1: killed mid-transaction, while its claim waits on the row lock the test holds.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE session_id = 's1' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	go claim("s1") //nolint:errcheck // its answer never comes: the instance is killed
	var backend int32
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		err := watch.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
			  AND wait_event_type = 'Lock' AND query LIKE '%ixn_session_claim%'`).Scan(&backend)
		if err == nil {
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim of s1 was not seen waiting on the session's lock after 30s")
		}
	}
	p.kill()
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Its backend runs the claim to the end, then finds its client gone and rolls back.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var alive bool
		if err := watch.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", backend).Scan(&alive); err != nil {
			t.Fatal(err)
		}
		if !alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed claim's backend still runs after 30s")
		}
	}
	p = start(t, "--database-url", url)
	h.mustSend(t, p.base, "POST", "/v1/nodes/new/heartbeat", "")
	if got := claimOutcome(t, h, p.base, "s1"); got != "nothing" {
		t.Errorf("s1: a claim killed inside its transaction is %s after the kill, want nothing", got)
	}
	outcomes["nothing"]++

	// The rest: the kill at a time from before the claim arrives to after it is done.
	for r := 2; r < rounds; r++ {
		sid := fmt.Sprintf("s%d", r)
		go claim(sid) //nolint:errcheck
		time.Sleep(time.Duration((r-2)*8) * time.Millisecond)
		restart()
		outcomes[claimOutcome(t, h, p.base, sid)]++
	}
	if outcomes["neither"] > 0 {
		t.Errorf("%d claims neither whole nor nothing after a kill", outcomes["neither"])
	}
	t.Logf("outcomes of %d claims killed: %v", rounds, outcomes)
	p.stop()
}

// nodeAlive: whether the nodes route says node is alive (by the database's clock).
func nodeAlive(t *testing.T, h *load, base, node string) bool {
	t.Helper()
	var list struct {
		Nodes []struct {
			NodeID string `json:"node_id"`
			Alive  bool
		}
	}
	if status, body, err := h.send(base, "GET", "/v1/nodes", ""); err != nil || status != 200 || json.Unmarshal(body, &list) != nil {
		t.Fatalf("GET /v1/nodes: %d %s %v", status, body, err)
	}
	for _, n := range list.Nodes {
		if n.NodeID == node {
			return n.Alive
		}
	}
	t.Fatalf("%s is not in /v1/nodes", node)
	return false
}

// claimOutcome reads a session of TestClaimIsWholeOrNothingAcrossAKill after the kill: its
// claim by "new" happened whole, or nothing of it is there (owner, epoch, events, last seq as
// before), or neither, which it reports as an error.
func claimOutcome(t *testing.T, h *load, base, sid string) string {
	t.Helper()
	var state struct {
		OwnerNode  *string `json:"owner_node"`
		LeaseEpoch int64   `json:"lease_epoch"`
		LastSeq    int64   `json:"last_seq"`
	}
	var page struct{ Events []struct{ Name string } }
	if status, body, err := h.send(base, "GET", "/v1/sessions/"+sid, ""); err != nil || status != 200 || json.Unmarshal(body, &state) != nil {
		t.Fatalf("GET %s: %d %s %v", sid, status, body, err)
	}
	if status, body, err := h.send(base, "GET", "/v1/sessions/"+sid+"/events", ""); err != nil || status != 200 || json.Unmarshal(body, &page) != nil {
		t.Fatalf("GET %s events: %d %s %v", sid, status, body, err)
	}
	restored := 0
	for _, e := range page.Events {
		if e.Name == "interaction.restored" {
			restored++
		}
	}
	owner := ""
	if state.OwnerNode != nil {
		owner = *state.OwnerNode
	}
	switch {
	case owner == "new" && state.LeaseEpoch == 2 && restored == 3 && state.LastSeq == 6 && len(page.Events) == 6:
		return "whole"
	case owner == "old" && state.LeaseEpoch == 1 && restored == 0 && state.LastSeq == 3 && len(page.Events) == 3:
		return "nothing"
	}
	t.Errorf("%s after kill -9 during its claim: owner %q epoch %d last seq %d, %d events (%d restored): neither whole nor nothing",
		sid, owner, state.LeaseEpoch, state.LastSeq, len(page.Events), restored)
	return "neither"
}

func jsonBody(s string) io.Reader { return strings.NewReader(s) }

func (l *load) mustSend(t *testing.T, base, method, path, body string) {
	t.Helper()
	if status, answer, err := l.send(base, method, path, body); err != nil || status >= 300 {
		t.Fatalf("%s %s: %d %s %v", method, path, status, answer, err)
	}
}
