package dispatcher

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
)

// Listen keeps a connection that LISTENs to the dispatcher's channels, reconnecting after
// failures, until ctx ends: ixn_outbox (events were written: wake the dispatcher),
// ixn_published (events were published: wake the streams) and ixn_dispatcher (the leader
// resigned: a standby tries the lock now).
// Its connection has the connect timeout and keep-alives of timeouts.
func Listen(ctx context.Context, connString string, timeouts database.Timeouts, logger *slog.Logger, written, published, resigned func()) {
	for ctx.Err() == nil {
		err := listen(ctx, connString, timeouts, written, published, resigned)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("notification listener lost its connection; retrying", "err", err)
		// Whatever was signalled meanwhile is found by polling; wake both to look now.
		written()
		published()
		sleep(ctx, time.Second)
	}
}

func listen(ctx context.Context, connString string, timeouts database.Timeouts, written, published, resigned func()) error {
	// The listener waits for notifications without a statement for as long as there are none:
	// only the connection's own timeouts apply, not those of statements or idle sessions.
	conn, closeConn, err := database.Connect(ctx, connString, database.Timeouts{
		Connect: timeouts.Connect, KeepAlive: timeouts.KeepAlive, UserTimeout: timeouts.UserTimeout}, nil)
	if err != nil {
		return err
	}
	defer closeConn()
	q := db.New(conn)
	if err := q.ListenOutbox(ctx); err != nil {
		return err
	}
	if err := q.ListenPublished(ctx); err != nil {
		return err
	}
	if err := q.ListenDispatcher(ctx); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		switch n.Channel {
		case "ixn_outbox":
			written()
		case "ixn_published":
			published()
		case "ixn_dispatcher":
			resigned()
		}
	}
}

// WriteNotifier tells the dispatcher that events were written. The dispatcher of this
// process is woken directly; other instances (one of which may be the dispatcher) get a
// NOTIFY, sent after the write committed, in a transaction of its own, at most once per
// window however many writes there were: a notifying commit takes a database-wide lock, so
// writers never notify themselves.
type WriteNotifier struct {
	pool     *pgxpool.Pool
	local    *Dispatcher
	window   time.Duration
	pending  chan struct{}
	logger   *slog.Logger
	failures int
}

func NewWriteNotifier(pool *pgxpool.Pool, local *Dispatcher, window time.Duration, logger *slog.Logger) *WriteNotifier {
	return &WriteNotifier{pool: pool, local: local, window: window, pending: make(chan struct{}, 1), logger: logger}
}

// Written is called after every committed change that wrote events. It never blocks.
func (n *WriteNotifier) Written() {
	if n.local != nil {
		n.local.Wake()
		if n.local.IsLeader() {
			return // the dispatcher is here and awake: no one else needs to know
		}
	}
	select {
	case n.pending <- struct{}{}:
	default:
	}
}

// Run sends the NOTIFYs until ctx ends.
func (n *WriteNotifier) Run(ctx context.Context) {
	q := db.New(n.pool)
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.pending:
		}
		if err := q.OutboxNotify(ctx); err != nil && ctx.Err() == nil {
			// Only a hint: the dispatcher polls. Say so once, not on every write.
			if n.failures++; n.failures == 1 {
				n.logger.Warn("could not notify the dispatcher; it will find the events by polling", "err", err)
			}
		} else {
			n.failures = 0
		}
		if !sleep(ctx, n.window) {
			return
		}
	}
}
