// Package dispatcher publishes the outbox: it reads committed events in commit order and gives
// each its place in one total order (the publication sequence) that subscribers follow and
// resume from. One dispatcher is active per database, whichever instance holds the advisory
// lock; the others wait to take over.
package dispatcher

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
)

// DefaultBatchGap is the gap between small batches that serve uses unless told otherwise.
const DefaultBatchGap = 3 * time.Millisecond

// DefaultTakeover is the Takeover when Config gives none: a standby takes over a silent
// leader's lock within about this and LockRetry.
const DefaultTakeover = 5 * time.Second

type Config struct {
	// ConnString is the database; the dispatcher keeps a connection of its own, which holds
	// the lock that makes it the one dispatcher.
	ConnString string
	// Instance names this process in logs and in dispatcher_state.leader.
	Instance string
	// BatchSize is the most events published in one transaction.
	BatchSize int
	// PollInterval bounds how long an event can wait when no wake-up reaches the dispatcher:
	// notifications are hints, polling is what guarantees progress.
	PollInterval time.Duration
	// BatchGap is the least time between two batches that are not full: under a stream of
	// small writes, events gather for that long and are published by one commit rather than
	// by one commit each, whose WAL flushes the writers would wait behind.
	BatchGap time.Duration
	// LockRetry is how often a waiting instance tries to become the dispatcher.
	LockRetry time.Duration
	// Timeouts are those of the dispatcher's connection (connect, keep-alives).
	Timeouts database.Timeouts
	// Takeover bounds how long a dispatcher that went silent keeps the lead
	// (DefaultTakeover). The lock is its connection's session's, and a network partition can
	// leave that session on the server after the client is gone (a half-open connection):
	// the server ends the session after Takeover without a statement, or inside a
	// transaction, which frees the lock for a standby. The leader, which runs a statement at
	// least every PollInterval, abandons its connection when a batch takes longer than
	// Takeover. It must be well above PollInterval and LockRetry.
	Takeover time.Duration
	Logger   *slog.Logger
	// Published is called after each batch commits, with the last publication sequence.
	Published func(lastPubSeq int64)
	// Observe, when set, is called as each batch starts; what it returns is the batch's
	// context and is called when the batch has ended. It is how the batches are traced
	// and measured without this package knowing by what; it must be quick.
	Observe func(ctx context.Context) (context.Context, func(Batch))
	// Tracer, when set, hears of every statement on the dispatcher's connection.
	Tracer pgx.QueryTracer
}

// Batch is what one batch did, for Config.Observe.
type Batch struct {
	// Published is how many events it published; WrittenAt when each was written (its
	// transaction began), in the order published: with the time it ended, the lag from
	// commit to publication. WrittenAt is the batcher's: valid during the call only.
	Published int
	WrittenAt []time.Time
	// Err is why it failed; nil when it committed (with or without events).
	Err error
}

func (c *Config) defaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 5000
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 250 * time.Millisecond
	}

	if c.LockRetry <= 0 {
		c.LockRetry = time.Second
	}
	if c.Takeover <= 0 {
		c.Takeover = DefaultTakeover
	}
	// A session that must run a statement every PollInterval (the leader) or LockRetry (a
	// standby) is not to be ended for idling between two of them.
	c.Takeover = max(c.Takeover, 4*max(c.PollInterval, c.LockRetry))
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Published == nil {
		c.Published = func(int64) {}
	}
	if c.Observe == nil {
		c.Observe = func(ctx context.Context) (context.Context, func(Batch)) { return ctx, func(Batch) {} }
	}
}

type Dispatcher struct {
	cfg    Config
	wake   chan struct{}
	free   chan struct{} // the leader resigned: try the lock now
	leader atomic.Bool
}

func New(cfg Config) *Dispatcher {
	cfg.defaults()
	return &Dispatcher{cfg: cfg, wake: make(chan struct{}, 1), free: make(chan struct{}, 1)}
}

// Resigned tells a standing-by dispatcher that the leader gave the lock up: it tries to take
// it now rather than at its next LockRetry. It never blocks.
func (d *Dispatcher) Resigned() {
	select {
	case d.free <- struct{}{}:
	default:
	}
}

// Wake tells the dispatcher that events may be waiting. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// IsLeader reports whether this instance is the active dispatcher now.
func (d *Dispatcher) IsLeader() bool { return d.leader.Load() }

// Run dispatches while this instance holds the lock, waits for it otherwise, and reconnects
// after any failure (a database restart, a dropped connection) until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	log := d.cfg.Logger
	for ctx.Err() == nil {
		err := d.session(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("dispatcher connection lost; retrying", "err", err, "retry_in", d.cfg.LockRetry)
		sleep(ctx, d.cfg.LockRetry)
	}
}

