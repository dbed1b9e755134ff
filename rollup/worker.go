// Package rollup keeps the hourly rollups of the aggregates report (docs/reporting.md,
// "Rollups") off the write path: a worker follows the published events in publication order
// and, for every interaction an event names, brings what the rollups hold of it to what its
// row says now. An interaction counts in the hour it was created, by media, by owner node and
// by each resource other than a customer's, live or ended (as the report counts it). Events
// that cannot change what an interaction gives the rollups (user data, a party's move other
// than to established or to established once it was connected, ...) are passed over.
//
// Exactly once: the rollups, what they hold of each interaction (report_rollup_counted) and
// the worker's position move in one transaction; and applying an event again changes nothing
// (what an interaction holds is replaced, never added twice), so a crash between reading and
// committing, a rebuild that overlaps the worker's events, or a takeover counts nothing twice.
//
// One worker per database is active: the one holding a PostgreSQL advisory lock of its own on
// a connection of its own, as the NATS bridge does; the others stand by.
package rollup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/service"
)

// Defaults of Config.
const (
	DefaultName     = "default"
	DefaultPage     = 1000
	DefaultPoll     = time.Second
	DefaultRetry    = time.Second
	DefaultTakeover = 5 * time.Second
	DefaultSettle   = 30 * time.Second
	DefaultGap      = 250 * time.Millisecond
)

// Config sets a Worker up. ConnString and Read are required; zero values of the others take
// the defaults above.
type Config struct {
	// ConnString is the database; the worker keeps a connection of its own, which holds the
	// lock that makes it the one worker and writes the rollups.
	ConnString string
	// Timeouts are those of that connection.
	Timeouts database.Timeouts
	// Instance names this process in logs and in report_rollup_state.leader.
	Instance string
	// Name is the worker's row in report_rollup_state (one set of rollups per database:
	// the default).
	Name string
	// Read returns published events after a publication number, in publication order
	// (service.Store's ListPublished).
	Read func(ctx context.Context, f service.PublishedFilter, after int64, limit int) ([]service.PublishedEvent, error)
	// Wake returns a channel closed when events are published; nil: the worker only polls.
	Wake func() <-chan struct{}
	// Page is the most events applied in one transaction.
	Page int
	// Poll is how often the worker reads without being woken.
	Poll time.Duration
	// Gap is the least time between two pages that are not full. Woken by every batch the
	// dispatcher publishes, the worker would otherwise apply a few events at a time, read the
	// same busy interactions again for each, and commit as often as the dispatcher: what the
	// events of a gap name is read and written once. Reports do not wait for it (the
	// interactions it has not applied are read from the rows).
	Gap time.Duration
	// Retry is how long the worker waits after a failure, and how often a standby tries the
	// lock.
	Retry time.Duration
	// Takeover bounds how long a worker whose connection went silent keeps the lock.
	Takeover time.Duration
	// Settle sets the settled_before the worker writes with its position (its last event's
	// time less Settle), for operators: reports no longer depend on it, since they read the
	// interactions named by the events the worker has not applied from the rows.
	Settle time.Duration

	Logger *slog.Logger
	// Signals, when set, is told what the worker did; tests wait on it.
	Signals *Signals
	// BeforeCommit, when set, is called with the position a transaction is about to commit,
	// after it applied its events (tests stop the process there).
	BeforeCommit func(lastPubSeq int64)
}

