package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/auth"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

// authServer is an API with access on, over pool; its verifier listens until the test ends.
func authServer(t *testing.T, pool *pgxpool.Pool, cfg auth.VerifierConfig) string {
	t.Helper()
	cfg.Pool = pool
	verifier := auth.NewVerifier(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { verifier.Run(ctx) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := service.New(pool, service.Config{})
	// A hub that polls (no dispatcher here): the stream routes answer their headers.
	hub, err := streamhub.New(streamhub.Config{Read: store.ListPublished, Last: store.LastPubSeq, Wake: api.NewSignal().C})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { hub.Run(ctx) })
	srv := httptest.NewServer(api.New(store, logger, api.Options{
		Streams: hub,
		Reports: reporting.New(pool),
		Access:  &api.Access{Verifier: verifier, Limiter: auth.NewLimiter(nil, 0)},
	}))
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait() })
	return srv.URL
}

// answer is what a test looks at of a response.
type answer struct {
	status    int
	code, msg string
	challenge string
}

// call sends one request with token ("" for none) and extra headers; a stream's answer is
// taken at its headers.
func call(t *testing.T, base, method, path, token, body string, header map[string]string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	a := answer{status: res.StatusCode, challenge: res.Header.Get("WWW-Authenticate")}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return a // a stream: its headers are the answer; the rest never ends
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &e)
	a.code, a.msg = e.Error.Code, e.Error.Message
	return a
}

// fingerprint is the content of every table: equal before and after a request that wrote
// nothing. Counts alone would miss an update (a heartbeat, an owner changed).
func fingerprint(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	ctx := context.Background()
	var q string
	if err := pool.QueryRow(ctx, `SELECT string_agg(format(
	    'SELECT %L || '':'' || count(*) || '':'' || coalesce(md5(string_agg(t::text, '','' ORDER BY t::text)), '''') FROM %I t',
	    tablename, tablename), ' UNION ALL ' ORDER BY tablename)
	  FROM pg_tables WHERE schemaname = 'public'`).Scan(&q); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(parts, "\n")
}

// credentials are the tokens of the matrix; "none" sends no Authorization.
type credentials struct {
	order  []string
	tokens map[string]string
	ids    map[string]int64
}

func makeCredentials(t *testing.T, pool *pgxpool.Pool) credentials {
	t.Helper()
	ctx := context.Background()
	store := auth.NewStore(pool)
	c := credentials{tokens: map[string]string{"none": ""}, ids: map[string]int64{}}
	c.order = []string{"none", "bad", "expired", "revoked"}
	random := make([]byte, 32)
	_, _ = rand.Read(random)
	c.tokens["bad"] = auth.Prefix + base64.RawURLEncoding.EncodeToString(random) // well formed, unknown
	past := time.Now().Add(-time.Minute)
	mk := func(name string, n auth.NewToken) {
		n.Name = name
		secret, tok, err := store.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		c.tokens[name], c.ids[name] = secret, tok.ID
	}
	mk("expired", auth.NewToken{Role: auth.RoleAdmin, ExpiresAt: &past})
	mk("revoked", auth.NewToken{Role: auth.RoleAdmin})
	if _, err := store.Revoke(ctx, "revoked"); err != nil {
		t.Fatal(err)
	}
	for _, r := range auth.Roles {
		n := auth.NewToken{Role: r}
		if r == auth.RoleNode {
			n.NodeID = "n1"
		}
		mk(string(r), n)
		c.order = append(c.order, string(r))
	}
	mk("node-n2", auth.NewToken{Role: auth.RoleNode, NodeID: "n2"})
	return c
}

// routeBodies are bodies that a role allowed on the route may send; a node's name itself.
var routeBodies = map[string]string{
	"POST /v1/sessions":                                          `{"session_id":"new-$sid","owner_node":"n1"}`,
	"POST /v1/sessions/:sid/claim":                               `{"node_id":"n1"}`,
	"POST /v1/nodes":                                             `{"node_id":"n1"}`,
	"PUT /v1/sessions/:sid/checkpoint":                           `{"datamodel":{"counter":1}}`,
	"POST /v1/sessions/:sid/interactions":                        `{"interaction_id":"$sid-i2","media":"voice","type":"inbound"}`,
	"POST /v1/sessions/:sid/interactions/:iid/parties":           `{"party_id":"p2","resource":"7002","state":"alerting"}`,
	"PATCH /v1/sessions/:sid/interactions/:iid/parties/:pid":     `{"state":"established"}`,
	"PUT /v1/sessions/:sid/interactions/:iid/udata":              `{"origin":"media","data":{"a":1}}`,
	"PATCH /v1/sessions/:sid/interactions/:iid/udata":            `{"origin":"media","data":{"a":2}}`,
	"POST /v1/sessions/:sid/requests":                            `{"request_id":"r2","action":"clear","interaction_id":"$sid-i","resource":"7001","timeout":"1h"}`,
	"POST /v1/sessions/:sid/requests/:rid/outcome":               `{"result":"done"}`,
	"POST /v1/sessions/:sid/interactions/:iid/reports/abandoned": `{}`,
}

