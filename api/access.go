package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/internal/auth"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// Access decides who may call the API: the tokens and the limits per token. nil in Options:
// anyone may do anything (the tests that are not about access, and serve --auth=off).
type Access struct {
	Verifier *auth.Verifier
	Limiter  *auth.Limiter
}

// nodeCheck is what a node token must show besides its role, on one route.
type nodeCheck int

const (
	// nodeFree: the role is enough (and where node is not among the roles, nothing more
	// is asked of a node token: it is refused).
	nodeFree nodeCheck = iota
	// nodeSelfPath: the route's :nid is the token's node.
	nodeSelfPath
	// nodeSelfBody: the body's node field (the rule's field) is the token's node.
	nodeSelfBody
	// nodeSelfQuery: the query's node parameter (the rule's field) is the token's node.
	nodeSelfQuery
	// nodeReads: the route's session (:sid) is owned by the token's node.
	nodeReads
	// nodeWrites: the request carries X-Lease-Epoch (428 without) and the session is owned
	// by the token's node at that epoch.
	nodeWrites
	// nodeFeed: the stream or page is filtered to the token's node (?node_id=) or to a
	// session it owns (?session_id=).
	nodeFeed
)

// Rule is who may call one route.
type Rule struct {
	// Public routes need no token: health, readiness, the API's own description.
	Public bool
	// Roles may call the route.
	Roles []auth.Role
	node  nodeCheck
	// field names the body's node field for nodeSelfBody, the query's for nodeSelfQuery.
	field string
	// stream: the route holds its answer open; it counts against the token's open streams.
	stream bool
}

var (
	nodeAdmin    = []auth.Role{auth.RoleNode, auth.RoleAdmin}
	mediaWrite   = []auth.Role{auth.RoleNode, auth.RoleAdapter, auth.RoleAdmin}
	adapterAdmin = []auth.Role{auth.RoleAdapter, auth.RoleAdmin}
	readers      = []auth.Role{auth.RoleNode, auth.RoleReporting, auth.RoleAdmin}
	allReaders   = []auth.Role{auth.RoleNode, auth.RoleAdapter, auth.RoleReporting, auth.RoleAdmin}
	reportReader = []auth.Role{auth.RoleReporting, auth.RoleAdmin}
)

