package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/api"
)

// validBodies is a body each route that takes one accepts (given the state seedHostile
// makes): the hostile values go into its fields one at a time, so that what refuses the
// request is the hostile value, not a missing field. A route with a body and none here fails
// the test: a new route must be given one.
var validBodies = map[string]string{
	"POST /v1/sessions":                                                     `{"session_id":"s9","owner_node":"n1"}`,
	"POST /v1/sessions/:sid/claim":                                          `{"node_id":"n2"}`,
	"POST /v1/sessions/:sid/release":                                        `{"node_id":"n1"}`,
	"POST /v1/nodes":                                                        `{"node_id":"n9","lease":"1m"}`,
	"POST /v1/nodes/:nid/leave":                                             `{"to_node":"n2"}`,
	"PUT /v1/sessions/:sid/checkpoint":                                      `{"datamodel":{"a":1},"configuration":["main"],"timers":[{"sendid":"t1","event":"e","delay_ms":1000,"data":{"x":1}}]}`,
	"POST /v1/sessions/:sid/interactions":                                   `{"interaction_id":"i9","media":"voice","type":"inbound","parties":[{"party_id":"p9","resource":"+1555","state":"alerting","role":"customer"}],"udata":{"k":"v"},"genesys":{"g_uid":"g1","xdata":{"a":1}}}`,
	"POST /v1/sessions/:sid/interactions/:iid/notcontrolled":                `{"resultof":"detach"}`,
	"POST /v1/sessions/:sid/interactions/:iid/parties":                      `{"party_id":"p9","resource":"7009","state":"alerting","role":"agent"}`,
	"PATCH /v1/sessions/:sid/interactions/:iid/parties/:pid":                `{"state":"held","hints":{"cause":"hold"}}`,
	"PUT /v1/sessions/:sid/interactions/:iid/udata":                         `{"origin":"media","data":{"k":"v"}}`,
	"PATCH /v1/sessions/:sid/interactions/:iid/udata":                       `{"origin":"media","data":{"k":"v"}}`,
	"PATCH /v1/sessions/:sid/interactions/:iid/genesys":                     `{"g_uid":"g1","contactedaddr":"7000","xdata":{"a":1}}`,
	"POST /v1/sessions/:sid/interactions/:iid/reports/divert":               `{"party_id":"p1","new_destination":"7001","hints":{}}`,
	"POST /v1/sessions/:sid/interactions/:iid/reports/singlesteptransfer":   `{"party_id":"p1","new_destination":"7001","hints":{}}`,
	"POST /v1/sessions/:sid/interactions/:iid/reports/singlestepconference": `{"party_id":"p1","added_party":{"party_id":"p9","resource":"7009","state":"alerting"},"hints":{}}`,
	"POST /v1/sessions/:sid/interactions/:iid/reports/merge":                `{"into_interaction_id":"i2","active_party_id":"p1","held_party_id":"p2","hints":{"merge":"transfer"}}`,
	"POST /v1/sessions/:sid/interactions/:iid/reports/abandoned":            `{"focus_resource":"+15550001","reason":"hangup","hints":{}}`,
	"POST /v1/sessions/:sid/requests":                                       `{"request_id":"r9","action":"terminate","interaction_id":"i1","hints":{},"timeout":"10s"}`,
	"POST /v1/sessions/:sid/requests/:rid/outcome":                          `{"result":"done","hints":{}}`,
}

// pathValues fill each path parameter with something that exists after seedHostile.
var pathValues = map[string]string{"sid": "s1", "iid": "i1", "pid": "p1", "rid": "r1", "nid": "n1", "key": "lang"}

// hostileRequest is one request of the table: a route with one hostile part.
type hostileRequest struct {
	route  string // METHOD /echo/:path
	what   string
	path   string
	header http.Header
	body   []byte
	// want is the status the rule gives; 0: any 4xx (the value is wrong in more than one way).
	want int
}

var (
	hugeID   = strings.Repeat("a", 100<<10)
	deepJSON = strings.Repeat("[", 100) + strings.Repeat("]", 100)
)