// routeQueries filter a node's feeds to its own node.
var routeQueries = map[string]string{
	"GET /v1/events":        "?node_id=n1",
	"GET /v1/events/stream": "?node_id=n1",
	"GET /v1/sessions":      "?owner_node=n1",
}

func fill(pattern, sid string) string {
	r := strings.NewReplacer(":sid", sid, ":iid", sid+"-i", ":pid", "p1", ":nid", "n1", ":rid", "r1", ":key", "lang", "$sid", sid)
	return r.Replace(pattern)
}

// seedRoute gives one route its own session of node n1 (epoch 1): an interaction with a
// party and user data, and a pending request, so that what one route's allowed calls change
// does not decide another route's answers.
func seedRoute(t *testing.T, base, admin, sid string) {
	t.Helper()
	for _, s := range []struct{ method, path, body string }{
		{"POST", "/v1/nodes", `{"node_id":"n1"}`},
		{"POST", "/v1/sessions", `{"session_id":"` + sid + `","owner_node":"n1"}`},
		{"POST", "/v1/sessions/" + sid + "/interactions", `{"interaction_id":"` + sid + `-i","media":"voice","type":"inbound",
			"parties":[{"party_id":"p1","resource":"7001","state":"alerting"}],"udata":{"lang":"en"}}`},
		{"POST", "/v1/sessions/" + sid + "/requests", `{"request_id":"r1","action":"accept","interaction_id":"` + sid + `-i","resource":"7001","timeout":"1h"}`},
	} {
		if a := call(t, base, s.method, s.path, admin, s.body, nil); a.status >= 300 {
			t.Fatalf("seeding %s %s: %+v", s.method, s.path, a)
		}
	}
}

// Every route × {no token, a bad one, an expired one, a revoked one, each role}: the status
// and error code the rule table gives, and nothing written when the request is refused.
func TestAccessRouteByCredential(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	base := authServer(t, pool, auth.VerifierConfig{})
	creds := makeCredentials(t, pool)
	rules := api.AccessRules()
	routes := make([]string, 0, len(rules))
	for k := range rules {
		routes = append(routes, k)
	}
	sort.Strings(routes)

	cases := 0
	for i, route := range routes {
		rule := rules[route]
		method, pattern, _ := strings.Cut(route, " ")
		sid := fmt.Sprintf("s%03d", i)
		seedRoute(t, base, creds.tokens["admin"], sid)
		path := fill(pattern, sid) + routeQueries[route]
		body := fill(routeBodies[route], sid)
		header := map[string]string{api.EpochHeader: "1"}
		for _, cred := range creds.order {
			cases++
			allowed := rule.Public || slices.Contains(rule.Roles, auth.Role(cred))
			before := ""
			if !allowed {
				before = fingerprint(t, pool)
			}
			a := call(t, base, method, path, creds.tokens[cred], body, header)
			switch {
			case allowed:
				if a.status == 401 || a.status == 403 || a.status == 428 || a.status == 429 || a.status >= 500 {
					t.Errorf("%s as %s: refused %d %s: %s", route, cred, a.status, a.code, a.msg)
				}
			case slices.Contains(auth.Roles, auth.Role(cred)):
				if a.status != 403 || a.code != "forbidden" {
					t.Errorf("%s as %s: %d %s, want 403 forbidden", route, cred, a.status, a.code)
				}
			default:
				if a.status != 401 || a.code != "unauthenticated" || !strings.HasPrefix(a.challenge, "Bearer") {
					t.Errorf("%s as %s: %d %s %q, want 401 unauthenticated with WWW-Authenticate: Bearer", route, cred, a.status, a.code, a.challenge)
				}
				if (cred == "expired" || cred == "revoked") && !strings.Contains(a.msg, cred) {
					t.Errorf("%s as %s: the message %q does not say %s", route, cred, a.msg, cred)
				}
			}
			if !allowed {
				if after := fingerprint(t, pool); after != before {
					t.Errorf("%s as %s was refused but changed the database", route, cred)
				}
			}
		}
	}
	t.Logf("%d route × credential cases (%d routes × %d credentials: %s)", cases, len(routes), len(creds.order),
		strings.Join(creds.order, ", "))
}