// accessRules is who may call each route, keyed by method and path as registered with echo.
// It is the one place this is decided: New refuses to start with a route missing from it,
// and the OpenAPI document's x-roles are checked against it (access_test.go).
var accessRules = map[string]Rule{
	"GET /healthz":          {Public: true},
	"GET /readyz":           {Public: true},
	"GET /metrics":          {Public: true},
	"GET /v1/openapi.json":  {Public: true},
	"GET /v1/openapi.yaml":  {Public: true},
	"POST /v1/sessions":     {Roles: nodeAdmin, node: nodeSelfBody, field: "owner_node"},
	"GET /v1/sessions/:sid": {Roles: allReaders, node: nodeReads},
	// A node lists its own sessions (to pick up where it left off after a restart).
	"GET /v1/sessions": {Roles: readers, node: nodeSelfQuery, field: "owner_node"},
	// Orphans are listed for nodes to claim them; a claim is for the claimer itself.
	"GET /v1/sessions/orphaned":                {Roles: readers, node: nodeFree},
	"POST /v1/sessions/:sid/claim":             {Roles: nodeAdmin, node: nodeSelfBody, field: "node_id"},
	"POST /v1/sessions/:sid/release":           {Roles: nodeAdmin, node: nodeWrites},
	"POST /v1/nodes":                           {Roles: nodeAdmin, node: nodeSelfBody, field: "node_id"},
	"GET /v1/nodes":                            {Roles: reportReader},
	"POST /v1/nodes/:nid/heartbeat":            {Roles: nodeAdmin, node: nodeSelfPath},
	"POST /v1/nodes/:nid/leave":                {Roles: nodeAdmin, node: nodeSelfPath},
	"POST /v1/sessions/:sid/end":               {Roles: nodeAdmin, node: nodeWrites},
	"GET /v1/sessions/:sid/events":             {Roles: readers, node: nodeReads},
	"PUT /v1/sessions/:sid/checkpoint":         {Roles: nodeAdmin, node: nodeWrites},
	"GET /v1/sessions/:sid/checkpoint":         {Roles: readers, node: nodeReads},
	"GET /v1/sessions/:sid/checkpoint/history": {Roles: readers, node: nodeReads},
	"GET /v1/events":                           {Roles: readers, node: nodeFeed},
	"GET /v1/events/stream":                    {Roles: readers, node: nodeFeed, stream: true},
	// The console's overview: every node and session at once, so not a node's to read.
	"GET /v1/overview":               {Roles: reportReader},
	"GET /v1/sessions/:sid/requests": {Roles: readers, node: nodeReads},
	"GET /v1/sessions/:sid/owners":   {Roles: readers, node: nodeReads},

	"POST /v1/sessions/:sid/interactions":                                   {Roles: mediaWrite, node: nodeWrites},
	"GET /v1/sessions/:sid/interactions/:iid":                               {Roles: allReaders, node: nodeReads},
	"DELETE /v1/sessions/:sid/interactions/:iid":                            {Roles: mediaWrite, node: nodeWrites},
	"POST /v1/sessions/:sid/interactions/:iid/present":                      {Roles: nodeAdmin, node: nodeWrites},
	"POST /v1/sessions/:sid/interactions/:iid/notcontrolled":                {Roles: nodeAdmin, node: nodeWrites},
	"POST /v1/sessions/:sid/interactions/:iid/parties":                      {Roles: mediaWrite, node: nodeWrites},
	"PATCH /v1/sessions/:sid/interactions/:iid/parties/:pid":                {Roles: mediaWrite, node: nodeWrites},
	"DELETE /v1/sessions/:sid/interactions/:iid/parties/:pid":               {Roles: mediaWrite, node: nodeWrites},
	"PUT /v1/sessions/:sid/interactions/:iid/udata":                         {Roles: mediaWrite, node: nodeWrites},
	"PATCH /v1/sessions/:sid/interactions/:iid/udata":                       {Roles: mediaWrite, node: nodeWrites},
	"PATCH /v1/sessions/:sid/interactions/:iid/genesys":                     {Roles: mediaWrite, node: nodeWrites},
	"DELETE /v1/sessions/:sid/interactions/:iid/udata/:key":                 {Roles: mediaWrite, node: nodeWrites},
	"POST /v1/sessions/:sid/interactions/:iid/reports/divert":               {Roles: adapterAdmin},
	"POST /v1/sessions/:sid/interactions/:iid/reports/singlesteptransfer":   {Roles: adapterAdmin},
	"POST /v1/sessions/:sid/interactions/:iid/reports/singlestepconference": {Roles: adapterAdmin},
	"POST /v1/sessions/:sid/interactions/:iid/reports/merge":                {Roles: adapterAdmin},
	"POST /v1/sessions/:sid/interactions/:iid/reports/abandoned":            {Roles: adapterAdmin},

	"GET /v1/reports/interactions":            {Roles: reportReader},
	"GET /v1/reports/interactions/:iid":       {Roles: reportReader},
	"GET /v1/reports/aggregates":              {Roles: reportReader},
	"GET /v1/reports/interactions/:iid/state": {Roles: reportReader},
	"GET /v1/reports/audit":                   {Roles: reportReader},

	"POST /v1/sessions/:sid/requests":              {Roles: nodeAdmin, node: nodeWrites},
	"GET /v1/sessions/:sid/requests/:rid":          {Roles: allReaders, node: nodeReads},
	"POST /v1/sessions/:sid/requests/:rid/outcome": {Roles: adapterAdmin},
	"GET /v1/requests":                             {Roles: adapterAdmin},
	"GET /v1/requests/stream":                      {Roles: adapterAdmin, stream: true},
}

