// Package natsbridge copies the published events, in publication order, into a NATS
// JetStream stream, beside the event streams of the HTTP API. Each event goes to a subject by
// node, session and event name (Subject), with its id as the JetStream message id. A bridge
// starting goes on after the stream's last event, so a restart sends none again (and where the
// stream lost that event, the server drops copies by message id). The bridge's position (the last
// publication number JetStream acknowledged, with every one before it) is kept in
// PostgreSQL and moves only when JetStream has acknowledged every event up to it.
//
// One bridge per stream is active across instances: the one holding a PostgreSQL advisory
// lock of its own on a connection of its own, as the dispatcher does; the others stand by.
package natsbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ixnstore/ixnstore/client/natsevents"
	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/service"
)

// Defaults of Config.
const (
	DefaultStream        = "IXNSTORE"
	DefaultSubjectPrefix = "ixn"
	DefaultDuplicates    = 2 * time.Minute
	DefaultWindow        = 1024
	DefaultPage          = 1000
	DefaultAckTimeout    = 10 * time.Second
	DefaultPoll          = time.Second
	DefaultSaveEvery     = 50 * time.Millisecond
	DefaultRetry         = time.Second
	DefaultTakeover      = 5 * time.Second
)

// Config sets a Bridge up. ConnString, URL and Read are required; zero values of the others
// take the defaults above.
type Config struct {
	// ConnString is the database; the bridge keeps a connection of its own, which holds the
	// lock that makes it the one bridge of its stream and keeps its position.
	ConnString string
	// Timeouts are those of that connection (connect, keep-alives).
	Timeouts database.Timeouts
	// Instance names this process in logs, to NATS and in nats_bridge_state.leader.
	Instance string

	// URL is the NATS server (or a comma-separated list of a cluster's); credentials may
	// be in it (nats://user:password@host:4222) or in CredsFile.
	URL       string
	CredsFile string
	// Stream is the JetStream stream's name; its subjects are SubjectPrefix.>.
	Stream        string
	SubjectPrefix string
	// Retention is the stream's retention policy: "limits" (the default), "interest" or
	// "workqueue".
	Retention string
	// MaxAge is how long the stream keeps a message (0: no limit).
	MaxAge time.Duration
	// Duplicates is the stream's duplicate window: an event sent again within it is dropped
	// by the server.
	Duplicates time.Duration
	// Replicas is the stream's replica count (1 on a single server, 3 or 5 in a cluster).
	Replicas int
	// Memory keeps the stream in memory rather than in files (tests).
	Memory bool

	// Read returns published events after a publication number, in publication order
	// (service.Store's ListPublished).
	Read func(ctx context.Context, f service.PublishedFilter, after int64, limit int) ([]service.PublishedEvent, error)
	// Wake returns a channel closed when events are published (the dispatcher's signal); nil:
	// the bridge only polls.
	Wake func() <-chan struct{}
	// Window is the most events sent and not yet acknowledged.
	Window int
	// Page is the most events read at a time.
	Page int
	// AckTimeout is how long JetStream has to acknowledge an event before the bridge takes
	// it as not stored and starts again from its position.
	AckTimeout time.Duration
	// Poll is how often the bridge reads without being woken, and checks its connection
	// and position.
	Poll time.Duration
	// SaveEvery is the least time between two writes of the position while events flow.
	SaveEvery time.Duration
	// Retry is how long the bridge waits after a failure, and how often a standby tries the
	// lock.
	Retry time.Duration
	// Takeover bounds how long a bridge whose database connection went silent keeps the lock
	// (the server ends its session after this long without a statement), as the
	// dispatcher's.
	Takeover time.Duration

	Logger *slog.Logger
	// Signals, when set, is told what the bridge did; tests wait on it.
	Signals *Signals
}