// hostilePathValues go into one path parameter at a time (escaped as a client would send);
// idOnly: hostile to an id, a fine user-data key.
var hostilePathValues = []struct {
	what, escaped string
	want          int
	idOnly        bool
}{
	{"NUL", "%00", http.StatusBadRequest, false},
	{"NUL inside", "a%00b", http.StatusBadRequest, false},
	{"byte 0xFF", "%FF", http.StatusBadRequest, false},
	{"truncated UTF-8", "a%C3%28", http.StatusBadRequest, false},
	{"UTF-8 surrogate", "%ED%A0%80", http.StatusBadRequest, false},
	{"100 KB", hugeID, 0, false},
	{"space", "a%20b", http.StatusUnprocessableEntity, true},
	{"slash", "a%2Fb", http.StatusUnprocessableEntity, true},
}

// hostileQueries go into the query of every route; limits only of routes that take one.
var hostileQueries = []struct {
	what, query string
	want        int
	limitOnly   bool
}{
	{"NUL in a value", "session_id=%00", http.StatusBadRequest, false},
	{"NUL in an unread value", "foo=a%00", http.StatusBadRequest, false},
	{"byte 0xFF in a value", "node_id=%FF", http.StatusBadRequest, false},
	{"byte 0xFF in a name", "%FF=1", http.StatusBadRequest, false},
	{"100 KB session id", "session_id=" + hugeID, http.StatusUnprocessableEntity, false},
	{"bad escape", "session_id=%zz", http.StatusBadRequest, false},
	{"limit 0", "limit=0", http.StatusUnprocessableEntity, true},
	{"limit 99999999", "limit=99999999", http.StatusUnprocessableEntity, true},
	{"limit -1", "limit=-1", http.StatusUnprocessableEntity, true},
	{"limit not a number", "limit=ten", http.StatusBadRequest, true},
}

// hostileHeaders: values of headers ixnstore reads. A NUL cannot be sent (net/http refuses
// it on both sides); bytes that are not UTF-8 can.
var hostileHeaders = []struct {
	what, name, value string
}{
	{"byte 0xFF in the epoch", api.EpochHeader, "1\xff"},
	{"byte 0xFF in Last-Event-ID", "Last-Event-ID", "\xff"},
	{"byte 0xFF in Idempotency-Key", "Idempotency-Key", "k\xfe\xff"},
}

// hostileBodies replace a whole body.
var hostileBodies = []struct {
	what, body string
	want       int
}{
	{"null", `null`, http.StatusBadRequest},
	{"array", `[]`, http.StatusBadRequest},
	{"number", `42`, http.StatusBadRequest},
	{"string", `"x"`, http.StatusBadRequest},
	{"truncated", `{"a":`, http.StatusBadRequest},
	{"bytes not UTF-8", "{\"a\":\"\xff\xfe\"}", http.StatusBadRequest},
	{"raw NUL", "{\"a\":\"x\x00y\"}", http.StatusBadRequest},
	{"deep nesting", `{"a":` + deepJSON + `}`, http.StatusBadRequest},
	{"1e400 in an unknown field", `{"zz":1e400}`, http.StatusBadRequest},
	{"2 MB", `{"a":"` + strings.Repeat("x", 2<<20) + `"}`, http.StatusRequestEntityTooLarge},
}

// hostileFields go into one top-level field of a valid body at a time; wrongType is the
// field's own wrong JSON type (an array where it takes anything else, an object for an array).
var hostileFields = []struct {
	what   string
	value  func(wrongType string) string
	want   int
	object int // 1: only into fields whose type is object; 2: only into free-form objects
}{
	{"wrong JSON type", func(w string) string { return w }, http.StatusBadRequest, 0},
	{"escaped NUL", func(string) string { return `"a\u0000b"` }, http.StatusBadRequest, 0},
	{"lone surrogate", func(string) string { return `"\ud800"` }, http.StatusBadRequest, 0},
	{"low surrogate first", func(string) string { return `"\udc00\ud800"` }, http.StatusBadRequest, 0},
	{"bytes not UTF-8", func(string) string { return "\"\xc3\x28\"" }, http.StatusBadRequest, 0},
	{"1e400", func(string) string { return `1e400` }, 0, 0},
	{"-1e400", func(string) string { return `-1e400` }, 0, 0},
	{"deep nesting", func(string) string { return deepJSON }, http.StatusBadRequest, 0},
	{"100 KB string", func(string) string { return `"` + hugeID + `"` }, 0, 0},
	{"1e400 inside", func(string) string { return `{"k":1e400,"l":[-1e400]}` }, http.StatusUnprocessableEntity, 2},
	{"NUL inside", func(string) string { return `{"k":{"l":"\u0000"}}` }, http.StatusBadRequest, 1},
	{"NUL in a key", func(string) string { return `{"\u0000":1}` }, http.StatusBadRequest, 1},
}

