// Package periodic runs a piece of upkeep at an interval until its context ends, logging
// what it did and, once per outage, that it failed.
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Run calls work now and then every interval until ctx ends. work returns how many things it
// did; a positive count is logged as done. A failure is logged once until work succeeds
// again, and retried at the next tick.
func Run(ctx context.Context, interval time.Duration, logger *slog.Logger, done string, work func(context.Context) (int, error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failing := false
	for {
		n, err := work(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				logger.Warn("failed; retrying", "err", err)
			}
			failing = true
		case failing:
			logger.Info("works again")
			failing = false
		}
		if n > 0 {
			logger.Info(done, "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Batches turns work done limit things at a time into work that goes on until a batch comes
// back short: all that is due now, in bounded statements.
func Batches(limit int, work func(ctx context.Context, limit int) (int, error)) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		total := 0
		for {
			n, err := work(ctx, limit)
			total += n
			if err != nil || n < limit {
				return total, err
			}
		}
	}
}