// Validate fills in defaults and refuses what cannot work.
func (c *Config) Validate() error {
	switch {
	case c.ConnString == "":
		return errors.New("natsbridge: the database's URL is required")
	case c.URL == "":
		return errors.New("natsbridge: the NATS URL is required")
	case c.Read == nil:
		return errors.New("natsbridge: Read is required")
	}
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = DefaultSubjectPrefix
	}
	if strings.ContainsAny(c.Stream, ".*> \t\r\n/\\") || len(c.Stream) > 255 {
		return fmt.Errorf("natsbridge: %q is not a stream name (no '.', '*', '>', '/', '\\' or white space)", c.Stream)
	}
	for _, tok := range strings.Split(c.SubjectPrefix, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Errorf("natsbridge: %q is not a subject prefix (tokens without '*', '>' or white space, separated by single dots)", c.SubjectPrefix)
		}
	}
	if _, err := retention(c.Retention); err != nil {
		return err
	}
	if c.MaxAge < 0 || c.Duplicates < 0 || c.Replicas < 0 || c.Window < 0 || c.Page < 0 {
		return errors.New("natsbridge: durations and sizes must be 0 (the default) or more")
	}
	if c.Duplicates == 0 {
		c.Duplicates = DefaultDuplicates
	}
	if c.MaxAge > 0 && c.Duplicates > c.MaxAge {
		return errors.New("natsbridge: the duplicate window cannot be longer than the stream's max age")
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Replicas > 5 {
		return errors.New("natsbridge: JetStream keeps at most 5 replicas")
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Page == 0 {
		c.Page = DefaultPage
	}
	c.Page = min(c.Page, service.MaxPublishedPage)
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{{&c.AckTimeout, DefaultAckTimeout}, {&c.Poll, DefaultPoll}, {&c.SaveEvery, DefaultSaveEvery},
		{&c.Retry, DefaultRetry}, {&c.Takeover, DefaultTakeover}} {
		if *d.p <= 0 {
			*d.p = d.def
		}
	}
	// A session that must run a statement every Poll (the leader) or Retry (a standby) is
	// not to be ended for idling between two of them.
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

func retention(s string) (jetstream.RetentionPolicy, error) {
	switch s {
	case "", "limits":
		return jetstream.LimitsPolicy, nil
	case "interest":
		return jetstream.InterestPolicy, nil
	case "workqueue":
		return jetstream.WorkQueuePolicy, nil
	}
	return 0, fmt.Errorf("natsbridge: retention %q is not limits, interest or workqueue", s)
}

// Signals tells tests what the bridge did.
type Signals struct {
	// Saved receives the position after each write of it.
	Saved chan int64
	// Failed receives each failure that ended a run of the bridge.
	Failed chan error
}

// WaitSaved waits until the bridge has saved a position of at least n, for at most within.
func (s *Signals) WaitSaved(n int64, within time.Duration) error {
	deadline := time.After(within)
	for {
		select {
		case got := <-s.Saved:
			if got >= n {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("the bridge did not save a position of %d or more within %s", n, within)
		}
	}
}

// WaitFailed waits until a run of the bridge has failed, for at most within, and returns why.
func (s *Signals) WaitFailed(within time.Duration) (error, error) {
	select {
	case err := <-s.Failed:
		return err, nil
	case <-time.After(within):
		return nil, fmt.Errorf("no run of the bridge failed within %s", within)
	}
}

// saved tells the newest position: one the waiter has not taken yet makes way for it.
func (s *Signals) saved(n int64) {
	if s == nil || s.Saved == nil {
		return
	}
	for {
		select {
		case s.Saved <- n:
			return
		default:
		}
		select {
		case <-s.Saved:
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

// Stats counts what a bridge did since it was made.
type Stats struct {
	// Stored is how many events JetStream stored; Duplicates how many it acknowledged as
	// copies of events it held already (sent again after a failure or a takeover).
	Stored, Duplicates int64
}

// Bridge copies published events to JetStream.
type Bridge struct {
	cfg               Config
	leader            atomic.Bool
	stored, duplicate atomic.Int64
}

// New validates cfg and makes its Bridge; Run makes it work.
func New(cfg Config) (*Bridge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Bridge{cfg: cfg}, nil
}

// IsLeader reports whether this instance is the active bridge now.
func (b *Bridge) IsLeader() bool { return b.leader.Load() }

// Stats returns what the bridge did so far.
func (b *Bridge) Stats() Stats {
	return Stats{Stored: b.stored.Load(), Duplicates: b.duplicate.Load()}
}

// Run bridges while this instance holds the lock, waits for it otherwise, and starts again
// after any failure (of the database, of NATS) until ctx ends.
func (b *Bridge) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := b.session(ctx)
		if ctx.Err() != nil {
			return
		}
		b.cfg.Signals.failed(err)
		b.cfg.Logger.Warn("NATS bridge stopped; starting again", "err", err, "retry_in", b.cfg.Retry)
		sleep(ctx, b.cfg.Retry)
	}
}

// session is one database connection's life: wait for the lock, then bridge until an error.
func (b *Bridge) session(ctx context.Context) error {
	conn, closeConn, err := database.Leader{
		ConnString: b.cfg.ConnString, Timeouts: b.cfg.Timeouts, Takeover: b.cfg.Takeover, Retry: b.cfg.Retry,
		TryLock: func(ctx context.Context, q *db.Queries) (bool, error) { return q.NatsBridgeTryLock(ctx, b.cfg.Stream) },
		StandingBy: func() {
			b.cfg.Logger.Info("another instance bridges to NATS; standing by", "stream", b.cfg.Stream)
		},
	}.Lead(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	q := db.New(conn)
	b.leader.Store(true)
	defer b.leader.Store(false)

	// A lost connection ends the run at once (the acknowledgements in flight will not come);
	// the next run connects anew.
	closed := make(chan struct{})
	opts := []nats.Option{nats.Name("ixnstore " + b.cfg.Instance), nats.Timeout(b.cfg.Takeover),
		nats.NoReconnect(), nats.ClosedHandler(func(*nats.Conn) { close(closed) })}
	if b.cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(b.cfg.CredsFile))
	}
	nc, err := nats.Connect(b.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("connecting to NATS: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(b.cfg.Window),
		jetstream.WithPublishAsyncTimeout(b.cfg.AckTimeout), jetstream.WithDefaultTimeout(b.cfg.Takeover))
	if err != nil {
		return err
	}
	if err := b.ensureStream(ctx, js); err != nil {
		return err
	}
	stateCtx, cancel := context.WithTimeout(ctx, b.cfg.Takeover)
	defer cancel()
	if err := q.NatsBridgeStateEnsure(stateCtx, b.cfg.Stream); err != nil {
		return err
	}
	st, err := q.NatsBridgeStateGet(stateCtx, b.cfg.Stream)
	if err != nil {
		return err
	}
	r := &run{b: b, q: q, js: js, closed: closed, saved: st.LastPubSeq, acked: st.LastPubSeq, sent: st.LastPubSeq}
	last, err := b.lastInStream(ctx, js)
	if err != nil {
		return err
	}
	if last.pubSeq > r.sent {
		// JetStream stored events whose acknowledgement the last run did not live to save (a
		// crash, or NATS stopping with acknowledgements on the wire): go on after them rather
		// than send them again and count on the duplicate window, which a restarted server
		// or a long outage does not always keep.
		r.acked, r.sent, r.lastID = last.pubSeq, last.pubSeq, last.msgID
	} else if last.pubSeq == r.sent {
		r.lastID = last.msgID
	}
	b.cfg.Logger.Info("bridging to NATS", "instance", b.cfg.Instance, "stream", b.cfg.Stream,
		"last_pub_seq", st.LastPubSeq, "stream_last_pub_seq", last.pubSeq)
	return r.lead(ctx)
}

// ensureStream creates the stream, or checks that the one there is as configured: a stream
// made by hand or by an older configuration is not changed behind its owner's back.
func (b *Bridge) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Takeover)
	defer cancel()
	want := b.streamConfig()
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := js.CreateStream(ctx, want); err != nil {
			return fmt.Errorf("creating the stream %s: %w", want.Name, err)
		}
		b.cfg.Logger.Info("created the JetStream stream", "stream", want.Name, "subjects", want.Subjects,
			"retention", want.Retention.String(), "duplicates", want.Duplicates, "replicas", want.Replicas)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the stream %s: %w", want.Name, err)
	}
	if diff := streamDiff(want, s.CachedInfo().Config); diff != "" {
		return fmt.Errorf("the stream %s is not as configured (%s): change the flags or the stream", want.Name, diff)
	}
	return nil
}

// streamEvent is the last event the stream holds: its publication number and message id.
type streamEvent struct {
	pubSeq int64
	msgID  string
}

// lastInStream reads the stream's last message, when it is one of the bridge's events; the
// zero streamEvent when the stream is empty or its last message is gone (a limit, a consumer
// of a work queue) or is not an event.
func (b *Bridge) lastInStream(ctx context.Context, js jetstream.JetStream) (streamEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Takeover)
	defer cancel()
	s, err := js.Stream(ctx, b.cfg.Stream)
	if err != nil {
		return streamEvent{}, fmt.Errorf("reading the stream %s: %w", b.cfg.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return streamEvent{}, fmt.Errorf("reading the stream %s: %w", b.cfg.Stream, err)
	}
	if info.State.Msgs == 0 {
		return streamEvent{}, nil
	}
	msg, err := s.GetMsg(ctx, info.State.LastSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return streamEvent{}, nil
	}
	if err != nil {
		return streamEvent{}, fmt.Errorf("reading the last message of the stream %s: %w", b.cfg.Stream, err)
	}
	var ev struct {
		PubSeq int64 `json:"pub_seq"`
	}
	id := msg.Header.Get(jetstream.MsgIDHeader)
	if id == "" || json.Unmarshal(msg.Data, &ev) != nil || ev.PubSeq <= 0 {
		return streamEvent{}, nil
	}
	return streamEvent{pubSeq: ev.PubSeq, msgID: id}, nil
}

func (b *Bridge) streamConfig() jetstream.StreamConfig {
	policy, _ := retention(b.cfg.Retention) // checked by Validate
	storage := jetstream.FileStorage
	if b.cfg.Memory {
		storage = jetstream.MemoryStorage
	}
	return jetstream.StreamConfig{
		Name: b.cfg.Stream, Subjects: []string{b.cfg.SubjectPrefix + ".>"}, Retention: policy,
		MaxAge: b.cfg.MaxAge, Duplicates: b.cfg.Duplicates, Replicas: b.cfg.Replicas, Storage: storage,
		Description: "ixnstore's published events (ixnstore serve --nats-url)",
	}
}

// streamDiff says how have differs from want in what the bridge relies on.
func streamDiff(want, have jetstream.StreamConfig) string {
	var diffs []string
	covered := false
	for _, s := range have.Subjects {
		covered = covered || s == want.Subjects[0] || s == ">"
	}
	if !covered {
		diffs = append(diffs, fmt.Sprintf("subjects %v do not hold %s", have.Subjects, want.Subjects[0]))
	}
	if have.Retention != want.Retention {
		diffs = append(diffs, fmt.Sprintf("retention %s, not %s", have.Retention, want.Retention))
	}
	if have.Duplicates != want.Duplicates {
		diffs = append(diffs, fmt.Sprintf("duplicate window %s, not %s", have.Duplicates, want.Duplicates))
	}
	if have.Replicas != want.Replicas {
		diffs = append(diffs, fmt.Sprintf("%d replicas, not %d", have.Replicas, want.Replicas))
	}
	if have.MaxAge != want.MaxAge {
		diffs = append(diffs, fmt.Sprintf("max age %s, not %s", have.MaxAge, want.MaxAge))
	}
	if have.Storage != want.Storage {
		diffs = append(diffs, fmt.Sprintf("%s storage, not %s", have.Storage, want.Storage))
	}
	return strings.Join(diffs, "; ")
}

// errMoved: the position moved under the bridge, so another bridge ran; this one must stop.
var errMoved = errors.New("the NATS bridge's position was moved by another bridge")

// run is one leadership's publishing: events are sent as they are read, up to Window of them
// unacknowledged, each expecting the one sent before it to be the stream's last message.
type run struct {
	b      *Bridge
	q      *db.Queries
	js     jetstream.JetStream
	closed <-chan struct{} // closed with the connection to NATS

	// saved ≤ acked ≤ sent: the position in the database; the last event such that it and
	// every one before it are acknowledged; the last event sent.
	saved, acked, sent int64
	lastSave           time.Time
	lastID             string // the message id of the last event sent
	inflight           []pending
	buf                []service.PublishedEvent // read, not yet sent
}

type pending struct {
	pubSeq int64
	f      jetstream.PubAckFuture
}

// lead publishes until an error: a failed or missing acknowledgement ends the run with the
// position saved, and the next run starts from it.
func (r *run) lead(ctx context.Context) error {
	cfg := &r.b.cfg
	poll := time.NewTicker(cfg.Poll)
	defer poll.Stop()
	saveTimer := time.NewTimer(time.Hour)
	defer saveTimer.Stop()
	stale := true // publication may hold events not read yet
	wake := cfg.Wake()
	for {
		if stale && len(r.buf) == 0 && len(r.inflight) < cfg.Window {
			wake = cfg.Wake()
			if err := r.read(ctx); err != nil {
				return r.stop(ctx, err)
			}
			stale = len(r.buf) == cfg.Page
		}
		if err := r.send(); err != nil {
			return r.stop(ctx, err)
		}
		if err := r.settle(); err != nil {
			return r.stop(ctx, err)
		}
		var saveDue <-chan time.Time
		if r.acked > r.saved {
			wait := time.Until(r.lastSave.Add(cfg.SaveEvery))
			if wait <= 0 || len(r.inflight) == 0 && len(r.buf) == 0 {
				if err := r.save(ctx); err != nil {
					return err
				}
			} else {
				saveTimer.Reset(wait)
				saveDue = saveTimer.C
			}
		}
		if len(r.inflight) < cfg.Window && (len(r.buf) > 0 || stale) {
			continue // more to send or read now
		}
		var ok <-chan *jetstream.PubAck
		var failed <-chan error
		if len(r.inflight) > 0 {
			ok, failed = r.inflight[0].f.Ok(), r.inflight[0].f.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ack := <-ok:
			r.acknowledged(ack)
		case err := <-failed:
			return r.stop(ctx, r.notStored(err))
		case <-r.closed:
			_ = r.settle() // what was acknowledged before the loss still counts
			return r.stop(ctx, errors.New("the connection to NATS was lost"))
		case <-wake:
			stale = true
		case <-poll.C:
			stale = true
			if err := r.check(ctx); err != nil {
				return err
			}
		case <-saveDue:
		}
	}
}

// read takes the next page of published events after the last one sent.
func (r *run) read(ctx context.Context) error {
	cfg := &r.b.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.Takeover)
	defer cancel()
	events, err := cfg.Read(ctx, service.PublishedFilter{}, r.sent, cfg.Page)
	if err != nil {
		return fmt.Errorf("reading published events: %w", err)
	}
	if len(events) > 0 && events[0].PubSeq != r.sent+1 {
		// Publication numbers have no gaps: these were removed by retention before they
		// reached JetStream (the bridge was stopped longer than --retention). The position
		// passes them when the next event is acknowledged.
		cfg.Logger.Error("published events were removed before they reached NATS", "stream", cfg.Stream,
			"from_pub_seq", r.sent+1, "to_pub_seq", events[0].PubSeq-1)
	}
	r.buf = events
	return nil
}

