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
	h := tracedAPI(t, tp)

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

// Without $OTEL_TRACES_SAMPLER one request in ten is traced; the variable, when set, decides.
func TestTheSamplerIsOneInTenUnlessTheVariableSays(t *testing.T) {
	for _, c := range []struct {
		sampler  string
		min, max int // of 1,000 root spans, recording ones (p = 0.1: mean 100, sd 9.5)
	}{
		{"", 50, 150},
		{"always_on", 1000, 1000},
		{"always_off", 0, 0},
	} {
		t.Run("OTEL_TRACES_SAMPLER="+c.sampler, func(t *testing.T) {
			t.Setenv("OTEL_TRACES_SAMPLER", c.sampler)
			tr, err := tracing.Start(context.Background(), tracing.ModeOn)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tr.Shutdown(context.Background()) }()
			recording := 0
			for range 1000 {
				_, span := tr.Tracer.Start(context.Background(), "r")
				if span.IsRecording() {
					recording++
				}
				span.End()
			}
			if recording < c.min || recording > c.max {
				t.Fatalf("%d of 1,000 requests traced, want %d to %d", recording, c.min, c.max)
			}
		})
	}
}

// A request the sampler leaves out makes no span at all, its statements' included; one whose
// caller's trace is sampled (traceparent) is traced, under the caller's trace.
func TestUnsampledRequestsMakeNoSpans(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	h := tracedAPI(t, tp)

	post := func(session, traceparent string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/v1/sessions", strings.NewReader(`{"session_id":"`+session+`","owner_node":"n1"}`))
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	post("unsampled", "")
	if spans := exporter.GetSpans(); len(spans) != 0 {
		t.Fatalf("an unsampled request made %d spans", len(spans))
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	post("sampled", "00-"+traceID+"-00f067aa0ba902b7-01")
	spans := exporter.GetSpans()
	if len(spans) < 2 {
		t.Fatalf("a request of a sampled trace made %d spans, want its own and its statements'", len(spans))
	}
	for _, s := range spans {
		if s.SpanContext.TraceID().String() != traceID {
			t.Errorf("span %q is in trace %s, not the caller's", s.Name, s.SpanContext.TraceID())
		}
	}
}

// tracedAPI is the API on a fresh database, its requests and statements traced by tp.
func tracedAPI(t *testing.T, tp *sdktrace.TracerProvider) http.Handler {
	t.Helper()
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
	return api.New(service.New(pool, service.Config{}), slog.New(slog.DiscardHandler), api.Options{Tracer: tr.Tracer})
}
