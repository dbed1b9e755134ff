package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

// fuzzTarget is the API with its database, driven in-process (no sockets), and what the
// fuzz targets pick from: the routes of the route table.
type fuzzTarget struct {
	handler http.Handler
	doc     *openapi3.T
	routes  []string // METHOD /echo/:path, sorted: a corpus entry's route index keeps its meaning
}

func newFuzzTarget(f *testing.F, keep func(op *openapi3.Operation, path string) bool) *fuzzTarget {
	f.Helper()
	pool := testdb.Pool(f)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := api.New(service.New(pool, service.Config{}), logger, api.Options{Reports: reporting.New(pool)})
	ft := &fuzzTarget{handler: e, doc: loadOpenAPI(f)}
	for _, r := range e.Routes() {
		if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, r.Method) {
			continue
		}
		if op := operation(ft.doc, r.Method, r.Path); op != nil && keep(op, r.Path) {
			ft.routes = append(ft.routes, r.Method+" "+r.Path)
		}
	}
	sort.Strings(ft.routes)
	// The state the valid bodies and path values name (seedHostile's, over the handler).
	for _, s := range []struct{ method, path, body string }{
		{"POST", "/v1/nodes", `{"node_id":"n1","lease":"1m"}`},
		{"POST", "/v1/nodes", `{"node_id":"n2","lease":"1m"}`},
		{"POST", "/v1/sessions", `{"session_id":"s1","owner_node":"n1"}`},
		{"POST", "/v1/sessions/s1/interactions", `{"interaction_id":"i1","media":"voice","type":"inbound",
			"parties":[{"party_id":"p1","resource":"+15550001","state":"established","role":"customer"}],"udata":{"lang":"en"}}`},
		{"POST", "/v1/sessions/s1/requests", `{"request_id":"r1","action":"terminate","interaction_id":"i1"}`},
	} {
		if status, body := ft.serve(s.method, s.path, "", []byte(s.body)); status >= 300 {
			f.Fatalf("seed %s %s: %d %s", s.method, s.path, status, body)
		}
	}
	return ft
}

func (ft *fuzzTarget) serve(method, path, rawQuery string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = path, "", rawQuery
	if p, err := url.PathUnescape(path); err == nil {
		req.URL.Path, req.URL.RawPath = p, path
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	req = req.WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	ft.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// check: never a 5xx, a status the document lists for the route, and a refusal is a JSON
// error with a code and a message.
func (ft *fuzzTarget) check(t *testing.T, route string, status int, body []byte) {
	t.Helper()
	if status >= 500 {
		t.Fatalf("%s: status %d: %.300s", route, status, body)
	}
	method, path, _ := strings.Cut(route, " ")
	if op := operation(ft.doc, method, path); op == nil || op.Responses.Status(status) == nil {
		t.Fatalf("%s: status %d is not in the OpenAPI document: %.300s", route, status, body)
	}
	var e api.ErrorBody
	if status >= 400 && (json.Unmarshal(body, &e) != nil || e.Error.Code == "" || e.Error.Message == "") {
		t.Fatalf("%s: status %d without a JSON error: %.300s", route, status, body)
	}
}

// fillRoute puts the path values in, value (escaped) in the path parameter at index param when
// there is one.
func fillRoute(route string, param int, value string) string {
	parts := strings.Split(strings.SplitN(route, " ", 2)[1], "/")
	n := 0
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = pathValues[name]
			if n == param {
				parts[i] = url.PathEscape(value)
			}
			n++
		}
	}
	return strings.Join(parts, "/")
}

// FuzzDecodeBodies sends bodies to every route that takes one.
func FuzzDecodeBodies(f *testing.F) {
	ft := newFuzzTarget(f, func(op *openapi3.Operation, _ string) bool { return op.RequestBody != nil })
	for i, route := range ft.routes {
		f.Add(uint8(i), []byte(validBodies[route]))
		for _, b := range hostileBodies {
			if len(b.body) < 4096 {
				f.Add(uint8(i), []byte(b.body))
			}
		}
	}
	f.Fuzz(func(t *testing.T, routeIndex uint8, body []byte) {
		route := ft.routes[int(routeIndex)%len(ft.routes)]
		status, answer := ft.serve(strings.Split(route, " ")[0], fillRoute(route, -1, ""), "", body)
		ft.check(t, route, status, answer)
	})
}

// FuzzPathIDs puts a value in one path parameter and a query of every route but the streams
// (which, given good values, stay open).
func FuzzPathIDs(f *testing.F) {
	ft := newFuzzTarget(f, func(_ *openapi3.Operation, path string) bool { return !strings.HasSuffix(path, "/stream") })
	for i := range ft.routes {
		for _, v := range []string{"s1", "\x00", "a\xffb", strings.Repeat("x", 200), "a b", "../x", "%00"} {
			f.Add(uint8(i), uint8(0), v, "limit=10")
		}
		f.Add(uint8(i), uint8(1), "i1", "session_id=%00&limit=0")
		f.Add(uint8(i), uint8(0), "s1", "node_id=n%FF")
	}
	f.Fuzz(func(t *testing.T, routeIndex, param uint8, value, query string) {
		route := ft.routes[int(routeIndex)%len(ft.routes)]
		// A body no route accepts: a write route with good path values changes nothing.
		status, answer := ft.serve(strings.Split(route, " ")[0], fillRoute(route, int(param%3), value), query, []byte(`{"zz":0}`))
		ft.check(t, route, status, answer)
	})
}
