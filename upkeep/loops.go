package upkeep

import (
	"context"
	"log/slog"
	"time"

	"github.com/ixnstore/ixnstore/service"
)

// Batch is how many things one statement of a loop does at most.
const Batch = 500

// RequestTimeouts ends the action requests whose deadline passed with error timeout. The
// deadline is stored with each request, so a timeout fires after a restart too.
func RequestTimeouts(store *service.Store, every time.Duration, logger *slog.Logger) Config {
	return Config{Name: "request timeouts", Interval: every, Batch: Batch, Work: store.ExpireRequests, Logger: logger}
}

// OrphanAssignment gives the sessions whose node died or left to live nodes by spare
// capacity, for a cluster that asks ixnstore to do it rather than the nodes claiming them.
// A pass takes a whole page of orphans at a time: after a node with thousands of sessions
// dies, each pass's fixed costs (the orphans' page, the nodes' loads) are paid per thousand.
func OrphanAssignment(store *service.Store, every time.Duration, logger *slog.Logger) Config {
	return Config{Name: "orphan assignment", Interval: every, Batch: service.MaxSessionsPage, Work: store.AssignOrphans, Logger: logger}
}

// Retention removes published events (and the interaction origins they start from) written
// more than keep ago, a few thousand at a time so that no statement holds locks for long.
func Retention(store *service.Store, keep, every time.Duration, logger *slog.Logger) Config {
	return Config{Name: "retention", Interval: every, Batch: 5000, Logger: logger,
		Work: func(ctx context.Context, limit int) (int, error) {
			return store.PruneExpired(ctx, time.Now().Add(-keep), limit)
		}}
}

// IdempotencyExpiry removes the Idempotency-Keys (and the answers kept with them) past the
// time the store keeps them; a key found expired before it is removed is taken as new anyway.
func IdempotencyExpiry(store *service.Store, every time.Duration, logger *slog.Logger) Config {
	return Config{Name: "idempotency key expiry", Interval: every, Batch: 5000, Work: store.PruneIdempotencyKeys, Logger: logger}
}
