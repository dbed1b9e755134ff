package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

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
}

func newRoutingNode(t *testing.T, id string, instances []string) *routingNode {
	n := &routingNode{id: id, instances: instances, http: &load{}, epochs: map[string]int64{},
		acked: map[int64]string{}, beating: make(chan struct{}), stopping: make(chan struct{})}
	if status, body, err := n.http.send(instances[0], "POST", "/v1/nodes", `{"node_id":"`+id+`","lease":"2s","capacity":100}`); err != nil || status != 200 {
		t.Fatalf("register %s: %d %s %v", id, status, body, err)
	}
	return n
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
	for _, id := range []string{"n1", "n2", "n3"} {
		nodes[id] = newRoutingNode(t, id, instances)
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
	time.Sleep(time.Second)
	close(nodes["n1"].beating)
	// Its lease (2 s, ten heartbeats long) lapses, the others claim; then everyone goes on.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		nodes["n2"].mu.Lock()
		nodes["n3"].mu.Lock()
		claimed := len(nodes["n2"].claimed) + len(nodes["n3"].claimed)
		nodes["n3"].mu.Unlock()
		nodes["n2"].mu.Unlock()
		if claimed >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of n1's 4 sessions claimed after 30s", claimed)
		}
	}
	time.Sleep(500 * time.Millisecond)
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

// kill -9 of the instance serving a claim, right after it is sent: after a restart the claim
// either happened whole (new owner and epoch, a restore for each interaction) or not at all.
func TestClaimIsWholeOrNothingAcrossAKill(t *testing.T) {
	t.Parallel()
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
	time.Sleep(200 * time.Millisecond) // old's lease lapses
	wholes := 0
	for r := range rounds {
		sid := fmt.Sprintf("s%d", r)
		go h.send(p.base, "POST", "/v1/sessions/"+sid+"/claim", `{"node_id":"new"}`)
		time.Sleep(time.Duration(r*6) * time.Millisecond) // from before the claim arrives to after it is done
		p.kill()
		p = start(t, "--database-url", url)
		h.mustSend(t, p.base, "POST", "/v1/nodes/new/heartbeat", "")

		var state struct {
			OwnerNode  string `json:"owner_node"`
			LeaseEpoch int64  `json:"lease_epoch"`
			LastSeq    int64  `json:"last_seq"`
		}
		var page struct{ Events []struct{ Name string } }
		_, body, _ := h.send(p.base, "GET", "/v1/sessions/"+sid, "")
		_ = json.Unmarshal(body, &state)
		_, body, _ = h.send(p.base, "GET", "/v1/sessions/"+sid+"/events", "")
		_ = json.Unmarshal(body, &page)
		restored := 0
		for _, e := range page.Events {
			if e.Name == "interaction.restored" {
				restored++
			}
		}
		switch {
		case state.OwnerNode == "new" && state.LeaseEpoch == 2 && restored == 3 && state.LastSeq == 6 && len(page.Events) == 6:
			wholes++
		case state.OwnerNode == "old" && state.LeaseEpoch == 1 && restored == 0 && state.LastSeq == 3 && len(page.Events) == 3:
		default:
			t.Errorf("%s after kill -9 during its claim: %+v with %d events (%d restored): neither whole nor nothing",
				sid, state, len(page.Events), restored)
		}
	}
	t.Logf("%d of %d claims had happened when their instance was killed", wholes, rounds)
	p.stop()
}

func jsonBody(s string) io.Reader { return strings.NewReader(s) }

func (l *load) mustSend(t *testing.T, base, method, path, body string) {
	t.Helper()
	if status, answer, err := l.send(base, method, path, body); err != nil || status >= 300 {
		t.Fatalf("%s %s: %d %s %v", method, path, status, answer, err)
	}
}
