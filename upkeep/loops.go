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

// Retention removes the days of published events (publication's day partitions, each
// dropped whole) that ended more than keep ago, so an event is kept between keep and keep
// plus a day; then the interaction origins written more than keep ago, a few thousand at a
// time so that no statement holds locks for long. Events not published yet are in the outbox,
// which retention does not touch.
func Retention(store *service.Store, keep, every time.Duration, logger *slog.Logger) Config {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return Config{Name: "retention", Interval: every, Batch: 5000, Logger: logger,
		Work: func(ctx context.Context, limit int) (int, error) {
			before := time.Now().Add(-keep)
			started := time.Now()
			days, err := store.DropPublishedDays(ctx, before, maxDaysDropped)
			for _, d := range days {
				logger.Info("retention dropped a day of published events",
					"day", d.Day.Format(time.DateOnly), "events_about", d.EventsAbout,
					"took", (time.Since(started) / time.Duration(len(days))).Round(time.Microsecond))
			}
			if err != nil {
				return len(days), err
			}
			origins, err := store.PruneOrigins(ctx, before, limit)
			return len(days) + origins, err
		}}
}

// OutboxVacuum vacuums the outbox at every interval. Each published event leaves a dead row
// there (the dispatcher moves it to publication); autovacuum would come by when its
// threshold is reached, but a database may run with autovacuum off, and then the outbox's
// indexes would grow by every event ever written. A vacuum of a table that holds what is
// waiting to be published takes milliseconds. It reports no count: it has nothing to log.
func OutboxVacuum(store *service.Store, every time.Duration, logger *slog.Logger) Config {
	return Config{Name: "outbox vacuum", Interval: every, Batch: 1, Logger: logger,
		Work: func(ctx context.Context, _ int) (int, error) { return 0, store.VacuumOutbox(ctx) }}
}

// maxDaysDropped is how many days one call of the retention drops at most: a service started
// on a database kept far too long gives each drop its own short lock.
const maxDaysDropped = 7

// IdempotencyExpiry removes the Idempotency-Keys (and the answers kept with them) past the
// time the store keeps them; a key found expired before it is removed is taken as new anyway.
func IdempotencyExpiry(store *service.Store, every time.Duration, logger *slog.Logger) Config {
	return Config{Name: "idempotency key expiry", Interval: every, Batch: 5000, Work: store.PruneIdempotencyKeys, Logger: logger}
}
