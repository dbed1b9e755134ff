package reporting_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

// An agent's list walks interaction_resources_list_idx in the list's order and stops at the
// page's end: no sort of the agent's interactions, no scan of another index; and its pages,
// in created order, are the agent's interactions as the rows have them.
func TestAgentListFromItsIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	owner := "n1"
	if _, err := s.CreateSession(ctx, service.NewSession{SessionID: "s", OwnerNode: &owner}); err != nil {
		t.Fatal(err)
	}
	// 20,000 interactions over 50 agents (and a customer each), written as the seed writes
	// them, with statistics, so that the planner sees a table worth an index.
	_, err := pool.Exec(ctx, `
INSERT INTO interactions (session_id, interaction_id, media, type, state, created_at, deleted_at, owner_node)
SELECT 's', 'i' || n, 'voice', 'inbound', 'deleted', now() - n * interval '10 seconds', now() - n * interval '10 seconds' + interval '5 minutes', 'n1'
  FROM generate_series(1, 20000) n;
INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, joined_at, interaction_created_at)
SELECT i.session_id, i.interaction_id, r.resource, r.party_id, r.role::party_role, i.created_at, i.created_at
  FROM interactions i
 CROSS JOIN LATERAL (VALUES ('agent-' || (1 + hashtext(i.interaction_id) & 49), 'a', 'agent'),
                            ('+1555' || substr(i.interaction_id, 2), 'c', 'customer')) AS r(resource, party_id, role);
ANALYZE interactions; ANALYZE interaction_resources;`)
	if err != nil {
		t.Fatal(err)
	}
	r := reporting.New(pool)
	var agent string
	if err := pool.QueryRow(ctx, `SELECT resource FROM interaction_resources WHERE role = 'agent' LIMIT 1`).Scan(&agent); err != nil {
		t.Fatal(err)
	}
	weekAgo := time.Now().Add(-7 * 24 * time.Hour)
	for _, f := range []reporting.Filter{{Resource: agent}, {Resource: agent, CreatedFrom: &weekAgo}} {
		raw, err := r.ExplainList(ctx, f, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var plan []struct{ Plan node }
		if err := json.Unmarshal([]byte(raw), &plan); err != nil {
			t.Fatal(err)
		}
		nodes := plan[0].Plan.flatten()
		if !strings.Contains(nodes, "Index Scan interaction_resources_list_idx") && !strings.Contains(nodes, "Index Only Scan interaction_resources_list_idx") {
			t.Errorf("filter %+v: the plan does not read interaction_resources_list_idx: %s", f, nodes)
		}
		if strings.Contains(nodes, "Sort") || strings.Contains(nodes, "Seq Scan") {
			t.Errorf("filter %+v: the plan sorts or scans: %s", f, nodes)
		}
	}

	// The pages, in order, are the rows.
	var want []string
	rows, err := pool.Query(ctx, `SELECT i.interaction_id FROM interactions i JOIN interaction_resources r USING (session_id, interaction_id)
	                               WHERE r.resource = $1 ORDER BY i.created_at, i.session_id, i.interaction_id`, agent)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	var got []string
	for after := ""; ; {
		page := ok[reporting.Page](t)(r.ListInteractions(ctx, reporting.Filter{Resource: agent}, after, 97))
		for _, i := range page.Interactions {
			got = append(got, i.InteractionID)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || len(want) < 100 {
		t.Errorf("the agent's pages hold %d interactions, the rows %d (or differ in order)", len(got), len(want))
	}
}

// node is a node of an EXPLAIN (FORMAT JSON) plan.
type node struct {
	NodeType  string `json:"Node Type"`
	IndexName string `json:"Index Name"`
	Plans     []node `json:"Plans"`
}

// flatten lists the plan's nodes, "type index", depth first.
func (n node) flatten() string {
	s := strings.TrimSpace(n.NodeType + " " + n.IndexName)
	for _, c := range n.Plans {
		s += "; " + c.flatten()
	}
	return s
}
