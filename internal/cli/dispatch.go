package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/database"
)

// dispatchFlags set up publication: the dispatcher (one active per database), the
// notifications that wake it, and those that wake the event streams.
type dispatchFlags struct {
	enabled      bool
	batch        int
	poll         time.Duration
	gap          time.Duration
	notifyWindow time.Duration
	takeover     time.Duration
	instance     string
}

func (d *dispatchFlags) register(f *Flags) {
	host, _ := os.Hostname()
	f.EnvBool(&d.enabled, "dispatcher", "IXNSTORE_DISPATCHER", true,
		"run a dispatcher here (one instance per database dispatches at a time; the others stand by)")
	f.EnvInt(&d.batch, "dispatch-batch", "IXNSTORE_DISPATCH_BATCH", 5000, "most events published in one transaction")
	f.EnvDuration(&d.poll, "dispatch-poll", "IXNSTORE_DISPATCH_POLL", 250*time.Millisecond,
		"how often the dispatcher looks for events when nothing wakes it")
	f.EnvDuration(&d.gap, "dispatch-gap", "IXNSTORE_DISPATCH_GAP", dispatcher.DefaultBatchGap,
		"least time between two small batches: events gather and share one commit")
	f.EnvDuration(&d.notifyWindow, "notify-window", "IXNSTORE_NOTIFY_WINDOW", 5*time.Millisecond,
		"at most one wake-up NOTIFY per window from this instance's writes")
	f.EnvDuration(&d.takeover, "dispatch-takeover", "IXNSTORE_DISPATCH_TAKEOVER", dispatcher.DefaultTakeover,
		"how long a dispatcher whose connection went silent (a network partition) keeps the lead before the database ends its session and a standby takes over; well above --dispatch-poll")
	f.EnvString(&d.instance, "instance", "IXNSTORE_INSTANCE", fmt.Sprintf("%s:%d", host, os.Getpid()),
		"this instance's name in logs and in dispatcher_state")
}

// validate says what is wrong with the flags: the leader runs a statement at least every
// --dispatch-poll, and a standby tries the lock every second, each well within the takeover
// time, which ends sessions silent for that long.
func (d *dispatchFlags) validate() error {
	if d.takeover < 3*time.Second || d.takeover < 4*d.poll {
		return fmt.Errorf("--dispatch-takeover must be at least 3s and 4 times --dispatch-poll")
	}
	return nil
}

// publication is what start set running.
type publication struct {
	// Published is what the streams wait on; Written what the store calls after each write
	// that made events.
	Published *api.Signal
	Written   func()
	// Resign stops this instance's dispatcher now, giving its lead to a standby, and waits
	// for it to stop; the notifier and the listener go on until ctx ends.
	Resign func()
	// Wait waits for all of it to stop once ctx ended.
	Wait func()
	// IsDispatcher says whether this instance dispatches now.
	IsDispatcher func() bool
}

// start runs the dispatcher, the write notifier and the notification listener until ctx
// ends; obs sees the dispatcher's batches (metrics, traces), and tracer its statements.
func (d *dispatchFlags) start(ctx context.Context, pool *pgxpool.Pool, timeouts database.Timeouts, logger *slog.Logger,
	obs func(context.Context) (context.Context, func(dispatcher.Batch)), tracer pgx.QueryTracer) publication {
	connString := pool.Config().ConnString()
	published := api.NewSignal()
	var wg sync.WaitGroup
	var local *dispatcher.Dispatcher
	dispatchCtx, stopDispatch := context.WithCancel(ctx)
	var dispatching sync.WaitGroup
	if d.enabled {
		local = dispatcher.New(dispatcher.Config{
			ConnString: connString, Instance: d.instance, BatchSize: d.batch, PollInterval: d.poll, BatchGap: d.gap,
			Timeouts: timeouts, Takeover: d.takeover,
			Logger:    logger.With("part", "dispatcher"),
			Published: func(int64) { published.Raise() },
			Observe:   obs, Tracer: tracer,
		})
		dispatching.Go(func() { local.Run(dispatchCtx) })
	} else {
		logger.Info("dispatcher off: this instance writes and streams, another one publishes")
	}
	notifier := dispatcher.NewWriteNotifier(pool, local, d.notifyWindow, logger)
	wg.Go(func() { notifier.Run(ctx) })
	wg.Go(func() {
		wake := func() {
			if local != nil {
				local.Wake()
			}
		}
		resigned := func() {
			if local != nil {
				local.Resigned()
			}
		}
		dispatcher.Listen(ctx, connString, timeouts, logger.With("part", "listener"), wake, published.Raise, resigned)
	})
	resign := func() {
		stopDispatch()
		dispatching.Wait()
	}
	return publication{
		Published: published, Written: notifier.Written, Resign: resign,
		Wait:         func() { resign(); wg.Wait() },
		IsDispatcher: func() bool { return local != nil && local.IsLeader() },
	}
}
