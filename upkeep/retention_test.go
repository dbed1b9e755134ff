package upkeep_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/upkeep"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Published events older than the retention go, with their publication rows; newer ones stay,
// and so do old events not yet published.
func TestRetentionRemovesOldPublishedEventsOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	for _, id := range []string{"old", "new"} {
		if _, err := s.CreateSession(ctx, service.NewSession{SessionID: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddInteraction(ctx, service.Target{SessionID: id},
			service.NewInteraction{InteractionID: id + "-i", Media: "voice", Type: "inbound"}); err != nil {
			t.Fatal(err)
		}
	}

	// Publish both sessions' events (one each), then stop the dispatcher.
	published := make(chan int64, 64)
	d := dispatcher.New(dispatcher.Config{ConnString: pool.Config().ConnString(), Instance: "t",
		PollInterval: 20 * time.Millisecond, Logger: quiet, Published: func(seq int64) { published <- seq }})
	dctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(dctx) })
	for last := int64(0); last < 2; {
		select {
		case last = <-published:
		case <-time.After(30 * time.Second):
			t.Fatalf("published up to %d of 2 after 30s", last)
		}
	}
	stop()
	wg.Wait()

	// An event written now stays unpublished; age it and the old session's.
	if _, err := s.AddInteraction(ctx, service.Target{SessionID: "old"},
		service.NewInteraction{InteractionID: "old-unpublished", Media: "voice", Type: "inbound"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE outbox SET created_at = created_at - interval '8 days' WHERE session_id = 'old'"); err != nil {
		t.Fatal(err)
	}

	loop, err := upkeep.New(upkeep.Retention(s, 7*24*time.Hour, time.Hour, quiet))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := loop.Pass(ctx); err != nil || n < 1 {
		t.Fatalf("pass removed %d (err %v), want the old published event at least", n, err)
	}
	var left []string
	rows, err := pool.Query(ctx, "SELECT session_id || ':' || seq FROM outbox ORDER BY session_id, seq")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		left = append(left, k)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(left) != 2 || left[0] != "new:1" || left[1] != "old:2" {
		t.Fatalf("outbox holds %v, want new:1 (recent) and old:2 (unpublished)", left)
	}
	var pubs int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM publication WHERE session_id = 'old'").Scan(&pubs); err != nil || pubs != 0 {
		t.Fatalf("old session's publication rows: %d (err %v), want 0", pubs, err)
	}
	if n, err := loop.Pass(ctx); err != nil || n != 0 {
		t.Fatalf("second pass removed %d (err %v), want nothing", n, err)
	}
}