// session is one connection's life: wait for the lock, then dispatch until an error. Its
// server session ends when its client has been silent for Takeover, which frees the lock.
func (d *Dispatcher) session(ctx context.Context) error {
	conn, closeConn, err := database.Leader{
		ConnString: d.cfg.ConnString, Timeouts: d.cfg.Timeouts, Takeover: d.cfg.Takeover, Retry: d.cfg.LockRetry,
		Tracer: d.cfg.Tracer, Freed: d.free,
		TryLock:    func(ctx context.Context, q *db.Queries) (bool, error) { return q.DispatcherTryLock(ctx) },
		StandingBy: func() { d.cfg.Logger.Info("another instance is dispatching; standing by") },
	}.Lead(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	q := db.New(conn)
	d.leader.Store(true)
	defer d.leader.Store(false)
	err = d.lead(ctx, conn)
	if ctx.Err() != nil {
		d.resign(ctx, q)
	}
	return err
}

// resign gives the lock up as this instance stops, and tells the standbys, so that one
// takes over at once instead of at its next try. Closing the connection would free the lock
// as well, but tell no one. Bounded by resignTimeout: a database that does not answer frees
// the lock by itself when the session ends.
func (d *Dispatcher) resign(ctx context.Context, q *db.Queries) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resignTimeout)
	defer cancel()
	if err := q.DispatcherResign(ctx); err != nil {
		d.cfg.Logger.Warn("could not resign the dispatcher's lead; it ends with the connection", "err", err)
		return
	}
	d.cfg.Logger.Info("resigned the dispatcher's lead")
}

// resignTimeout bounds the resignation at shutdown.
const resignTimeout = time.Second

// position is where the dispatcher is: the last outbox row taken and the last publication
// sequence given.
type position struct {
	txid   uint64
	id     int64
	pubSeq int64
}