// Validate fills in defaults and refuses what cannot work.
func (c *Config) Validate() error {
	switch {
	case c.ConnString == "":
		return errors.New("rollup: the database's URL is required")
	case c.Read == nil:
		return errors.New("rollup: Read is required")
	case c.Page < 0 || c.Settle < 0:
		return errors.New("rollup: sizes and durations must be 0 (the default) or more")
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Page == 0 {
		c.Page = DefaultPage
	}
	c.Page = min(c.Page, service.MaxPublishedPage)
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{{&c.Poll, DefaultPoll}, {&c.Retry, DefaultRetry}, {&c.Takeover, DefaultTakeover}, {&c.Settle, DefaultSettle}, {&c.Gap, DefaultGap}} {
		if *d.p <= 0 {
			*d.p = d.def
		}
	}
	// A leader must run a statement every Poll, a standby every Retry: neither is ended for
	// idling between two.
	c.Takeover = max(c.Takeover, 4*max(c.Poll, c.Retry))
	if c.Wake == nil {
		never := make(chan struct{})
		c.Wake = func() <-chan struct{} { return never }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Signals tells tests what the worker did.
type Signals struct {
	// Applied receives the position after each commit.
	Applied chan int64
	// Failed receives each failure that ended a run of the worker.
	Failed chan error
}

// WaitApplied waits until the worker has committed a position of at least n, for at most
// within.
func (s *Signals) WaitApplied(n int64, within time.Duration) error {
	deadline := time.After(within)
	for {
		select {
		case got := <-s.Applied:
			if got >= n {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("the rollup worker did not reach position %d within %s", n, within)
		}
	}
}

// applied tells the newest position: one the waiter has not taken yet makes way for it.
func (s *Signals) applied(n int64) {
	if s == nil || s.Applied == nil {
		return
	}
	for {
		select {
		case s.Applied <- n:
			return
		default:
		}
		select {
		case <-s.Applied:
		default:
		}
	}
}

func (s *Signals) failed(err error) {
	if s != nil && s.Failed != nil {
		select {
		case s.Failed <- err:
		default:
		}
	}
}

// Stats counts what a worker did since it was made.
type Stats struct {
	// Events is how many events it applied, Skipped how many of them it passed over (they
	// cannot change the rollups), Changed how many times what the rollups hold of an
	// interaction changed; Position the last publication number it committed.
	Events, Skipped, Changed, Position int64
	// Busy is the time spent applying pages (their transactions), reads excluded.
	Busy time.Duration
}

// Worker keeps the rollups.
type Worker struct {
	cfg                                      Config
	leader                                   atomic.Bool
	events, skipped, changed, position, busy atomic.Int64
}

// New validates cfg and makes its Worker; Run makes it work.
func New(cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Worker{cfg: cfg}, nil
}

// IsLeader reports whether this instance is the active worker now.
func (w *Worker) IsLeader() bool { return w.leader.Load() }

// Stats returns what the worker did so far.
func (w *Worker) Stats() Stats {
	return Stats{Events: w.events.Load(), Skipped: w.skipped.Load(), Changed: w.changed.Load(),
		Position: w.position.Load(), Busy: time.Duration(w.busy.Load())}
}

// Run keeps the rollups while this instance holds the lock, waits for it otherwise, and starts
// again after any failure until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := w.session(ctx)
		if ctx.Err() != nil {
			return
		}
		w.cfg.Signals.failed(err)
		w.cfg.Logger.Warn("rollup worker stopped; starting again", "err", err, "retry_in", w.cfg.Retry)
		sleep(ctx, w.cfg.Retry)
	}
}

// errMoved: the position moved under the worker, so another worker ran; this one must stop.
var errMoved = errors.New("the rollup worker's position was moved by another worker")

// session is one database connection's life: wait for the lock, then apply until an error.
func (w *Worker) session(ctx context.Context) error {
	cfg := &w.cfg
	conn, closeConn, err := lead(ctx, cfg, func() {
		cfg.Logger.Info("another instance keeps the report rollups; standing by")
	})
	if err != nil {
		return err
	}
	defer closeConn()
	w.leader.Store(true)
	defer w.leader.Store(false)
	q := db.New(conn)
	stateCtx, cancel := context.WithTimeout(ctx, cfg.Takeover)
	defer cancel()
	// The rollups and the position commit together and applying events again changes nothing,
	// so a crash that loses the last pages only sends the next worker back over them; waiting
	// for each page's flush would put one more flush behind every writer's commit.
	if err := q.CommitsWithoutFlush(stateCtx); err != nil {
		return err
	}
	if err := q.RollupStateEnsure(stateCtx, cfg.Name); err != nil {
		return err
	}
	st, err := q.RollupStateGet(stateCtx, cfg.Name)
	if err != nil {
		return err
	}
	cfg.Logger.Info("keeping the report rollups", "instance", cfg.Instance, "last_pub_seq", st.LastPubSeq)
	pos := st.LastPubSeq
	w.position.Store(pos)
	poll := time.NewTicker(cfg.Poll)
	defer poll.Stop()
	var lastPage time.Time
	// Learnt in this session only: a session starts after a failure or a takeover, when
	// another worker or a rebuild may have applied events this one did not see.
	connected := knownConnected{}
	for {
		if wait := time.Until(lastPage.Add(cfg.Gap)); wait > 0 {
			sleep(ctx, wait)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		wake := cfg.Wake()
		events, err := w.read(ctx, pos)
		if err != nil {
			return err
		}
		if len(events) > 0 {
			if pos, err = w.apply(ctx, conn, pos, events, connected); err != nil {
				return err
			}
			if len(events) == cfg.Page {
				lastPage = time.Time{}
				continue // more to read now
			}
			lastPage = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-poll.C:
			if err := w.check(ctx, q, pos); err != nil {
				return err
			}
		}
	}
}

// lead connects and waits until the connection holds the worker's lock.
func lead(ctx context.Context, cfg *Config, standingBy func()) (*pgx.Conn, func(), error) {
	return database.Leader{
		ConnString: cfg.ConnString, Timeouts: cfg.Timeouts, Takeover: cfg.Takeover, Retry: cfg.Retry,
		TryLock:    func(ctx context.Context, q *db.Queries) (bool, error) { return q.RollupTryLock(ctx, cfg.Name) },
		StandingBy: standingBy,
	}.Lead(ctx)
}

func (w *Worker) read(ctx context.Context, after int64) ([]service.PublishedEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Takeover)
	defer cancel()
	events, err := w.cfg.Read(ctx, service.PublishedFilter{}, after, w.cfg.Page)
	if err != nil {
		return nil, fmt.Errorf("reading published events: %w", err)
	}
	return events, nil
}

// apply brings the rollups up to date with the interactions the events name, and moves the
// position past them, in one transaction.
func (w *Worker) apply(ctx context.Context, conn *pgx.Conn, pos int64, events []service.PublishedEvent,
	connected knownConnected) (int64, error) {
	cfg := &w.cfg
	start := time.Now()
	last := events[len(events)-1]
	keys, skipped := interactionsOf(events, connected)
	ctx, cancel := context.WithTimeout(ctx, cfg.Takeover)
	defer cancel()
	var changed int
	var nowConnected []key
	err := database.WithTx(ctx, conn, pgx.TxOptions{}, func(ctx context.Context, q *db.Queries) error {
		var err error
		if changed, nowConnected, err = reconcile(ctx, q, keys); err != nil {
			return err
		}
		moved, err := q.RollupStateAdvance(ctx, db.RollupStateAdvanceParams{Name: cfg.Name, LastPubSeq: last.PubSeq,
			SettledBefore: last.CreatedAt.Add(-cfg.Settle), Leader: &cfg.Instance, PreviousPubSeq: pos})
		if err != nil {
			return fmt.Errorf("saving the rollup worker's position: %w", err)
		}
		if moved != 1 {
			return errMoved
		}
		if cfg.BeforeCommit != nil {
			cfg.BeforeCommit(last.PubSeq)
		}
		return nil
	})
	if err != nil {
		return pos, err
	}
	connected.learn(nowConnected)
	w.events.Add(int64(len(events)))
	w.skipped.Add(int64(skipped))
	w.changed.Add(int64(changed))
	w.busy.Add(int64(time.Since(start)))
	w.position.Store(last.PubSeq)
	cfg.Signals.applied(last.PubSeq)
	return last.PubSeq, nil
}

// check runs a statement on the lock's connection, so the server does not end an idle
// worker's session, and makes sure no other worker moved the position.
func (w *Worker) check(ctx context.Context, q *db.Queries, pos int64) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Takeover)
	defer cancel()
	st, err := q.RollupStateGet(ctx, w.cfg.Name)
	if err != nil {
		return err
	}
	if st.LastPubSeq != pos {
		return errMoved
	}
	return nil
}

