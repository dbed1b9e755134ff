package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type client struct {
	t    *testing.T
	base string
	pool *pgxpool.Pool
	// calls, when set, gets each request sent and the status it was answered with.
	calls func(method, path string, status int)
}

func newServer(t *testing.T) *client {
	t.Helper()
	pool := testdb.Pool(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.New(service.New(pool, service.Config{}), logger, api.Options{Reports: reporting.New(pool)}))
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL, pool: pool}
}

// do sends a request and decodes a JSON answer into out (when not nil); it returns the status.
func (c *client) do(method, path string, body io.Reader, header http.Header, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	if c.calls != nil {
		c.calls(method, req.URL.Path, res.StatusCode)
	}
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %.300s", method, path, raw)
		}
	}
	return res.StatusCode
}

func (c *client) json(method, path, body string, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return c.do(method, path, r, nil, out)
}

func (c *client) ok(method, path, body string, want int) {
	c.t.Helper()
	var answer json.RawMessage
	if got := c.json(method, path, body, &answer); got != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, answer)
	}
}

func (c *client) counts() db.StoreCountsRow {
	c.t.Helper()
	n, err := db.New(c.pool).StoreCounts(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// seed: session s1 with interaction i1, presented, customer p1 established.
func (c *client) seed() {
	c.t.Helper()
	c.ok("POST", "/v1/sessions", `{"session_id":"s1","owner_node":"n1"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s1/interactions", `{"interaction_id":"i1","media":"voice","type":"inbound",
		"parties":[{"party_id":"p1","resource":"+15550001","state":"established","role":"customer"}],
		"udata":{"lang":"en"}}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s1/interactions/i1/present", "", http.StatusOK)
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	var added api.EventsResponse
	if got := c.json("POST", "/v1/sessions/s1/interactions/i1/parties", `{"party_id":"p2","resource":"7001","state":"alerting","role":"agent"}`, &added); got != http.StatusCreated {
		t.Fatalf("status %d", got)
	}
	if len(added.Events) != 1 || added.Events[0].Name != "interaction.partyadded" || added.Events[0].Seq != 3 {
		t.Fatalf("events %+v", added.Events)
	}
	c.ok("PATCH", "/v1/sessions/s1/interactions/i1/parties/p2", `{"state":"established","hints":{"answered":true}}`, http.StatusOK)
	c.ok("PATCH", "/v1/sessions/s1/interactions/i1/udata", `{"origin":"media","data":{"vip":true}}`, http.StatusOK)

	var state service.SessionState
	c.json("GET", "/v1/sessions/s1", "", &state)
	if len(state.Interactions) != 1 || len(state.Interactions[0].Parties) != 2 || len(state.Interactions[0].UserData) != 2 {
		t.Fatalf("state %+v", state)
	}
	var page api.EventsResponse
	c.json("GET", "/v1/sessions/s1/events?after=2", "", &page)
	var names []string
	for _, e := range page.Events {
		names = append(names, e.Name)
	}
	if strings.Join(names, " ") != "interaction.partyadded interaction.partystatechanged interaction.udata.changed" {
		t.Errorf("events after 2: %v", names)
	}
	c.json("GET", "/v1/sessions/s1/events?after=3&limit=1", "", &page)
	if len(page.Events) != 1 || page.Events[0].Seq != 4 {
		t.Errorf("events after 3, limit 1: %+v", page.Events)
	}
}

// Each bad request gets its status and error code, and writes nothing.
func TestBadRequestsAreRefusedWhole(t *testing.T) {
	t.Parallel()
	big := `{"origin":"media","data":{"blob":"` + strings.Repeat("x", 2<<20) + `"}}`
	tests := []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", "/v1/sessions/s1/interactions", `{"interaction_id":`, nil, 400, "malformed_json"},
		{"not an object", "POST", "/v1/sessions/s1/interactions", `[1,2]`, nil, 400, "malformed_json"},
		{"wrong type", "POST", "/v1/sessions/s1/interactions", `{"interaction_id":42,"media":"voice","type":"inbound"}`, nil, 400, "malformed_json"},
		{"unknown field", "POST", "/v1/sessions/s1/interactions", `{"interaction_id":"i2","media":"voice","type":"inbound","colour":"red"}`, nil, 400, "malformed_json"},
		{"trailing data", "PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"held"} {"state":"held"}`, nil, 400, "malformed_json"},
		{"missing body", "POST", "/v1/sessions/s1/interactions/i1/parties", ``, nil, 400, "malformed_json"},
		{"2 MB body", "PUT", "/v1/sessions/s1/interactions/i1/udata", big, nil, 413, "body_too_large"},
		{"invalid values", "POST", "/v1/sessions/s1/interactions", `{"interaction_id":"i 2","media":"voice","type":"sideways"}`, nil, 422, "invalid_value"},
		{"invalid party state", "PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"dancing"}`, nil, 422, "invalid_value"},
		{"NUL in user data", "PATCH", "/v1/sessions/s1/interactions/i1/udata", `{"origin":"media","data":{"k":"a\u0000b"}}`, nil, 400, "malformed_json"},
		{"NUL in hints", "PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"held","hints":{"k":"\u0000"}}`, nil, 400, "malformed_json"},
		{"a number beyond numeric", "PATCH", "/v1/sessions/s1/interactions/i1/udata", `{"origin":"media","data":{"k":1e400000}}`, nil, 422, "invalid_value"},
		{"hints not an object", "PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"held","hints":"x"}`, nil, 400, "malformed_json"},
		{"unknown session", "POST", "/v1/sessions/nope/interactions/i1/present", ``, nil, 404, "not_found"},
		{"unknown interaction", "DELETE", "/v1/sessions/s1/interactions/nope", ``, nil, 404, "not_found"},
		{"unknown party", "DELETE", "/v1/sessions/s1/interactions/i1/parties/nope", ``, nil, 404, "not_found"},
		{"unknown session state", "GET", "/v1/sessions/nope", ``, nil, 404, "not_found"},
		{"unknown route", "GET", "/v1/nothing", ``, nil, 404, "not_found"},
		{"wrong method", "PUT", "/v1/sessions/s1/end", ``, nil, 405, "method_not_allowed"},
		{"illegal transition", "POST", "/v1/sessions/s1/interactions/i1/present", ``, nil, 409, "invalid_transition"},
		{"duplicate", "POST", "/v1/sessions", `{"session_id":"s1"}`, nil, 409, "conflict"},
		{"stale epoch", "POST", "/v1/sessions/s1/interactions/i1/notcontrolled", ``, http.Header{"X-Lease-Epoch": {"9"}}, 409, "lease_lost"},
		{"malformed epoch", "POST", "/v1/sessions/s1/interactions/i1/notcontrolled", ``, http.Header{"X-Lease-Epoch": {"one"}}, 400, "malformed_header"},
		{"malformed after", "GET", "/v1/sessions/s1/events?after=-1", ``, nil, 422, "invalid_value"},
		{"after not a number", "GET", "/v1/sessions/s1/events?after=x", ``, nil, 400, "malformed_query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newServer(t)
			c.seed()
			before := c.counts()
			var answer api.ErrorBody
			got := c.do(tt.method, tt.path, strings.NewReader(tt.body), tt.header, &answer)
			if got != tt.status || answer.Error.Code != tt.code {
				t.Errorf("status %d code %q, want %d %q (%s)", got, answer.Error.Code, tt.status, tt.code, answer.Error.Message)
			}
			if answer.Error.Message == "" {
				t.Error("the error has no message")
			}
			if after := c.counts(); after != before {
				t.Errorf("rows changed: before %+v, after %+v", before, after)
			}
		})
	}
}

// The OpenAPI document served by the binary describes every route, and no route that is not
// there.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if got := c.json("GET", "/v1/openapi.json", "", &doc); got != http.StatusOK || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("status %d, openapi %q", got, doc.OpenAPI)
	}
	if got := c.do("GET", "/v1/openapi.yaml", nil, nil, nil); got != http.StatusOK {
		t.Fatalf("yaml: status %d", got)
	}

	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				described[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	served := map[string]bool{}
	for _, r := range api.New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{}).Routes() {
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	for route := range served {
		if !described[route] {
			t.Errorf("route %s is not in the OpenAPI document", route)
		}
	}
	for route := range described {
		if !served[route] {
			t.Errorf("the OpenAPI document describes %s, which is not served", route)
		}
	}
}

// openAPIPath turns echo's /a/:id into OpenAPI's /a/{id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}
