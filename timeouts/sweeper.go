// Package timeouts ends action requests that the media side did not answer in time. The
// deadline of each request is stored with it, so a timeout fires after a restart too; every
// ixnstore instance sweeps, and a request ends once because each is ended under its session's
// row lock after checking it is still pending.
package timeouts

import (
	"context"
	"log/slog"
	"time"

	"github.com/ixnstore/ixnstore/internal/periodic"
	"github.com/ixnstore/ixnstore/service"
)

// Batch is how many overdue requests one sweep takes at a time.
const Batch = 500

// Sweeper ends overdue requests every Interval until its context ends.
type Sweeper struct {
	Store    *service.Store
	Interval time.Duration
	Logger   *slog.Logger
}

// Run sweeps until ctx ends. A failing database is logged and retried at the next tick.
func (s Sweeper) Run(ctx context.Context) {
	periodic.Run(ctx, s.Interval, s.Logger, "action requests timed out", periodic.Batches(Batch, s.Store.ExpireRequests))
}