// key is one interaction's stay in a session.
type key struct{ session, interaction string }

// inert are the events that change nothing the rollups hold of an interaction: not its
// creation, media, owner, outcome, end, first connection, resources, transfers or
// conferences. A party's move (interaction.partystatechanged, the most frequent event) can
// change the first connection only when it is to established (from alerting); to released it
// is followed by interaction.partydeleted, and the resource stays among those the interaction
// ever had. Errors answer requests that changed nothing.
var inert = map[string]bool{
	"interaction.udata.changed": true, "interaction.present": true, "interaction.notcontrolled": true,
	"interaction.partydeleted": true,
}

// knownConnected are interactions (stays) the worker found connected, in its session: their
// first connection is in the rollups and stays what it is, so a party's move to established
// cannot change what they give the rollups. An interaction leaves it whenever an event that
// could change it names it (added anew to its session, its first connection is forgotten),
// before the worker reads its row again. On the reports benchmark's write path, parties move
// between established and held: without it, every other event cost a look-up of its
// interaction that changed nothing.
type knownConnected map[key]struct{}

// maxKnownConnected bounds the set (about 10 MB); full, it starts again empty.
const maxKnownConnected = 100_000

func (c knownConnected) learn(keys []key) {
	if len(c)+len(keys) > maxKnownConnected {
		clear(c)
	}
	for _, k := range keys {
		c[k] = struct{}{}
	}
}

// interactionsOf returns the interactions the events name, each once, in their order, and how
// many events it passed over (they cannot change the rollups). The interactions named by
// events it does not pass over leave connected.
func interactionsOf(events []service.PublishedEvent, connected knownConnected) ([]key, int) {
	var attrs struct {
		InteractionID     string `json:"interactionid"`
		FromInteractionID string `json:"frominteractionid"`
		ToInteractionID   string `json:"tointeractionid"`
		PartyState        string `json:"partystate"`
	}
	seen := map[key]bool{}
	var keys []key
	skipped := 0
	for _, e := range events {
		if inert[e.Name] || strings.HasPrefix(e.Name, "error.") {
			skipped++
			continue // not even read
		}
		attrs.InteractionID, attrs.FromInteractionID, attrs.ToInteractionID, attrs.PartyState = "", "", "", ""
		if json.Unmarshal(e.Data, &attrs) != nil {
			continue // not an object: names no interaction
		}
		if e.Name == "interaction.partystatechanged" {
			_, known := connected[key{e.SessionID, attrs.InteractionID}]
			if attrs.PartyState != "established" || known {
				skipped++
				continue
			}
		}
		for _, id := range []string{attrs.InteractionID, attrs.FromInteractionID, attrs.ToInteractionID} {
			k := key{e.SessionID, id}
			if id == "" {
				continue
			}
			delete(connected, k)
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys, skipped
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
