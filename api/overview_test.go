package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/auth"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// GET /v1/overview counts what is live: interactions by media and state (deleted ones
// left out), nodes with their load, orphaned sessions, pending requests, and the events not
// yet published (no dispatcher runs here, so every event waits).
func TestOverviewCountsWhatIsLive(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.ok("POST", "/v1/nodes", `{"node_id":"n1","capacity":50,"lease":"1m"}`, http.StatusOK)
	c.seed() // s1 owned by n1: i1 voice, present
	c.ok("POST", "/v1/sessions/s1/interactions", `{"interaction_id":"i2","media":"chat","type":"inbound"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s1/interactions", `{"interaction_id":"i3","media":"chat","type":"inbound"}`, http.StatusCreated)
	c.ok("DELETE", "/v1/sessions/s1/interactions/i3", "", http.StatusOK)
	c.ok("POST", "/v1/sessions", `{"session_id":"s2","owner_node":"gone"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions", `{"session_id":"s3"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"r1","action":"clear","interaction_id":"i1","resource":"+15550001","timeout":"1h"}`, http.StatusAccepted)

	var o service.Overview
	if got := c.json("GET", "/v1/overview", "", &o); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	want := []service.InteractionCount{{Media: "chat", State: "added", Count: 1}, {Media: "voice", State: "present", Count: 1}}
	if len(o.Interactions) != len(want) || o.Interactions[0] != want[0] || o.Interactions[1] != want[1] {
		t.Errorf("interactions %+v, want %+v", o.Interactions, want)
	}
	if len(o.Nodes) != 1 || o.Nodes[0].NodeID != "n1" || !o.Nodes[0].Alive || o.Nodes[0].Capacity != 50 ||
		o.Nodes[0].Owned == nil || *o.Nodes[0].Owned != 1 {
		t.Errorf("nodes %+v", o.Nodes)
	}
	if o.Sessions != (service.SessionCounts{Active: 3, Orphaned: 2}) {
		t.Errorf("sessions %+v, want 3 active, 2 orphaned (an unknown owner and none)", o.Sessions)
	}
	if o.Requests.Pending != 1 || o.Requests.NextDeadline == nil {
		t.Errorf("requests %+v", o.Requests)
	}
	var events int64
	if err := c.pool.QueryRow(t.Context(), "SELECT count(*) FROM outbox").Scan(&events); err != nil {
		t.Fatal(err)
	}
	if p := o.Publication; p.LastPubSeq != 0 || p.Unpublished != events || p.LagMS < 0 || p.LastPublishedAt != nil {
		t.Errorf("publication %+v, want nothing published and %d events waiting", p, events)
	}
	if o.At.IsZero() {
		t.Error("no time")
	}
}

// GET /v1/sessions/{sid}/requests pages a session's requests by state; GET .../owners lists
// the owner at each epoch.
func TestSessionRequestsAndOwners(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	for _, n := range []string{"n1", "n2"} {
		c.ok("POST", "/v1/nodes", `{"node_id":"`+n+`","lease":"1m"}`, http.StatusOK)
	}
	c.seed()
	for _, r := range []string{"r1", "r2", "r3"} {
		c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"`+r+`","action":"clear","interaction_id":"i1","resource":"+15550001","timeout":"1h"}`, http.StatusAccepted)
	}
	c.ok("POST", "/v1/sessions/s1/requests/r2/outcome", `{"result":"failed","error":"remote"}`, http.StatusOK)

	var page service.RequestPage
	if got := c.json("GET", "/v1/sessions/s1/requests?state=pending&limit=1", "", &page); got != http.StatusOK ||
		len(page.Requests) != 1 || page.Requests[0].RequestID != "r1" || page.Next == nil {
		t.Fatalf("first page: %d %+v", got, page)
	}
	var rest service.RequestPage
	c.json("GET", "/v1/sessions/s1/requests?state=pending&after="+strconv.FormatInt(*page.Next, 10), "", &rest)
	if len(rest.Requests) != 1 || rest.Requests[0].RequestID != "r3" || rest.Next != nil {
		t.Errorf("second page: %+v", rest)
	}
	var all service.RequestPage
	c.json("GET", "/v1/sessions/s1/requests", "", &all)
	if len(all.Requests) != 3 || all.Requests[1].State != "failed" {
		t.Errorf("all: %+v", all)
	}
	var e api.ErrorBody
	if got := c.json("GET", "/v1/sessions/s1/requests?state=lost", "", &e); got != http.StatusUnprocessableEntity || e.Error.Code != "invalid_value" {
		t.Errorf("unknown state: %d %+v", got, e)
	}
	if got := c.json("GET", "/v1/sessions/nope/requests", "", &e); got != http.StatusNotFound {
		t.Errorf("unknown session: %d", got)
	}

	c.do("POST", "/v1/sessions/s1/release", strings.NewReader(`{"to_node":"n2"}`), http.Header{"X-Lease-Epoch": {"1"}}, nil)
	c.do("POST", "/v1/sessions/s1/release", nil, http.Header{"X-Lease-Epoch": {"2"}}, nil) // to nobody: no event
	var owners struct{ Owners []service.Ownership }
	if got := c.json("GET", "/v1/sessions/s1/owners", "", &owners); got != http.StatusOK {
		t.Fatalf("owners: %d", got)
	}
	o := owners.Owners
	if len(o) != 3 || o[0].Epoch != 1 || *o[0].NodeID != "n1" || o[0].FirstSeq == nil || *o[0].FirstSeq != 1 ||
		o[1].Epoch != 2 || *o[1].NodeID != "n2" || o[1].Events != 1 ||
		o[2].Epoch != 3 || o[2].NodeID != nil || o[2].Since != nil {
		t.Errorf("owners %+v", o)
	}
}

// The console's cookie authenticates like the header; a change it alone authenticates needs
// the console's header; a bad cookie is refused like a bad token.
func TestConsoleCookie(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	base := authServer(t, pool, auth.VerifierConfig{})
	creds := makeCredentials(t, pool)
	cookie := func(name string) map[string]string {
		return map[string]string{"Cookie": api.ConsoleCookie + "=" + creds.tokens[name]}
	}
	if a := call(t, base, "GET", "/v1/overview", "", "", cookie("reporting")); a.status != http.StatusOK {
		t.Errorf("overview with a reporting cookie: %+v", a)
	}
	if a := call(t, base, "GET", "/v1/overview", "", "", cookie("revoked")); a.status != http.StatusUnauthorized {
		t.Errorf("overview with a revoked token's cookie: %+v", a)
	}
	if a := call(t, base, "GET", "/v1/overview", "", "", cookie("adapter")); a.status != http.StatusForbidden {
		t.Errorf("overview with an adapter's cookie: %+v", a)
	}
	// A header wins over the cookie: a bad header is not rescued by a good cookie.
	h := cookie("admin")
	h["Authorization"] = "Bearer " + creds.tokens["bad"]
	if a := call(t, base, "GET", "/v1/overview", "", "", h); a.status != http.StatusUnauthorized {
		t.Errorf("a bad header with a good cookie: %+v", a)
	}
	before := fingerprint(t, pool)
	if a := call(t, base, "POST", "/v1/sessions", "", `{"session_id":"csrf"}`, cookie("admin")); a.status != http.StatusForbidden || a.code != "forbidden" {
		t.Errorf("a write with the cookie alone: %+v, want 403", a)
	}
	if fingerprint(t, pool) != before {
		t.Error("the refused write wrote")
	}
	h = cookie("admin")
	h[api.ConsoleHeader] = "1"
	if a := call(t, base, "POST", "/v1/sessions", "", `{"session_id":"console"}`, h); a.status != http.StatusCreated {
		t.Errorf("a write with the cookie and the console's header: %+v", a)
	}
}
