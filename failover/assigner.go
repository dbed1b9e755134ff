// Package failover gives the sessions of routing nodes that died (their lease lapsed) or
// left to the live nodes, when ixnstore is asked to do it rather than the nodes claiming for
// themselves. Every instance may run it: a claim is one transaction under the session's row
// lock, so of two instances assigning the same session one wins and the other skips it.
package failover

import (
	"context"
	"log/slog"
	"time"

	"github.com/ixnstore/ixnstore/internal/periodic"
	"github.com/ixnstore/ixnstore/service"
)

// Batch is how many orphaned sessions one pass assigns at most.
const Batch = 500

// Assigner assigns orphaned sessions every Interval until its context ends.
type Assigner struct {
	Store    *service.Store
	Interval time.Duration
	Logger   *slog.Logger
}

func (a Assigner) Run(ctx context.Context) {
	periodic.Run(ctx, a.Interval, a.Logger, "orphaned sessions assigned to live nodes", a.Assign)
}

// Assign assigns orphaned sessions until none is left or no live node has room.
func (a Assigner) Assign(ctx context.Context) (int, error) {
	return periodic.Batches(Batch, a.Store.AssignOrphans)(ctx)
}
