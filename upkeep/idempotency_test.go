package upkeep_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/upkeep"
)

// An Idempotency-Key is kept for the store's time; once past it, the expiry loop removes it,
// and the same key writes again as a new one.
func TestIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	if _, err := s.CreateSession(ctx, service.NewSession{SessionID: "s1"}); err != nil {
		t.Fatal(err)
	}
	key := service.IdempotencyKey{SessionID: "s1", Key: "k", RequestHash: []byte("add i1")}
	writes := 0
	add := func(ctx context.Context, st *service.Store) (service.Answer, error) {
		writes++
		_, err := st.AddInteraction(ctx, service.Target{SessionID: "s1"}, service.NewInteraction{
			InteractionID: "i" + string(rune('0'+writes)), Media: "voice", Type: "inbound"})
		return service.Answer{Status: http.StatusCreated, Body: []byte(`{}`)}, err
	}
	if _, replayed, err := s.Idempotent(ctx, key, add); err != nil || replayed {
		t.Fatalf("first write: replayed %v, err %v", replayed, err)
	}
	if _, replayed, err := s.Idempotent(ctx, key, add); err != nil || !replayed || writes != 1 {
		t.Fatalf("retry within the time: replayed %v, writes %d, err %v", replayed, writes, err)
	}

	// Past its time: the clock is the database's, so the key's is moved back, not waited for.
	if _, err := pool.Exec(ctx, "UPDATE idempotency_keys SET expires_at = now() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	passes := make(chan upkeep.Pass, 16)
	cfg := upkeep.IdempotencyExpiry(s, 10*time.Millisecond, quiet)
	cfg.Passed = func(p upkeep.Pass) {
		select {
		case passes <- p:
		default:
		}
	}
	loop, err := upkeep.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(lctx) }()
	defer func() { stop(); <-done }()
	deadline := time.After(10 * time.Second)
	for removed := 0; removed == 0; {
		select {
		case p := <-passes:
			if p.Err != nil {
				t.Fatal(p.Err)
			}
			removed = p.Count
		case <-deadline:
			t.Fatal("no pass removed the key within 10s")
		}
	}
	var left int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM idempotency_keys").Scan(&left); err != nil || left != 0 {
		t.Fatalf("keys left: %d (err %v)", left, err)
	}
	if _, replayed, err := s.Idempotent(ctx, key, add); err != nil || replayed || writes != 2 {
		t.Fatalf("after expiry: replayed %v, writes %d, err %v; want a new write", replayed, writes, err)
	}
}
