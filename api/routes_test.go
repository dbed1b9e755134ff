package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// POST /v1/sessions/{sid}/release and POST /v1/nodes/{nid}/leave over HTTP: fenced by the
// epoch, handed to a node with the restore or to nobody, every one raising the epoch.
func TestReleaseAndLeaveRoutes(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	for _, n := range []string{"n1", "n2", "n3"} {
		c.ok("POST", "/v1/nodes", `{"node_id":"`+n+`","lease":"1m"}`, http.StatusOK)
	}
	c.seed() // s1 owned by n1, epoch 1
	c.ok("POST", "/v1/sessions", `{"session_id":"s2","owner_node":"n1"}`, http.StatusCreated)
	epoch := func(n string) http.Header { return http.Header{"X-Lease-Epoch": {n}} }

	before := c.counts()
	var refused api.ErrorBody
	if got := c.do("POST", "/v1/sessions/s1/release", strings.NewReader(`{"to_node":"n3"}`), epoch("7"), &refused); got != http.StatusConflict ||
		refused.Error.Code != "lease_lost" {
		t.Errorf("release with a stale epoch: %d %+v, want 409 lease_lost", got, refused)
	}
	if c.counts() != before {
		t.Error("a refused release wrote")
	}

	var to service.Takeover
	if got := c.do("POST", "/v1/sessions/s1/release", strings.NewReader(`{"to_node":"n3"}`), epoch("1"), &to); got != http.StatusOK {
		t.Fatalf("release to n3: status %d", got)
	}
	if to.Session.OwnerNode == nil || *to.Session.OwnerNode != "n3" || to.Session.LeaseEpoch != 2 ||
		len(to.Events) != 1 || to.Events[0].Name != "interaction.restored" || len(to.Session.Interactions) != 1 {
		t.Errorf("released to n3: %+v", to)
	}

	var none service.Takeover
	if got := c.do("POST", "/v1/sessions/s1/release", nil, epoch("2"), &none); got != http.StatusOK {
		t.Fatalf("release to nobody: status %d", got)
	}
	if none.Session.OwnerNode != nil || none.Session.LeaseEpoch != 3 || none.Events == nil || len(none.Events) != 0 {
		t.Errorf("released to nobody: %+v, want no owner, epoch 3, events []", none)
	}
	var orphans struct{ Sessions []service.Session }
	if c.json("GET", "/v1/sessions/orphaned", "", &orphans); len(orphans.Sessions) != 1 || orphans.Sessions[0].SessionID != "s1" {
		t.Errorf("orphans after the release: %+v", orphans.Sessions)
	}

	var left struct{ Sessions []service.Session }
	if got := c.json("POST", "/v1/nodes/n1/leave", `{"to_node":"n2"}`, &left); got != http.StatusOK {
		t.Fatalf("leave: status %d", got)
	}
	if len(left.Sessions) != 1 || left.Sessions[0].SessionID != "s2" || *left.Sessions[0].OwnerNode != "n2" || left.Sessions[0].LeaseEpoch != 2 {
		t.Errorf("n1 left: %+v, want s2 with n2 at epoch 2", left.Sessions)
	}
	var nodes struct{ Nodes []service.Node }
	c.json("GET", "/v1/nodes", "", &nodes)
	for _, n := range nodes.Nodes {
		if n.Alive != (n.NodeID != "n1") {
			t.Errorf("after n1 left: %s alive %v", n.NodeID, n.Alive)
		}
	}
	var e api.ErrorBody
	if got := c.json("POST", "/v1/sessions/s1/claim", `{"node_id":"n1"}`, &e); got != http.StatusConflict || e.Error.Code != "node_not_live" {
		t.Errorf("a claim by the node that left: %d %+v", got, e)
	}
	if got := c.json("POST", "/v1/nodes/ghost/leave", "", &e); got != http.StatusNotFound || e.Error.Code != "not_found" {
		t.Errorf("an unknown node leaves: %d %+v", got, e)
	}
	// Leaving to nobody orphans at once.
	var orphaned struct{ Sessions []service.Session }
	if got := c.json("POST", "/v1/nodes/n2/leave", "", &orphaned); got != http.StatusOK || len(orphaned.Sessions) != 1 ||
		orphaned.Sessions[0].OwnerNode != nil || orphaned.Sessions[0].LeaseEpoch != 3 {
		t.Errorf("n2 leaves to nobody: %d %+v", got, orphaned.Sessions)
	}
}