// send sends buffered events while the window has room.
func (r *run) send() error {
	cfg := &r.b.cfg
	for len(r.buf) > 0 && len(r.inflight) < cfg.Window {
		e := r.buf[0]
		data := e.AppendJSON(make([]byte, 0, 256+len(e.Data)))
		id := strconv.FormatInt(e.ID, 10)
		msg := &nats.Msg{Subject: natsevents.Subject(cfg.SubjectPrefix, e.NodeID, e.SessionID, e.Name), Data: data, Header: nats.Header{}}
		// No retries inside the client: a message sent again by the client after the next
		// one would be stored out of order. The expected last message id makes the server
		// refuse an event whose predecessor it did not store, so a hole is never skipped
		// over; the first message of a run has no predecessor to expect (it may be a copy).
		opts := []jetstream.PublishOpt{jetstream.WithMsgID(id), jetstream.WithRetryAttempts(0)}
		if r.lastID != "" {
			opts = append(opts, jetstream.WithExpectLastMsgID(r.lastID))
		}
		f, err := r.js.PublishMsgAsync(msg, opts...)
		if err != nil {
			return fmt.Errorf("publishing event %d (pub_seq %d): %w", e.ID, e.PubSeq, err)
		}
		r.inflight = append(r.inflight, pending{pubSeq: e.PubSeq, f: f})
		r.buf = r.buf[1:]
		r.sent, r.lastID = e.PubSeq, id
	}
	if len(r.buf) == 0 {
		r.buf = nil
	}
	return nil
}