// TestHostileInputOnEveryRoute sends the hostile values above to every route the server has
// (path, query and headers), and into the body of every route that takes one: each is
// refused with a 4xx JSON error and changes no row. The statuses seen are checked against
// the OpenAPI document: each must be listed for its route.
func TestHostileInputOnEveryRoute(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	seedHostile(c)
	doc := loadOpenAPI(t)
	codes := doc.Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum
	counts := tableCounter(t, c.pool)
	before := counts()

	var requests []hostileRequest
	for _, r := range api.New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{}).Routes() {
		if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, r.Method) {
			continue
		}
		requests = append(requests, hostileRequestsFor(t, doc, r.Method, r.Path)...)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	observed := map[string]map[int]bool{}
	var tried, fivexx int
	for _, hr := range requests {
		tried++
		status, body := send(t, client, c.base, hr)
		if status >= 500 {
			fivexx++
		}
		if observed[hr.route] == nil {
			observed[hr.route] = map[int]bool{}
		}
		observed[hr.route][status] = true
		var e api.ErrorBody
		switch {
		case status < 400 || status >= 500:
			t.Errorf("%s, %s: status %d, want a 4xx: %.200s", hr.route, hr.what, status, body)
		case hr.want != 0 && status != hr.want:
			t.Errorf("%s, %s: status %d, want %d: %.200s", hr.route, hr.what, status, hr.want, body)
		case json.Unmarshal(body, &e) != nil || e.Error.Code == "" || e.Error.Message == "":
			t.Errorf("%s, %s: status %d without a JSON error of a code and a message: %.200s", hr.route, hr.what, status, body)
		case !slices.Contains(codes, any(e.Error.Code)):
			t.Errorf("%s, %s: error code %q is not one the OpenAPI document lists", hr.route, hr.what, e.Error.Code)
		}
		if after := counts(); !maps.Equal(after, before) {
			t.Fatalf("%s, %s (status %d) changed rows: before %v, after %v", hr.route, hr.what, status, before, after)
		}
	}
	t.Logf("hostile requests tried: %d on %d routes; answered 5xx: %d", tried, len(observed), fivexx)

	for route, statuses := range observed {
		method, path, _ := strings.Cut(route, " ")
		op := operation(doc, method, path)
		if op == nil {
			t.Errorf("%s is not in the OpenAPI document", route)
			continue
		}
		for status := range statuses {
			if op.Responses.Status(status) == nil {
				t.Errorf("%s answers %d, which the OpenAPI document does not list", route, status)
			}
		}
	}
}

