package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// Observer hears of what the API does, for the metrics (internal/metrics), without this
// package knowing by what. Its calls are on the request path: they must be quick.
type Observer interface {
	// Request: one request answered, by its route as registered ("" when none matched).
	Request(method, route string, status int, elapsed time.Duration)
	// Changed: a state change of kind committed (kind: the operation, "addInteraction").
	Changed(kind string)
	// Refused: a request refused with a 4xx, for reason (the error code of the answer).
	Refused(reason string)
	// Claimed: n sessions changed owner, how ("claim").
	Claimed(how string, n int)
	// EventsSent: n events sent on an event stream.
	EventsSent(n int)
}

type noObserver struct{}

func (noObserver) Request(string, string, int, time.Duration) {}
func (noObserver) Changed(string)                             {}
func (noObserver) Refused(string)                             {}
func (noObserver) Claimed(string, int)                        {}
func (noObserver) EventsSent(int)                             {}

// RequestIDHeader carries the request's id: the client's when it sends a usable one, else
// one made here; the answer echoes it, and the request's log line has it.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a client's request id: longer, or with anything but visible ASCII,
// and it is replaced (it goes into log lines as it is).
const maxRequestIDLen = 128

// requestIDs makes request ids: a random prefix per process and a counter, unique without a
// call to the random source per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &requestIDs{prefix: hex.EncodeToString(b) + "-"}
}

func (g *requestIDs) next() string {
	return g.prefix + strconv.FormatUint(g.n.Add(1), 10)
}

func usableRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// changeKinds names the state change each write route makes: its handler's name
// ("addInteraction"), found once when the routes are registered.
func changeKinds(e *echo.Echo) map[string]string {
	kinds := map[string]string{}
	for _, r := range e.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || !strings.HasPrefix(r.Path, "/v1/") {
			continue
		}
		kinds[routeKey(r.Method, r.Path)] = handlerKind(r.Name)
	}
	return kinds
}

// handlerKind is the last part of a handler's function name, without the method-value suffix:
// "github.com/ixnstore/ixnstore/api.(*handlers).addInteraction-fm" is "addInteraction".
func handlerKind(name string) string {
	name = strings.TrimSuffix(name, "-fm")
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// requestLog gives each request its id, then, once it is answered, logs one line at info
// (method, route, status, duration, request id, token name; at error with the error for a
// 5xx, at warn for a refusal worth a look) and tells the observer. It is the outermost
// middleware but the trace's, so every failure, a recovered panic included, is logged here
// once, within the request's span.
func requestLog(logger *slog.Logger, obs Observer, kinds map[string]string) echo.MiddlewareFunc {
	ids := newRequestIDs()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			req := c.Request()
			id := req.Header.Get(RequestIDHeader)
			if !usableRequestID(id) {
				id = ids.next()
			}
			c.Response().Header().Set(RequestIDHeader, id)
			err := next(c)
			elapsed := time.Since(start)
			status := c.Response().Status
			var code string
			if err != nil {
				var body ErrorBody
				status, body = classify(err)
				code = body.Error.Code
			}
			if clientGone(c) {
				status = statusClientClosed
			}
			route := c.Path()
			if route == "" {
				route = "none" // no route matched: one label, whatever the path
			}
			obs.Request(req.Method, route, status, elapsed)
			switch {
			case status >= 200 && status < 300:
				if kind, ok := kinds[routeKey(req.Method, route)]; ok {
					obs.Changed(kind)
					if kind == "claimSession" {
						obs.Claimed("claim", 1)
					}
				}
			case status >= 400 && status < 500 && status != statusClientClosed:
				if code == "" {
					code = strconv.Itoa(status)
				}
				obs.Refused(code)
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			ctx := req.Context()
			if !logger.Enabled(ctx, level) {
				return err
			}
			// Built as a record, not through Log's variadic list: one allocation fewer per
			// request, on the write path.
			var pcs [1]uintptr
			runtime.Callers(1, pcs[:])
			r := slog.NewRecord(time.Now(), level, "request", pcs[0])
			r.AddAttrs(slog.String("method", req.Method), slog.String("route", route),
				slog.String("path", req.URL.Path), slog.Int("status", status),
				slog.Duration("duration", elapsed), slog.String("request_id", id))
			if p, ok := PrincipalOf(c); ok {
				r.AddAttrs(slog.String("token", p.Name))
			}
			if err != nil {
				r.AddAttrs(slog.String("err", err.Error()))
			}
			_ = logger.Handler().Handle(ctx, r)
			return err
		}
	}
}