// settle takes the acknowledgements that arrived for the oldest events in flight.
func (r *run) settle() error {
	for len(r.inflight) > 0 {
		f := r.inflight[0].f
		select {
		case ack := <-f.Ok():
			r.acknowledged(ack)
		case err := <-f.Err():
			return r.notStored(err)
		default:
			return nil
		}
	}
	return nil
}

// acknowledged records the acknowledgement of the oldest event in flight.
func (r *run) acknowledged(ack *jetstream.PubAck) {
	if ack.Duplicate {
		r.b.duplicate.Add(1)
	} else {
		r.b.stored.Add(1)
	}
	r.acked = r.inflight[0].pubSeq
	r.inflight[0] = pending{}
	r.inflight = r.inflight[1:]
}

func (r *run) notStored(err error) error {
	return fmt.Errorf("JetStream did not store the event of pub_seq %d: %w", r.inflight[0].pubSeq, err)
}

// stop ends the run after err, saving the position first if it can.
func (r *run) stop(ctx context.Context, err error) error {
	if r.acked > r.saved && ctx.Err() == nil {
		if serr := r.save(ctx); serr != nil {
			return errors.Join(err, serr)
		}
	}
	return err
}

// save writes the position, if no other bridge moved it since this one read it.
func (r *run) save(ctx context.Context) error {
	cfg := &r.b.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.Takeover)
	defer cancel()
	moved, err := r.q.NatsBridgeStateAdvance(ctx, db.NatsBridgeStateAdvanceParams{
		Stream: cfg.Stream, LastPubSeq: r.acked, Leader: &cfg.Instance, PreviousPubSeq: r.saved})
	if err != nil {
		return fmt.Errorf("saving the NATS bridge's position: %w", err)
	}
	if moved != 1 {
		return errMoved
	}
	r.saved, r.lastSave = r.acked, time.Now()
	cfg.Signals.saved(r.saved)
	return nil
}

// check runs a statement on the lock's connection, so the server does not end an idle
// leader's session, and makes sure no other bridge moved the position.
func (r *run) check(ctx context.Context) error {
	cfg := &r.b.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.Takeover)
	defer cancel()
	st, err := r.q.NatsBridgeStateGet(ctx, cfg.Stream)
	if err != nil {
		return err
	}
	if st.LastPubSeq != r.saved {
		return errMoved
	}
	return nil
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
