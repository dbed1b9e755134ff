// Package tracing sets up OpenTelemetry traces for serve: the tracer provider and its OTLP
// exporter (from the standard OTEL_EXPORTER_OTLP_* variables), a span per database statement
// (a pgx tracer), and the trace id in log lines. Off, it costs nothing: the parts are given
// no tracer.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Modes of --tracing.
const (
	// ModeAuto traces when an OTLP endpoint is configured, and not otherwise.
	ModeAuto = "auto"
	// ModeOn traces always; without an endpoint the spans are made and dropped (to measure
	// what tracing costs, or to have trace ids in the logs).
	ModeOn  = "on"
	ModeOff = "off"
)

// DefaultSampleRatio is the share of requests traced when $OTEL_TRACES_SAMPLER does not say:
// one in ten, and every request whose caller's trace is sampled (its traceparent header). The
// OpenTelemetry default, every request, costs a write path of thousands of small requests a
// second about a tenth of its throughput and floods the collector with near-identical traces;
// one in ten keeps every route's traces representative. OTEL_TRACES_SAMPLER=parentbased_always_on
// traces them all.
const DefaultSampleRatio = 0.1

// EndpointVars are the variables that configure an OTLP endpoint; any of them set turns
// tracing on in ModeAuto.
var EndpointVars = []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}

// Tracing is what Start set up.
type Tracing struct {
	// Tracer makes spans; nil when tracing is off.
	Tracer trace.Tracer
	// Provider is the SDK's provider, nil when off: tests give theirs with an in-memory
	// exporter.
	Provider *sdktrace.TracerProvider
	// Exporting says the spans go somewhere (an OTLP endpoint).
	Exporting bool
}

// Enabled says spans are made.
func (t Tracing) Enabled() bool { return t.Tracer != nil }

// Shutdown sends what is left and stops; within ctx.
func (t Tracing) Shutdown(ctx context.Context) error {
	if t.Provider == nil {
		return nil
	}
	return t.Provider.Shutdown(ctx)
}

// Start sets tracing up as mode says. The exporter's protocol is OTEL_EXPORTER_OTLP_PROTOCOL
// (or _TRACES_PROTOCOL): http/protobuf (the default) or grpc; everything else about it (headers,
// TLS, timeouts, the sampler, the service name) is read by the OpenTelemetry SDK from its
// standard variables; without $OTEL_TRACES_SAMPLER, DefaultSampleRatio of the requests are
// traced.
func Start(ctx context.Context, mode string) (Tracing, error) {
	endpoint := false
	for _, v := range EndpointVars {
		if os.Getenv(v) != "" {
			endpoint = true
		}
	}
	switch mode {
	case ModeOff:
		return Tracing{}, nil
	case ModeAuto:
		if !endpoint {
			return Tracing{}, nil
		}
	case ModeOn:
	default:
		return Tracing{}, fmt.Errorf("--tracing must be auto, on or off, not %q", mode)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(serviceName())))
	if err != nil {
		return Tracing{}, err
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if os.Getenv("OTEL_TRACES_SAMPLER") == "" {
		// Given as an option, the sampler would override the variable: the SDK reads it
		// before it applies options.
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(DefaultSampleRatio))))
	}
	if endpoint {
		exp, err := exporter(ctx)
		if err != nil {
			return Tracing{}, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	return FromProvider(tp, endpoint), nil
}

// FromProvider is the tracing of a provider made elsewhere (a test's, with an in-memory
// exporter).
func FromProvider(tp *sdktrace.TracerProvider, exporting bool) Tracing {
	return Tracing{Tracer: tp.Tracer("github.com/ixnstore/ixnstore"), Provider: tp, Exporting: exporting}
}

func serviceName() string {
	if n := os.Getenv("OTEL_SERVICE_NAME"); n != "" {
		return n
	}
	return "ixnstore"
}

func exporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.TrimSpace(protocol) {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	default:
		return nil, errors.New("$OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or grpc, not " + protocol)
	}
}

// LogHandler adds the trace and span ids of the context a record is logged with, when it has
// a span, so that a log line leads to its trace.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
