package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/service"
)

// A node's stream follows ownership: after a claim the new owner's stream carries the
// session's events from the restore on, and the old owner's carries none of them.
func TestNodeStreamFollowsOwnership(t *testing.T) {
	t.Parallel()
	c := newPublishingServer(t)
	c.ok("POST", "/v1/nodes", `{"node_id":"n1","lease":"100ms"}`, http.StatusOK)
	c.ok("POST", "/v1/nodes", `{"node_id":"n2","lease":"1m","capacity":5}`, http.StatusOK)
	c.seed() // s1 owned by n1: added, present
	var claim service.Takeover
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		status := c.json("POST", "/v1/sessions/s1/claim", `{"node_id":"n2"}`, &claim)
		if status == http.StatusOK {
			break
		}
		if status != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("claim: status %d", status)
		}
	}
	if claim.Session.LeaseEpoch != 2 || len(claim.Events) != 1 || claim.Events[0].Name != "interaction.restored" {
		t.Fatalf("claim answer %+v", claim)
	}
	c.ok("POST", "/v1/sessions/s1/interactions/i1/parties", `{"party_id":"p2","resource":"7001","state":"alerting"}`, http.StatusCreated)

	names := func(node string, want int) []string {
		var page struct{ Events []service.PublishedEvent }
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			c.json("GET", "/v1/events?node_id="+node, "", &page)
			if len(page.Events) >= want || time.Now().After(deadline) {
				break
			}
		}
		var out []string
		for _, e := range page.Events {
			out = append(out, e.Name)
		}
		return out
	}
	if got := names("n2", 2); len(got) != 2 || got[0] != "interaction.restored" || got[1] != "interaction.partyadded" {
		t.Errorf("n2's events: %v, want the restore, then what followed", got)
	}
	if got := names("n1", 2); len(got) != 2 || got[0] != "interaction.added" || got[1] != "interaction.present" {
		t.Errorf("n1's events: %v, want only those from before the claim", got)
	}

	var nodes struct{ Nodes []service.Node }
	c.json("GET", "/v1/nodes", "", &nodes)
	if len(nodes.Nodes) != 2 || nodes.Nodes[0].Alive || !nodes.Nodes[1].Alive || *nodes.Nodes[1].Owned != 1 {
		t.Errorf("nodes %+v", nodes.Nodes)
	}
	c.ok("POST", "/v1/nodes/ghost/heartbeat", "", http.StatusNotFound)
	c.ok("POST", "/v1/sessions/s1/claim", `{"node_id":"n1"}`, http.StatusConflict) // n1 is dead
	var stale struct{ Error struct{ Code string } }
	if c.do("POST", "/v1/sessions/s1/interactions/i1/parties", strings.NewReader(`{"party_id":"p3","resource":"7002","state":"alerting"}`),
		http.Header{"X-Lease-Epoch": {"1"}}, &stale); stale.Error.Code != "lease_lost" {
		t.Errorf("a write with the old epoch: %+v, want lease_lost", stale)
	}
}