// AccessRules returns the rule of each route ("METHOD /path" as registered): for the tests and
// for the document's x-roles.
func AccessRules() map[string]Rule {
	out := make(map[string]Rule, len(accessRules))
	for k, v := range accessRules {
		out[k] = v
	}
	return out
}

// routeKey names a route in accessRules.
func routeKey(method, path string) string { return method + " " + path }

// checkRules refuses a handler with a route that has no access rule: a route added without
// one would otherwise be open to every token, or to none, by accident.
func checkRules(e *echo.Echo) {
	for _, r := range e.Routes() {
		if _, ok := accessRules[routeKey(r.Method, r.Path)]; !ok {
			panic(fmt.Sprintf("api: route %s %s has no access rule in accessRules (api/access.go)", r.Method, r.Path))
		}
	}
}

const principalKey = "ixnstore.principal"

// PrincipalOf returns who made the request, when access is on and the route is not public.
func PrincipalOf(c echo.Context) (auth.Principal, bool) {
	p, ok := c.Get(principalKey).(auth.Principal)
	return p, ok
}

// middleware applies the rules. It runs after routing (echo's Use), so c.Path() is the route
// as registered; a request that matched no route passes on to its 404 or 405.
func (a *Access) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			rule, ok := accessRules[routeKey(c.Request().Method, c.Path())]
			if !ok || rule.Public {
				return next(c)
			}
			secret, fromCookie := credential(c.Request())
			if fromCookie && !safeMethod(c.Request().Method) && c.Request().Header.Get(ConsoleHeader) == "" {
				return fault.Errorf(fault.ErrForbidden, "a change authenticated by the console's cookie must carry the %s header, which a page of another site cannot send", ConsoleHeader)
			}
			p, err := a.Verifier.Verify(c.Request().Context(), secret)
			if err != nil {
				if errors.Is(err, fault.ErrUnauthenticated) {
					challenge(c, err)
				}
				return err
			}
			if ok, wait := a.Limiter.Allow(p); !ok {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds()))))
				return fault.Errorf(fault.ErrRateLimited, "token %s sent more requests than its role's rate allows", p.Name)
			}
			if err := a.allowed(c, rule, p); err != nil {
				return err
			}
			c.Set(principalKey, p)
			if rule.stream {
				release, ok := a.Limiter.OpenStream(p)
				if !ok {
					return fault.Errorf(fault.ErrRateLimited, "token %s has %d streams open already, the most it may", p.Name, a.Limiter.Streams())
				}
				defer release()
			}
			return next(c)
		}
	}
}

// ConsoleCookie is the cookie the console's login sets (package console): the token itself,
// HttpOnly and SameSite=Strict, so that the console's own requests carry it where a browser
// cannot add a header (an EventSource, a download link).
const ConsoleCookie = "ixnstore_console"

// ConsoleHeader must be on a change (any method but GET, HEAD, OPTIONS) authenticated by the
// cookie alone: SameSite=Strict keeps the cookie off requests from other sites already, and a
// custom header is what a form or a link of another site cannot add (a script could only with
// a CORS preflight, which this server never grants).
const ConsoleHeader = "X-Ixnstore-Console"

