package api

import (
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// propagator reads a caller's trace context (the W3C traceparent header), so that a routing
// node's trace goes on through ixnstore.
var propagator = propagation.TraceContext{}

// traced makes a server span of each request, named by its route as registered, so that
// every request of one route is one span name whatever its ids; the database's statements
// are its children (internal/tracing's pgx tracer).
func traced(tracer trace.Tracer) echo.MiddlewareFunc {
	// Span names are made once per method and route: a request that is not sampled costs the
	// sampler's decision and little else.
	var names sync.Map // spanName → string
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route := c.Path()
			if route == "" {
				route = "none"
			}
			ctx := propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			key := spanName{knownMethod(req.Method), route}
			name, ok := names.Load(key)
			if !ok {
				name, _ = names.LoadOrStore(key, key.method+" "+route)
			}
			ctx, span := tracer.Start(ctx, name.(string), trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", req.Method),
					attribute.String("http.route", route), attribute.String("url.path", req.URL.Path)))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			if !span.IsRecording() {
				return err
			}
			status := c.Response().Status
			if err != nil {
				status, _ = classify(err)
				span.RecordError(err)
			}
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
			return err
		}
	}
}

type spanName struct{ method, route string }

// knownMethod is a request's method, or _OTHER (as OpenTelemetry's HTTP conventions name it)
// for one HTTP does not define: names made of a caller's words would grow without end.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}
