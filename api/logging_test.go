package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// capture is a slog handler that keeps what is logged.
type capture struct {
	mu      *sync.Mutex
	records *[]slog.Record
}

func newCapture() capture { return capture{mu: &sync.Mutex{}, records: &[]slog.Record{}} }

func (capture) Enabled(context.Context, slog.Level) bool { return true }
func (h capture) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.records = append(*h.records, r.Clone())
	return nil
}
func (h capture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h capture) WithGroup(string) slog.Handler      { return h }

// at returns the messages logged at level and above, each with its attributes.
func (h capture) at(level slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range *h.records {
		if r.Level >= level {
			var b strings.Builder
			b.WriteString(r.Message)
			r.Attrs(func(a slog.Attr) bool {
				b.WriteString(" " + a.String())
				return true
			})
			out = append(out, b.String())
		}
	}
	return out
}

// Each failure is one log line: the request's, at ERROR for a 5xx, with the error in it.
func TestOneLogLinePerFailure(t *testing.T) {
	t.Parallel()
	closed := testdb.Pool(t)
	closed.Close()
	tests := []struct {
		name     string
		store    *service.Store
		method   string
		path     string
		status   int    // 0: any 5xx
		errors   int    // lines at ERROR
		contains string // in the ERROR line
	}{
		{"a panic", nil, "GET", "/v1/sessions/s1", http.StatusInternalServerError, 1, "panic"},
		{"no database", service.New(closed, service.Config{}), "GET", "/v1/sessions/s1", 0, 1, "closed"},
		{"a refusal", nil, "GET", "/v1/sessions/s1/events?limit=0", http.StatusUnprocessableEntity, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := newCapture()
			h := api.New(tt.store, slog.New(logs), api.Options{})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if tt.status == 0 && rec.Code < 500 || tt.status != 0 && rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			errs := logs.at(slog.LevelError)
			if len(errs) != tt.errors {
				t.Fatalf("%d lines at ERROR, want %d: %q", len(errs), tt.errors, errs)
			}
			if tt.errors > 0 && !strings.Contains(errs[0], tt.contains) {
				t.Errorf("the ERROR line does not say %q: %s", tt.contains, errs[0])
			}
			if all := logs.at(slog.LevelDebug); len(all) != 1 {
				t.Errorf("%d log lines for one request, want 1: %q", len(all), all)
			}
		})
	}
}
