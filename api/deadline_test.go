package api_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

// A write that waits on a session's lock held elsewhere ends by the lock timeout (nothing
// changed: 503 timeout) or, without one, by the request's deadline (sent, so 503
// outcome_unknown), each promptly; a stream outlives the deadline.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		timeouts database.Timeouts
		deadline time.Duration
		code     string
	}{
		{"lock timeout", database.Timeouts{Lock: 100 * time.Millisecond}, 5 * time.Second, "timeout"},
		{"statement timeout", database.Timeouts{Statement: time.Second}, 5 * time.Second, "timeout"},
		{"request deadline", database.Timeouts{}, time.Second, "outcome_unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testdb.URL(t)
			pool, err := database.Open(ctx, url, database.PoolOptions{MaxConns: 8, Timeouts: tc.timeouts})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			srv := httptest.NewServer(api.New(service.New(pool, service.Config{}), logger,
				api.Options{RequestDeadline: tc.deadline, StreamKeepAlive: 50 * time.Millisecond}))
			t.Cleanup(srv.Close)
			c := &client{t: t, base: srv.URL, pool: pool}
			c.seed()

			holder, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = holder.Rollback(ctx) }()
			if _, err := holder.Exec(ctx, "SELECT 1 FROM sessions WHERE session_id = 's1' FOR UPDATE"); err != nil {
				t.Fatal(err)
			}
			var e api.ErrorBody
			began := time.Now()
			status := c.json("PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"held"}`, &e)
			took := time.Since(began)
			if status != http.StatusServiceUnavailable || e.Error.Code != tc.code {
				t.Errorf("a write behind a held lock: %d %+v, want 503 %s", status, e, tc.code)
			}
			if took > tc.deadline+time.Second {
				t.Errorf("it took %s, past its deadline %s and a second", took, tc.deadline)
			}
			// A read goes past the lock, as ever.
			c.ok("GET", "/v1/sessions/s1", "", http.StatusOK)
		})
	}
}

// An event stream has no deadline: it still sends its keep-alives after the deadline of the
// other requests.
func TestStreamOutlivesTheDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 200 * time.Millisecond
	pool := testdb.Pool(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := service.New(pool, service.Config{})
	hub, err := streamhub.New(streamhub.Config{Read: store.ListPublished, Last: store.LastPubSeq, Wake: api.NewSignal().C})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go hub.Run(ctx)
	srv := httptest.NewServer(api.New(store, logger,
		api.Options{Streams: hub, RequestDeadline: deadline, StreamKeepAlive: 50 * time.Millisecond}))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/events/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	opened := time.Now()
	lines := bufio.NewScanner(res.Body)
	for time.Since(opened) < 2*deadline {
		if !lines.Scan() {
			t.Fatalf("the stream ended after %s (%v), before its client left", time.Since(opened), lines.Err())
		}
	}
	if !strings.HasPrefix(lines.Text(), ": keep-alive") && lines.Text() != "" {
		t.Errorf("the stream's line after the deadline: %q, want its keep-alive", lines.Text())
	}
}