// GET /v1/sessions/{sid}/interactions/{iid}: the interaction, live or deleted.
func TestGetInteractionRoute(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	var ix service.Interaction
	if got := c.json("GET", "/v1/sessions/s1/interactions/i1", "", &ix); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	if ix.State != "present" || !ix.Controlled || ix.DeletedAt != nil || len(ix.Parties) != 1 || ix.Parties[0].PartyID != "p1" ||
		string(ix.UserData["lang"]) != `"en"` {
		t.Errorf("live interaction %+v", ix)
	}
	c.ok("DELETE", "/v1/sessions/s1/interactions/i1", "", http.StatusOK)
	ix = service.Interaction{}
	if got := c.json("GET", "/v1/sessions/s1/interactions/i1", "", &ix); got != http.StatusOK {
		t.Fatalf("deleted: status %d", got)
	}
	if ix.State != "deleted" || ix.Controlled || ix.DeletedAt == nil || ix.InteractionID != "i1" {
		t.Errorf("deleted interaction %+v", ix)
	}
	var e api.ErrorBody
	if got := c.json("GET", "/v1/sessions/s1/interactions/nope", "", &e); got != http.StatusNotFound || e.Error.Code != "not_found" {
		t.Errorf("unknown interaction: %d %+v", got, e)
	}
	if got := c.json("GET", "/v1/sessions/nope/interactions/i1", "", &e); got != http.StatusNotFound || e.Error.Code != "not_found" {
		t.Errorf("unknown session: %d %+v", got, e)
	}
}

// GET /v1/requests: the media side's page of pending requests, in the order they were made,
// resumed with ?after= or Last-Event-ID (which wins), filtered by media.
func TestPendingRequestsRoute(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed() // s1/i1 voice
	c.ok("POST", "/v1/sessions", `{"session_id":"s2"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s2/interactions", `{"interaction_id":"i2","media":"chat","type":"inbound"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s2/interactions/i2/present", "", http.StatusOK)
	c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"rA","action":"terminate","interaction_id":"i1"}`, http.StatusAccepted)
	c.ok("POST", "/v1/sessions/s2/requests", `{"request_id":"rB","action":"terminate","interaction_id":"i2"}`, http.StatusAccepted)
	c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"rC","action":"clear","interaction_id":"i1","resource":"+15550001"}`, http.StatusAccepted)

	type page struct {
		Requests []service.Request
		Next     string
	}
	get := func(query string, header http.Header) page {
		t.Helper()
		var p page
		if got := c.do("GET", "/v1/requests"+query, nil, header, &p); got != http.StatusOK {
			t.Fatalf("GET /v1/requests%s: status %d", query, got)
		}
		return p
	}
	ids := func(p page) string {
		var out []string
		for _, r := range p.Requests {
			out = append(out, r.RequestID)
		}
		return strings.Join(out, ",")
	}
	// The feed lists a request only once every transaction older than it has ended, on the
	// whole server: another test's open transaction can delay it (never reorder it).
	var all page
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if all = get("", nil); len(all.Requests) == 3 || time.Now().After(deadline) {
			break
		}
	}
	if ids(all) != "rA,rB,rC" || all.Next != all.Requests[2].Cursor {
		t.Fatalf("the feed: %s next %q, want rA,rB,rC and rC's cursor", ids(all), all.Next)
	}
	a, b := all.Requests[0].Cursor, all.Requests[1].Cursor
	if got := ids(get("?after="+a, nil)); got != "rB,rC" {
		t.Errorf("after rA: %s", got)
	}
	if got := ids(get("", http.Header{"Last-Event-ID": {a}})); got != "rB,rC" {
		t.Errorf("Last-Event-ID rA: %s", got)
	}
	if got := ids(get("?after="+b, http.Header{"Last-Event-ID": {a}})); got != "rB,rC" {
		t.Errorf("Last-Event-ID rA with after=rB: %s, want Last-Event-ID to win", got)
	}
	if got := ids(get("?media=chat", nil)); got != "rB" {
		t.Errorf("chat: %s", got)
	}
	if got := ids(get("?media=voice&after="+a, nil)); got != "rC" {
		t.Errorf("voice after rA: %s", got)
	}
	if p := get("?limit=1", nil); ids(p) != "rA" || p.Next != a {
		t.Errorf("limit 1: %s next %q", ids(p), p.Next)
	}
	// The end of the feed keeps the cursor it was given.
	if p := get("?after="+all.Next, nil); len(p.Requests) != 0 || p.Next != all.Next {
		t.Errorf("after the last: %s next %q", ids(p), p.Next)
	}
	// An answered request is no longer pending.
	c.ok("POST", "/v1/sessions/s1/requests/rA/outcome", `{"result":"failed","error":"remote"}`, http.StatusOK)
	if got := ids(get("", nil)); got != "rB,rC" {
		t.Errorf("after rA was answered: %s", got)
	}
	var e api.ErrorBody
	if got := c.do("GET", "/v1/requests?after=garbage", nil, nil, &e); got != http.StatusBadRequest || e.Error.Code != "malformed_query" {
		t.Errorf("a bad cursor: %d %+v", got, e)
	}
}