// seedHostile: nodes n1 and n2, session s1 owned by n1 with interactions i1 (parties p1, p2)
// and i2, and a pending request r1.
func seedHostile(c *client) {
	c.t.Helper()
	c.ok("POST", "/v1/nodes", `{"node_id":"n1","lease":"1m"}`, http.StatusOK)
	c.ok("POST", "/v1/nodes", `{"node_id":"n2","lease":"1m"}`, http.StatusOK)
	c.seed()
	c.ok("POST", "/v1/sessions/s1/interactions/i1/parties", `{"party_id":"p2","resource":"7002","state":"held","role":"agent"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s1/interactions", `{"interaction_id":"i2","media":"voice","type":"consult"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"r1","action":"terminate","interaction_id":"i1"}`, http.StatusAccepted)
}

// hostileRequestsFor makes the table's requests for one route.
func hostileRequestsFor(t *testing.T, doc *openapi3.T, method, route string) []hostileRequest {
	t.Helper()
	key := method + " " + route
	op := operation(doc, method, route)
	if op == nil {
		t.Errorf("%s is not in the OpenAPI document", key)
		return nil
	}
	var bodySchema *openapi3.Schema
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			bodySchema = mt.Schema.Value
		}
	}
	base := ""
	if bodySchema != nil {
		var ok bool
		if base, ok = validBodies[key]; !ok {
			t.Errorf("%s takes a body: give it a valid one in validBodies", key)
			return nil
		}
	}
	fill := func(override map[string]string) string {
		parts := strings.Split(route, "/")
		for i, p := range parts {
			if name, ok := strings.CutPrefix(p, ":"); ok {
				v, ok := override[name]
				if !ok {
					v = pathValues[name]
				}
				parts[i] = v
			}
		}
		return strings.Join(parts, "/")
	}
	var out []hostileRequest
	add := func(what, path string, header http.Header, body string, want int) {
		out = append(out, hostileRequest{route: key, what: what, path: path, header: header, body: []byte(body), want: want})
	}

	for _, p := range strings.Split(route, "/") {
		name, ok := strings.CutPrefix(p, ":")
		if !ok {
			continue
		}
		for _, v := range hostilePathValues {
			if v.idOnly && name == "key" {
				continue
			}
			add("path "+name+": "+v.what, fill(map[string]string{name: v.escaped}), nil, base, v.want)
		}
	}
	takesLimit := false
	for _, p := range op.Parameters {
		if p.Value != nil && p.Value.Name == "limit" && p.Value.In == "query" {
			takesLimit = true
		}
	}
	for _, q := range hostileQueries {
		if q.limitOnly && !takesLimit {
			continue
		}
		add("query "+q.what, fill(nil)+"?"+q.query, nil, base, q.want)
	}
	for _, h := range hostileHeaders {
		add("header "+h.what, fill(nil), http.Header{h.name: {h.value}}, base, http.StatusBadRequest)
	}
	if bodySchema == nil {
		return out
	}
	for _, b := range hostileBodies {
		add("body: "+b.what, fill(nil), nil, b.body, b.want)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(base), &fields); err != nil {
		t.Fatalf("%s: valid body: %v", key, err)
	}
	names := make([]string, 0, len(bodySchema.Properties))
	for name := range bodySchema.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		prop := bodySchema.Properties[name].Value
		isObject := prop != nil && prop.Type.Is("object")
		freeForm := isObject && len(prop.Properties) == 0
		wrong := `[]`
		if prop != nil && prop.Type.Is("array") {
			wrong = `{}`
		}
		if prop == nil || prop.Type == nil || len(*prop.Type) == 0 {
			wrong = "" // any JSON: no wrong type
		}
		for _, f := range hostileFields {
			if f.object == 1 && !isObject || f.object == 2 && !freeForm || f.value(wrong) == "" {
				continue
			}
			add("body field "+name+": "+f.what, fill(nil), nil, withField(base, name, f.value(wrong)), f.want)
		}
	}
	return out
}

// withField is body with field name set to the raw JSON value, written out by hand so that
// bytes that are not JSON (or not UTF-8) reach the server as they are.
func withField(body, name, value string) string {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal([]byte(body), &fields)
	delete(fields, name)
	var b strings.Builder
	b.WriteString(`{"` + name + `":` + value)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(`,"` + k + `":` + string(fields[k]))
	}
	b.WriteString("}")
	return b.String()
}

func operation(doc *openapi3.T, method, route string) *openapi3.Operation {
	item := doc.Paths.Value(openAPIPath(route))
	if item == nil {
		return nil
	}
	return item.GetOperation(method)
}

func send(t *testing.T, client *http.Client, base string, hr hostileRequest) (int, []byte) {
	t.Helper()
	var body io.Reader
	if len(hr.body) > 0 {
		body = bytes.NewReader(hr.body)
	}
	req, err := http.NewRequest(strings.Split(hr.route, " ")[0], base+hr.path, body)
	if err != nil {
		t.Fatalf("%s, %s: %v", hr.route, hr.what, err)
	}
	for k, v := range hr.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s, %s: %v", hr.route, hr.what, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s, %s: %v", hr.route, hr.what, err)
	}
	return res.StatusCode, raw
}

// tableCounter counts the rows of every table of the application's schema, those added later
// included.
func tableCounter(t *testing.T, pool *pgxpool.Pool) func() map[string]int64 {
	t.Helper()
	ctx := context.Background()
	var query string
	err := pool.QueryRow(ctx, `
SELECT string_agg(format('SELECT %L, count(*) FROM %I', table_name, table_name), ' UNION ALL ')
  FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
   AND table_name NOT IN ('goose_db_version', 'schema_code')`).Scan(&query)
	if err != nil {
		t.Fatal(err)
	}
	return func() map[string]int64 {
		rows, err := pool.Query(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			out[name] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
}
