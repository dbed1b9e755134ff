package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/metrics"
	"github.com/ixnstore/ixnstore/internal/tracing"
)

// What the metrics and the request's span cost per request, CPU only (a route that reads
// nothing): the part of the write path's cost that is theirs.
//
//	go test -run '^$' -bench ObservedRequest -benchmem ./api
func BenchmarkObservedRequest(b *testing.B) {
	tr := tracing.FromProvider(sdktrace.NewTracerProvider(), false)
	for _, bc := range []struct {
		name string
		opts api.Options
	}{
		{"plain", api.Options{}},
		{"metrics", api.Options{Observer: metrics.New(metrics.Config{})}},
		{"metrics+tracing", api.Options{Observer: metrics.New(metrics.Config{}), Tracer: tr.Tracer}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := api.New(nil, slog.New(slog.DiscardHandler), bc.opts)
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
			}
		})
	}
}