func (d *Dispatcher) lead(ctx context.Context, conn *pgx.Conn) error {
	q := db.New(conn)
	stateCtx, cancel := context.WithTimeout(ctx, d.cfg.Takeover)
	defer cancel()
	// A batch's commit does not wait for its flush. A crash can then lose the last batches
	// after subscribers saw them, and the next dispatcher publishes them again with the same
	// numbers: the outbox rows up to any published one were all durable (a writer's commit
	// waits for its flush before it ends, and only ended transactions are read), new
	// transactions sort after them, and which session events a row brings along depends only
	// on the rows. So subscribers get repeats with the same ids and positions, as after any
	// crash, and each writer's commit is no longer followed by a second flush for its batch.
	if err := q.CommitsWithoutFlush(stateCtx); err != nil {
		return err
	}
	st, err := q.DispatcherStateGet(stateCtx)
	if err != nil {
		return err
	}
	pos := position{txid: st.CursorTxid, id: st.CursorID, pubSeq: st.LastPubSeq}
	d.cfg.Logger.Info("dispatching", "instance", d.cfg.Instance, "last_pub_seq", pos.pubSeq)
	b := &batcher{cfg: d.cfg, conn: conn, published: map[string]int64{}}
	b.daysAhead(stateCtx)

	poll := time.NewTicker(d.cfg.PollInterval)
	defer poll.Stop()
	var lastBatch time.Time
	for {
		if wait := time.Until(lastBatch.Add(d.cfg.BatchGap)); wait > 0 && !sleep(ctx, wait) {
			return ctx.Err()
		}
		b.daysAhead(ctx)
		n, err := b.publish(ctx, &pos)
		if err != nil {
			return err
		}
		if n > 0 {
			d.cfg.Published(pos.pubSeq)
			lastBatch = time.Now()
		}
		if n == d.cfg.BatchSize {
			lastBatch = time.Time{}
			continue // a backlog: no waiting between batches
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-poll.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// errMoved: dispatcher_state moved under us, so another dispatcher ran; this one must stop.
var errMoved = errors.New("the dispatcher position was moved by another dispatcher")

// batcher publishes one batch at a time and remembers, per session, the last seq it
// published, so that it publishes a session's events in seq order even when the outbox's
// commit order disagrees.
type batcher struct {
	cfg       Config
	conn      *pgx.Conn
	published map[string]int64 // session → last published seq; a cache of the publication table
	writtenAt []time.Time      // the published events' write times, kept for the next batch's use
	daysUntil time.Time        // publication has its day partitions up to this time
}

// DaysAhead is how many days ahead of today (UTC) the dispatcher keeps the day partitions of
// publication made: a day's partition exists a day or more before its first event, and a
// failure to make one (a lock not had in time) is tried again at the next batch long before
// it matters.
const DaysAhead = 2

// daysAhead makes the day partitions of publication up to DaysAhead days ahead when the
// last ones made do not reach a day ahead any more: once a day, a catalog read and at most
// one CREATE TABLE. A failure is logged and tried again before the next batch: the days
// made earlier still hold a day or more, and a batch with no day to go to fails by itself.
func (b *batcher) daysAhead(ctx context.Context) {
	now := time.Now()
	if now.Add(24 * time.Hour).Before(b.daysUntil) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Takeover)
	defer cancel()
	made, err := db.New(b.conn).PublicationDays(ctx, db.PublicationDaysParams{FromAt: now, ToAt: now.AddDate(0, 0, DaysAhead)})
	if err != nil {
		b.cfg.Logger.Warn("could not make the days of publication ahead; trying again before the next batch", "err", err)
		return
	}
	if made > 0 {
		b.cfg.Logger.Info("made days of publication ahead", "days", made, "until", now.AddDate(0, 0, DaysAhead).UTC().Format(time.DateOnly))
	}
	// The last day made ends at midnight UTC after now + DaysAhead days.
	b.daysUntil = now.UTC().AddDate(0, 0, DaysAhead+1).Truncate(24 * time.Hour)
}

const maxCachedSessions = 200_000

// publish publishes the next batch of settled events in one statement and moves pos. A
// batch that takes longer than Takeover is abandoned with its connection: by then the server
// may have ended the session, and a standby may lead.
func (b *batcher) publish(ctx context.Context, pos *position) (n int, err error) {
	// A batch under way when the dispatcher is stopped is finished, not cancelled: pgx
	// closes a connection whose query is cancelled, and the leader could then no longer
	// resign its lock and wake a standby; the batch's own deadline still bounds it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.Takeover)
	defer cancel()
	ctx, observed := b.cfg.Observe(ctx)
	b.writtenAt = b.writtenAt[:0]
	defer func() { observed(Batch{Published: n, WrittenAt: b.writtenAt[:n], Err: err}) }()
	// Reads, then one statement that writes the whole batch: no transaction around them, as
	// the rows read cannot change (settled outbox rows, and the publication that only this
	// leader writes), and the write is refused if another dispatcher moved the position. Each
	// round trip saved is saved on every batch, and at a few milliseconds a batch the
	// dispatcher's round trips compete with the writers' (issue 18).
	q := db.New(b.conn)
	rows, err := q.OutboxListSettled(ctx, db.OutboxListSettledParams{
		CursorTxid: pos.txid, CursorID: pos.id, MaxRows: int32(b.cfg.BatchSize),
	})
	if err != nil || len(rows) == 0 {
		return 0, err // an error: lead gives up this connection, and this batcher with it
	}
	seen := map[string]int64{}
	if err := b.loadPublished(ctx, q, rows, seen); err != nil {
		return 0, err
	}
	next := *pos
	var w db.PublicationMoveParams
	add := func(txid uint64, id int64, session string, seq int64, writtenAt time.Time) {
		next.pubSeq++
		b.writtenAt = append(b.writtenAt, writtenAt)
		w.PubSeqs = append(w.PubSeqs, next.pubSeq)
		w.Txids = append(w.Txids, int64(txid))
		w.OutboxIds = append(w.OutboxIds, id)
		seen[session] = seq
	}
	for _, r := range rows {
		last := seen[r.SessionID]
		switch {
		case r.Seq <= last:
			// Published already, ahead of its turn, by the gap filling below.
		case r.Seq == last+1:
			add(r.Txid, r.ID, r.SessionID, r.Seq, r.CreatedAt)
		default:
			// The session's earlier events committed before this one (they held the
			// session's lock first) but come later in (txid, id) order: publish them now.
			gap, err := q.OutboxListSessionRange(ctx, db.OutboxListSessionRangeParams{
				SessionID: r.SessionID, AfterSeq: last, BeforeSeq: r.Seq,
			})
			if err != nil {
				return 0, err
			}
			for _, g := range gap {
				add(g.Txid, g.ID, g.SessionID, g.Seq, g.CreatedAt)
			}
			add(r.Txid, r.ID, r.SessionID, r.Seq, r.CreatedAt)
		}
	}
	lastRow := rows[len(rows)-1]
	next.txid, next.id = lastRow.Txid, lastRow.ID
	w.CursorTxid, w.CursorID, w.LastPubSeq = next.txid, next.id, next.pubSeq
	w.Leader, w.PreviousPubSeq = b.cfg.Instance, pos.pubSeq
	moved, err := q.PublicationMove(ctx, w)
	if err != nil {
		return 0, err
	}
	if moved != 1 {
		return 0, errMoved
	}
	*pos = next
	if len(b.published) > maxCachedSessions {
		clear(b.published)
	}
	for s, seq := range seen {
		b.published[s] = seq
	}
	return len(w.PubSeqs), nil
}

// loadPublished fills seen with the last published seq of every session in rows, from the
// cache or, for those not in it, from the publication table.
func (b *batcher) loadPublished(ctx context.Context, q *db.Queries, rows []db.OutboxListSettledRow, seen map[string]int64) error {
	var missing []string
	for _, r := range rows {
		if _, ok := seen[r.SessionID]; ok {
			continue
		}
		if seq, ok := b.published[r.SessionID]; ok {
			seen[r.SessionID] = seq
			continue
		}
		seen[r.SessionID] = 0
		missing = append(missing, r.SessionID)
	}
	if len(missing) == 0 {
		return nil
	}
	last, err := q.PublicationLastSeqs(ctx, missing)
	if err != nil {
		return err
	}
	for _, l := range last {
		seen[l.SessionID] = l.LastSeq
	}
	return nil
}
