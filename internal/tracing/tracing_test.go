package tracing_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/internal/tracing"
	"github.com/ixnstore/ixnstore/service"
)

// The trace of one write has the request's server span and, as its child, the span of the
// statement that made the change.
func TestTraceOfAWriteHasTheRequestAndTheStatement(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	tr := tracing.FromProvider(tp, false)

	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracing.Statements{Tracer: tr.Tracer}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h := api.New(service.New(pool, service.Config{}), slog.New(slog.DiscardHandler), api.Options{Tracer: tr.Tracer})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/sessions", strings.NewReader(`{"session_id":"s1","owner_node":"n1"}`)))
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	spans := exporter.GetSpans()
	var server, statement *tracetest.SpanStub
	for i := range spans {
		s := &spans[i]
		switch {
		case s.Name == "POST /v1/sessions" && s.SpanKind == trace.SpanKindServer:
			server = s
		case strings.HasPrefix(s.Name, "Session") && s.SpanKind == trace.SpanKindClient:
			statement = s
		}
	}
	if server == nil || statement == nil {
		names := []string{}
		for _, s := range spans {
			names = append(names, s.Name)
		}
		t.Fatalf("want the request's span and a statement's span, got %q", names)
	}
	if statement.Parent.SpanID() != server.SpanContext.SpanID() || statement.SpanContext.TraceID() != server.SpanContext.TraceID() {
		t.Errorf("the statement %q is not a child of the request's span", statement.Name)
	}
}

// A log line written within a span says its trace id.
func TestLogLinesCarryTheTraceID(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	defer span.End()
	var b strings.Builder
	slog.New(tracing.LogHandler(slog.NewTextHandler(&b, nil))).InfoContext(ctx, "hello")
	if want := "trace_id=" + span.SpanContext().TraceID().String(); !strings.Contains(b.String(), want) {
		t.Fatalf("the line %q does not say %s", b.String(), want)
	}
}