// Every route served has an access rule and every rule a route: a route added without a
// rule fails here (and api.New refuses to build the handler).
func TestEveryRouteHasAnAccessRule(t *testing.T) {
	t.Parallel()
	rules := api.AccessRules()
	served := map[string]bool{}
	for _, r := range api.New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{}).Routes() {
		key := r.Method + " " + r.Path
		served[key] = true
		if _, ok := rules[key]; !ok {
			t.Errorf("route %s has no access rule (api/access.go)", key)
		}
	}
	for key, rule := range rules {
		if !served[key] {
			t.Errorf("the access rule for %s names no route", key)
		}
		if !rule.Public && !slices.Contains(rule.Roles, auth.RoleAdmin) {
			t.Errorf("%s: admin may do everything, but not this", key)
		}
	}
}

// What a routing node may do is bounded by its node and its sessions' leases; the media
// side answers requests.
func TestAccessOfNodesAndAdapters(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	base := authServer(t, pool, auth.VerifierConfig{})
	creds := makeCredentials(t, pool)
	admin, n1, n2, adapter := creds.tokens["admin"], creds.tokens["node"], creds.tokens["node-n2"], creds.tokens["adapter"]
	seedRoute(t, base, admin, "s1")
	if a := call(t, base, "POST", "/v1/nodes", n2, `{"node_id":"n2"}`, nil); a.status != 200 {
		t.Fatalf("n2 registers: %+v", a)
	}
	epoch1 := map[string]string{api.EpochHeader: "1"}
	party := "/v1/sessions/s1/interactions/s1-i/parties/p1"
	tests := []struct {
		name, token, method, path, body string
		header                          map[string]string
		status                          int
		code                            string
	}{
		{"a node writes a session another node owns", n2, "PATCH", party, `{"state":"established"}`, epoch1, 403, "forbidden"},
		{"a node reads a session another node owns", n2, "GET", "/v1/sessions/s1", "", nil, 403, "forbidden"},
		{"a node writes without its epoch", n1, "PATCH", party, `{"state":"established"}`, nil, 428, "epoch_required"},
		{"a node writes with an epoch that is not the session's", n1, "PATCH", party, `{"state":"established"}`,
			map[string]string{api.EpochHeader: "7"}, 409, "lease_lost"},
		{"a node heartbeats as another node", n1, "POST", "/v1/nodes/n2/heartbeat", "", nil, 403, "forbidden"},
		{"a node leaves as another node", n1, "POST", "/v1/nodes/n2/leave", "", nil, 403, "forbidden"},
		{"a node registers as another node", n1, "POST", "/v1/nodes", `{"node_id":"n2"}`, nil, 403, "forbidden"},
		{"a node hides another node in a repeated field", n1, "POST", "/v1/nodes", `{"node_id":"n1","NODE_ID":"n2"}`, nil, 403, "forbidden"},
		{"a node claims for another node", n1, "POST", "/v1/sessions/s1/claim", `{"node_id":"n2"}`, nil, 403, "forbidden"},
		{"a node makes a session for another node", n1, "POST", "/v1/sessions", `{"session_id":"x","owner_node":"n2"}`, nil, 403, "forbidden"},
		{"a node reads another node's stream", n1, "GET", "/v1/events?node_id=n2", "", nil, 403, "forbidden"},
		{"a node reads every node's events", n1, "GET", "/v1/events", "", nil, 403, "forbidden"},
		{"a node answers an action request", n1, "POST", "/v1/sessions/s1/requests/r1/outcome", `{"result":"done"}`, nil, 403, "forbidden"},
		{"the adapter answers an action request", adapter, "POST", "/v1/sessions/s1/requests/r1/outcome", `{"result":"done"}`, nil, 200, ""},
		{"the owner writes with its epoch", n1, "PATCH", party, `{"state":"held"}`, epoch1, 200, ""},
		{"the owner reads its node's events", n1, "GET", "/v1/events?node_id=n1", "", nil, 200, ""},
		{"the owner reads its session's events", n1, "GET", "/v1/events?session_id=s1", "", nil, 200, ""},
		{"the owner heartbeats", n1, "POST", "/v1/nodes/n1/heartbeat", "", nil, 200, ""},
	}
	for _, tc := range tests {
		before := fingerprint(t, pool)
		a := call(t, base, tc.method, tc.path, tc.token, tc.body, tc.header)
		if a.status != tc.status || a.code != tc.code {
			t.Errorf("%s: %d %s (%s), want %d %s", tc.name, a.status, a.code, a.msg, tc.status, tc.code)
		}
		if tc.status >= 400 && fingerprint(t, pool) != before {
			t.Errorf("%s: refused, but the database changed", tc.name)
		}
	}
}

