package main_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
)

// serve --assign-orphans: the sessions of a node whose lease lapsed are given to the live
// nodes by spare capacity (each to the node least loaded with it, ties by id, never past a
// node's capacity), each once, with its restore carrying the new owner.
func TestAssignOrphansGivesDeadNodesSessionsByCapacity(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	p := start(t, "--database-url", url, "--assign-orphans", "--assign-interval", "50ms")
	// dead lives until its sessions are made, then registers again with a short lease and
	// stops heartbeating: it dies 100 ms later.
	p.call("POST", "/v1/nodes", `{"node_id":"dead","lease":"10m","capacity":100}`, 200)
	p.call("POST", "/v1/nodes", `{"node_id":"big","lease":"10m","capacity":6}`, 200)
	p.call("POST", "/v1/nodes", `{"node_id":"small","lease":"10m","capacity":3}`, 200)
	p.call("POST", "/v1/nodes", `{"node_id":"full","lease":"10m","capacity":1}`, 200)
	p.call("POST", "/v1/sessions", `{"session_id":"f","owner_node":"full"}`, 201)
	const n = 6
	for i := range n {
		sid := fmt.Sprintf("s%d", i)
		p.call("POST", "/v1/sessions", `{"session_id":"`+sid+`","owner_node":"dead"}`, 201)
		p.call("POST", "/v1/sessions/"+sid+"/interactions", `{"interaction_id":"`+sid+`-i","media":"chat","type":"inbound"}`, 201)
	}
	p.call("POST", "/v1/nodes", `{"node_id":"dead","lease":"100ms","capacity":100}`, 200)

	// The assigner gives no signal outside the process: wait on what the API shows.
	owned := map[string]int64{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var list struct {
			Nodes []struct {
				NodeID string `json:"node_id"`
				Owned  int64
			}
		}
		if err := json.Unmarshal([]byte(p.call("GET", "/v1/nodes", "", 200)), &list); err != nil {
			t.Fatal(err)
		}
		clear(owned)
		for _, nd := range list.Nodes {
			owned[nd.NodeID] = nd.Owned
		}
		if owned["dead"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the dead node still owns %d sessions: %v", owned["dead"], owned)
		}
	}
	// 6 sessions, capacities 6 and 3: 4 and 2 (the planned loads go 1/6, 2/6 (a tie with 1/3,
	// to big), 1/3, 3/6, 4/6 (a tie with 2/3), 2/3); full has no room.
	if want := map[string]int64{"dead": 0, "big": 4, "small": 2, "full": 1}; fmt.Sprint(owned) != fmt.Sprint(want) {
		t.Errorf("owned %v, want %v", owned, want)
	}
	var orphans struct{ Sessions []json.RawMessage }
	if err := json.Unmarshal([]byte(p.call("GET", "/v1/sessions/orphaned", "", 200)), &orphans); err != nil || len(orphans.Sessions) != 0 {
		t.Errorf("orphans left: %d (%v)", len(orphans.Sessions), err)
	}
	for i := range n {
		sid := fmt.Sprintf("s%d", i)
		var st struct {
			OwnerNode  string `json:"owner_node"`
			LeaseEpoch int64  `json:"lease_epoch"`
		}
		if err := json.Unmarshal([]byte(p.call("GET", "/v1/sessions/"+sid, "", 200)), &st); err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []struct {
				Name   string
				NodeID string `json:"node_id"`
				Epoch  int64
			}
		}
		if err := json.Unmarshal([]byte(p.call("GET", "/v1/sessions/"+sid+"/events", "", 200)), &page); err != nil {
			t.Fatal(err)
		}
		// Assigned once: epoch 2, one restore, by the owner it now has.
		last := page.Events[len(page.Events)-1]
		if st.LeaseEpoch != 2 || len(page.Events) != 2 || last.Name != "interaction.restored" || last.NodeID != st.OwnerNode || last.Epoch != 2 {
			t.Errorf("%s: owner %s epoch %d, events %+v; want one restore at epoch 2 by the owner", sid, st.OwnerNode, st.LeaseEpoch, page.Events)
		}
	}
	p.stop()
}