// credential is the request's token: the Authorization header's, else the console's cookie
// (fromCookie then true). A request that carries both is judged by its header.
func credential(r *http.Request) (secret string, fromCookie bool) {
	if t := bearer(r); t != "" || r.Header.Get(echo.HeaderAuthorization) != "" {
		return t, false
	}
	if ck, err := r.Cookie(ConsoleCookie); err == nil && ck.Value != "" {
		return ck.Value, true
	}
	return "", false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// bearer is the token of an Authorization: Bearer header; empty without one.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// challenge says how to authenticate (RFC 6750): a request without a token is told the
// scheme, one with a bad token also that the token is the problem.
func challenge(c echo.Context, err error) {
	v := `Bearer realm="ixnstore"`
	if bearer(c.Request()) != "" {
		v += `, error="invalid_token", error_description="` + strings.ReplaceAll(err.Error(), `"`, "'") + `"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, v)
}

func (a *Access) allowed(c echo.Context, rule Rule, p auth.Principal) error {
	if !slices.Contains(rule.Roles, p.Role) {
		return fault.Errorf(fault.ErrForbidden, "a %s token may not %s %s", p.Role, c.Request().Method, c.Path())
	}
	if p.Role != auth.RoleNode {
		return nil
	}
	switch rule.node {
	case nodeSelfPath:
		return a.sameNode(p, c.Param("nid"), "act as node")
	case nodeSelfBody:
		id, err := bodyField(c, rule.field)
		if err != nil {
			return err
		}
		return a.sameNode(p, id, rule.field+" must name its own node, not")
	case nodeSelfQuery:
		return a.sameNode(p, c.QueryParam(rule.field), "list the sessions of node")
	case nodeReads:
		return a.ownsNow(c, p, c.Param("sid"))
	case nodeWrites:
		return a.ownsAtEpoch(c, p)
	case nodeFeed:
		if c.QueryParam("node_id") == p.NodeID {
			return nil
		}
		if sid := c.QueryParam("session_id"); sid != "" && c.QueryParam("node_id") == "" {
			return a.ownsNow(c, p, sid)
		}
		return fault.Errorf(fault.ErrForbidden, "a node token reads its own node's events: add node_id=%s (or session_id= of a session it owns)", p.NodeID)
	}
	return nil
}

func (a *Access) sameNode(p auth.Principal, id, what string) error {
	if id == p.NodeID {
		return nil
	}
	return fault.Errorf(fault.ErrForbidden, "the token of node %s may not %s %q", p.NodeID, what, id)
}

// ownsNow: a node reads only the sessions it owns. A session that does not exist is left to
// the handler's 404.
func (a *Access) ownsNow(c echo.Context, p auth.Principal, sid string) error {
	h, found, err := a.Verifier.Holder(c.Request().Context(), sid)
	if err != nil || !found || h.Node == p.NodeID {
		return err
	}
	return fault.Errorf(fault.ErrForbidden, "session %s is not owned by node %s", sid, p.NodeID)
}

// ownsAtEpoch: a node writes only to the sessions it owns, fenced by the epoch it holds.
func (a *Access) ownsAtEpoch(c echo.Context, p auth.Principal) error {
	epoch, err := epochOf(c)
	if err != nil {
		return err
	}
	if epoch == nil {
		return fault.Errorf(fault.ErrEpochRequired, "a routing node's write must carry the lease epoch it holds in %s", EpochHeader)
	}
	sid := c.Param("sid")
	holder, current, err := a.Verifier.HolderAt(c.Request().Context(), sid, *epoch)
	if err != nil {
		return err
	}
	if !current {
		// Not the session's epoch now (or no such session): the store refuses the write
		// itself with lease_lost (or not_found), in the same words as without access rules.
		return nil
	}
	if holder != p.NodeID {
		return fault.Errorf(fault.ErrForbidden, "session %s is not owned by node %s", sid, p.NodeID)
	}
	return nil
}

// bodyField reads the JSON body's node field and puts the body back for the handler. The
// handler's decoder matches field names without regard to case and keeps the last of
// repeated ones, so every spelling of the field must name the same node, or none is taken.
// A body that is not a JSON object gives "": refused, as the handler would refuse it too.
func bodyField(c echo.Context, field string) (string, error) {
	req := c.Request()
	if req.Body == nil {
		return "", nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return "", err
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil
	}
	var found string
	seen := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return "", nil
		}
		key, _ := t.(string)
		if !strings.EqualFold(key, field) {
			continue
		}
		var v string
		if json.Unmarshal(value, &v) != nil || (seen && v != found) {
			return "", nil
		}
		found, seen = v, true
	}
	return found, nil
}