// A token revoked through one instance is refused by another within 5 s: its listener drops
// the cached token on the NOTIFY. The second instance reads the token from the database once,
// not on every request.
func TestRevokedTokenIsRefusedOnAnotherInstance(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	var tokenReads atomic.Int64
	cfg := pool.Config().Copy()
	cfg.ConnConfig.Tracer = countTokenReads{&tokenReads}
	other, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	listening := make(chan struct{}, 4)
	forgot := make(chan int64, 16)
	base := authServer(t, other, auth.VerifierConfig{
		Listening: func() { listening <- struct{}{} },
		Forgot:    func(id int64) { forgot <- id },
	})
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("the second instance's listener did not start within 10 s")
	}
	store := auth.NewStore(pool)
	secret, tok, err := store.Create(context.Background(), auth.NewToken{Role: auth.RoleReporting, Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if a := call(t, base, "GET", "/v1/nodes", secret, "", nil); a.status != 200 {
			t.Fatalf("before the revocation: %+v", a)
		}
	}
	if n := tokenReads.Load(); n != 1 {
		t.Errorf("20 requests read the token %d times, want once", n)
	}

	revoked := time.Now()
	if _, err := store.Revoke(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for done := false; !done; {
		select {
		case id := <-forgot:
			done = id == tok.ID
		case <-deadline:
			t.Fatal("the second instance did not forget the revoked token within 5 s")
		}
	}
	if a := call(t, base, "GET", "/v1/nodes", secret, "", nil); a.status != 401 || !strings.Contains(a.msg, "revoked") {
		t.Fatalf("after the revocation: %+v", a)
	}
	t.Logf("refused on the second instance %v after the revocation", time.Since(revoked).Round(time.Millisecond))
}

// countTokenReads counts the verifier's reads of a token.
type countTokenReads struct{ n *atomic.Int64 }

func (c countTokenReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "TokenGetByHash") {
		c.n.Add(1)
	}
	return ctx
}

func (countTokenReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Past its role's rate a token gets 429 with Retry-After; past its open streams too.
func TestTokenLimits(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	verifier := auth.NewVerifier(auth.VerifierConfig{Pool: pool})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	stopping := make(chan struct{})
	srv := httptest.NewServer(api.New(service.New(pool, service.Config{}), logger, api.Options{
		Stopping: stopping,
		Access: &api.Access{Verifier: verifier,
			Limiter: auth.NewLimiter(map[auth.Role]auth.Rate{auth.RoleReporting: {PerSecond: 0.001, Burst: 3}}, 1)},
	}))
	t.Cleanup(func() { close(stopping); srv.Close() })
	creds := makeCredentials(t, pool)
	for i := range 3 {
		if a := call(t, srv.URL, "GET", "/v1/nodes", creds.tokens["reporting"], "", nil); a.status != 200 {
			t.Fatalf("request %d within the burst: %+v", i, a)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/nodes", nil)
	req.Header.Set("Authorization", "Bearer "+creds.tokens["reporting"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("past the burst: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Another token of the same role has its own bucket.
	if a := call(t, srv.URL, "GET", "/v1/nodes", creds.tokens["admin"], "", nil); a.status != 200 {
		t.Fatalf("another token: %+v", a)
	}

	// One stream open at a time: the second is refused until the first ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/requests/stream", nil)
	first.Header.Set("Authorization", "Bearer "+creds.tokens["adapter"])
	open, err := http.DefaultClient.Do(first)
	if err != nil || open.StatusCode != 200 {
		t.Fatalf("first stream: %v %v", open, err)
	}
	defer open.Body.Close()
	if a := call(t, srv.URL, "GET", "/v1/requests/stream", creds.tokens["adapter"], "", nil); a.status != 429 || a.code != "rate_limited" {
		t.Fatalf("second stream: %+v", a)
	}
}

// The OpenAPI document's roles per operation (x-roles, and security: [] on the public ones)
// are the rule table's.
func TestOpenAPIRolesAreTheAccessRules(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(api.New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Security   []map[string][]string `json:"security"`
		Components struct {
			SecuritySchemes map[string]struct{ Type, Scheme string } `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Components.SecuritySchemes["bearer"]; s.Type != "http" || s.Scheme != "bearer" || len(doc.Security) == 0 || doc.Security[0]["bearer"] == nil {
		t.Fatalf("the document declares no bearer scheme for every operation: %+v %v", doc.Components.SecuritySchemes, doc.Security)
	}
	for key, rule := range api.AccessRules() {
		method, path, _ := strings.Cut(key, " ")
		raw, ok := doc.Paths[openAPIPath(path)][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s is not in the document", key)
			continue
		}
		var op struct {
			Roles    []auth.Role            `json:"x-roles"`
			Security *[]map[string][]string `json:"security"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatal(err)
		}
		want := rule.Roles
		if rule.Public {
			want = nil
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s is public but its security is not []", key)
			}
		}
		if !slices.Equal(op.Roles, want) {
			t.Errorf("%s: the document's x-roles are %v, the rule's %v", key, op.Roles, want)
		}
	}
}
