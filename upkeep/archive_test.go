package upkeep_test

import (
	"context"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/archive"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/upkeep"
)

// The archive loop takes the days entirely older than its window and leaves the rest.
func TestArchiveLoopTakesOldDaysOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	for _, id := range []string{"old", "recent", "active"} {
		if _, err := s.CreateSession(ctx, service.NewSession{SessionID: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddInteraction(ctx, service.Target{SessionID: id},
			service.NewInteraction{InteractionID: id + "-i", Media: "voice", Type: "inbound"}); err != nil {
			t.Fatal(err)
		}
		if id != "active" {
			if _, err := s.EndSession(ctx, service.Target{SessionID: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE sessions SET ended_at = now() - CASE session_id WHEN 'old' THEN interval '100 days' ELSE interval '89 days' END,
	                                  created_at = now() - interval '100 days' WHERE session_id IN ('old', 'recent', 'active')`); err != nil {
		t.Fatal(err)
	}
	a, err := archive.New(pool, archive.Config{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	loop, err := upkeep.New(upkeep.Archive(a, 90*24*time.Hour, time.Hour, quiet))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := loop.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("pass archived %d days (err %v), want the old one", n, err)
	}
	var left []string
	rows, err := pool.Query(ctx, "SELECT session_id FROM sessions ORDER BY session_id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		left = append(left, id)
	}
	if rows.Err() != nil || len(left) != 2 || left[0] != "active" || left[1] != "recent" {
		t.Fatalf("sessions left: %v (err %v), want active and recent", left, rows.Err())
	}
	if n, err := loop.Pass(ctx); err != nil || n != 0 {
		t.Fatalf("second pass archived %d days (err %v), want none", n, err)
	}
}