// Two outcome reports for one request at once: exactly one is applied and writes the one
// answer event. The same outcome twice: both get the stored answer (the first's events); two
// different outcomes: the loser gets 409 request_ended.
func TestConcurrentOutcomeReports(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	const rounds = 10
	for r := range rounds {
		rid := fmt.Sprintf("r%d", r)
		res := fmt.Sprintf("70%02d", r)
		c.ok("POST", "/v1/sessions/s1/interactions/i1/parties", `{"party_id":"p`+res+`","resource":"`+res+`","state":"established"}`, http.StatusCreated)
		c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"`+rid+`","action":"clear","interaction_id":"i1","resource":"`+res+`"}`, http.StatusAccepted)
		same := r%2 == 0
		bodies := [2]string{`{"result":"done"}`, `{"result":"done"}`}
		if !same {
			bodies[1] = `{"result":"failed","error":"remote"}`
		}
		var (
			wg      sync.WaitGroup
			ready   sync.WaitGroup
			go_     = make(chan struct{})
			status  [2]int
			answers [2]api.RequestResponse
			raw     [2]api.ErrorBody
		)
		for i := range 2 {
			wg.Add(1)
			ready.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", c.base+"/v1/sessions/s1/requests/"+rid+"/outcome", strings.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				ready.Done()
				<-go_
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				status[i] = res.StatusCode
				if res.StatusCode == http.StatusOK {
					_ = jsonUnmarshal(b, &answers[i])
				} else {
					_ = jsonUnmarshal(b, &raw[i])
				}
			}()
		}
		ready.Wait()
		close(go_)
		wg.Wait()

		var page struct{ Events []service.Event }
		c.json("GET", "/v1/sessions/s1/events?limit=1000", "", &page)
		answered := 0
		for _, e := range page.Events {
			if strings.Contains(string(e.Data), `"requestid":"`+rid+`"`) {
				answered++
			}
		}
		if answered != 1 {
			t.Errorf("%s: %d answer events, want exactly one", rid, answered)
		}
		if same {
			ids := func(a api.RequestResponse) (out []string) {
				for _, e := range a.Events {
					out = append(out, fmt.Sprintf("%d:%s", e.ID, e.Name))
				}
				return out
			}
			if status != [2]int{200, 200} || !slices.Equal(ids(answers[0]), ids(answers[1])) || len(answers[0].Events) == 0 {
				t.Errorf("%s, the same outcome twice: %v, answers %v and %v, want both 200 with the same events", rid, status, ids(answers[0]), ids(answers[1]))
			}
			continue
		}
		won, lost := 0, 1
		if status[0] != http.StatusOK {
			won, lost = 1, 0
		}
		if status[won] != http.StatusOK || status[lost] != http.StatusConflict || raw[lost].Error.Code != "request_ended" {
			t.Errorf("%s, two different outcomes: %v %+v, want one 200 and one 409 request_ended", rid, status, raw)
		}
		var stored service.Request
		c.json("GET", "/v1/sessions/s1/requests/"+rid, "", &stored)
		if want := map[int]string{0: "done", 1: "failed"}[won]; stored.State != want {
			t.Errorf("%s: stored %s, but the report that won was %s", rid, stored.State, want)
		}
	}
}

// A database that is not there answers 503 with the JSON error body, not 500: a store on a
// port nothing listens on, and a pool whose connection the server terminated.
func TestLostDatabaseIs503(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	serve := func(pool *pgxpool.Pool) *client {
		srv := httptest.NewServer(api.New(service.New(pool, service.Config{}), logger, api.Options{}))
		t.Cleanup(srv.Close)
		return &client{t: t, base: srv.URL, pool: pool}
	}
	unavailable := func(c *client, what string) {
		t.Helper()
		var e api.ErrorBody
		if got := c.json("GET", "/v1/sessions/s1", "", &e); got != http.StatusServiceUnavailable || e.Error.Code != "unavailable" || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want 503 unavailable", what, got, e)
		}
	}

	t.Run("closed port", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		pool, err := pgxpool.New(context.Background(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/none?connect_timeout=5", port))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		unavailable(serve(pool), "no server")
	})

	t.Run("terminated backend", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		cfg, err := pgxpool.ParseConfig(testdb.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 1 // the next request must use the connection that is terminated
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		c := serve(pool)
		c.seed()
		admin, err := pgx.Connect(ctx, cfg.ConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		var pid int32
		if err := admin.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1, 10000)", pid); err != nil {
			t.Fatal(err)
		}
		unavailable(c, "terminated connection")
		// And the pool recovers by itself.
		c.ok("GET", "/v1/sessions/s1", "", http.StatusOK)
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
