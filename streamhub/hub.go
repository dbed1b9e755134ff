// Package streamhub fans published events out to the event streams of one instance. One
// reader per instance reads `publication` (woken by the dispatcher, or polling) and keeps a
// window of the newest events in memory; every live stream takes its events from that
// window, so a thousand idle streams cost the database what one does. A stream that starts
// behind the window (resuming from an old cursor) catches up from the database in small
// pages, a few streams at a time, and then joins the window. A live stream that falls out of
// the window while it was behind (its client reads slower than events come) is cut with the
// cursor to resume from, instead of having events kept for it without limit; one that was at
// the head when more than the window came at once (a backlog published) catches up again.
package streamhub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ixnstore/ixnstore/service"
)

// Event is a published event as streams send it.
type Event = service.PublishedEvent

// Filter narrows a stream to a session or a node's sessions, as service.ListPublished does.
type Filter = service.PublishedFilter

// ErrTooManyStreams: the instance serves Config.MaxStreams streams already.
var ErrTooManyStreams = errors.New("too many streams")

// SlowError ends a live stream that fell out of the window. After is the cursor to resume
// from: every event of the stream up to it was handed out.
type SlowError struct {
	After  int64
	Behind int64
}

func (e *SlowError) Error() string {
	return fmt.Sprintf("the stream fell %d events behind the newest, more than are kept for it; resume after %d", e.Behind, e.After)
}

// Defaults of Config.
const (
	DefaultWindow         = 10000
	DefaultPage           = 200
	DefaultHubPage        = 1000
	DefaultMaxStreams     = 5000
	DefaultCatchUpReaders = 3
	DefaultCachedPages    = 64
	DefaultPoll           = time.Second
)

// Config sets a Hub up. Read and Last are required; zero values of the others take the
// defaults above.
type Config struct {
	// Read returns published events after a position in publication order (service.Store's
	// ListPublished on the streams' own pool).
	Read func(ctx context.Context, f Filter, after int64, limit int) ([]Event, error)
	// Last returns the newest publication number; the hub starts there.
	Last func(ctx context.Context) (int64, error)
	// Wake returns a channel closed when events are published (the dispatcher's signal); nil:
	// the hub only polls.
	Wake func() <-chan struct{}
	// Poll is how often the hub reads without being woken (what another instance published).
	Poll time.Duration
	// Window is how many of the newest events are kept in memory, and so how far a live
	// stream may fall behind before it is cut.
	Window int
	// Page is the most events a stream takes at a time, from the window or the database.
	Page int
	// HubPage is the most events the hub reads at a time.
	HubPage int
	// MaxStreams is the most streams at once; beyond it Subscribe answers ErrTooManyStreams.
	MaxStreams int
	// CatchUpReaders is the most streams that read the database at once to catch up.
	CatchUpReaders int
	// CachedPages is how many pages of unfiltered catch-up reads are kept, so that streams
	// resuming from the same place share their reads.
	CachedPages int
	Logger      *slog.Logger
	// Signals, when set, is told what the hub did; tests wait on it instead of sleeping.
	Signals *Signals
	// IdleRest stops the reading while no stream is subscribed: each publish would otherwise
	// cost the database a read for nobody, on a machine the writers share. The window is
	// forgotten then, and the first stream to subscribe wakes the hub, which starts again
	// from where publication stands (a stream behind that catches up from the database).
	IdleRest bool
}

// Signals tells tests what the hub did.
type Signals struct {
	// Read receives the newest publication number the hub holds after each read.
	Read chan int64
}

// WaitRead waits until the hub holds the event hi (or a later one), for at most within.
func (s *Signals) WaitRead(hi int64, within time.Duration) error {
	deadline := time.After(within)
	for {
		select {
		case n := <-s.Read:
			if n >= hi {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("the hub did not read up to %d within %s", hi, within)
		}
	}
}

func (s *Signals) read(hi int64) {
	if s != nil && s.Read != nil {
		select {
		case s.Read <- hi:
		default:
		}
	}
}

// Validate fills in defaults and refuses what cannot work.
func (c *Config) Validate() error {
	if c.Read == nil || c.Last == nil {
		return errors.New("streamhub: Read and Last are required")
	}
	if c.Wake == nil {
		never := make(chan struct{})
		c.Wake = func() <-chan struct{} { return never }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range []struct {
		p   *int
		def int
	}{{&c.Window, DefaultWindow}, {&c.Page, DefaultPage}, {&c.HubPage, DefaultHubPage},
		{&c.MaxStreams, DefaultMaxStreams}, {&c.CatchUpReaders, DefaultCatchUpReaders}, {&c.CachedPages, DefaultCachedPages}} {
		if *d.p < 0 {
			return errors.New("streamhub: sizes must be 0 (the default) or more")
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.Page > service.MaxPublishedPage || c.HubPage > service.MaxPublishedPage {
		return fmt.Errorf("streamhub: pages are at most %d events", service.MaxPublishedPage)
	}
	if c.Page > c.Window {
		return errors.New("streamhub: a page cannot be larger than the window")
	}
	return nil
}

// Hub is the one reader of publication of an instance and the window its streams read.
type Hub struct {
	cfg Config

	mu      sync.RWMutex
	ring    []Event       // ring[pubSeq % len(ring)] for pubSeq in [lo, hi]
	lo, hi  int64         // the window; empty while hi < lo
	ready   bool          // the hub knows where publication stands
	err     error         // the last read's failure, nil once a read works
	changed chan struct{} // closed when the hub reads anything, or fails
	streams int
	kick    chan struct{} // a stream subscribed: read at once (with Config.IdleRest)

	// keyed: per session ("s:" id) and node ("n:" id) that filtered streams wait on, a
	// channel closed when an event of theirs is read. An idle filtered stream is not woken
	// by every publish: two thousand of them would cost the writers' CPU.
	keysMu sync.Mutex
	keyed  map[string]chan struct{}

	catchUp chan struct{} // a slot per catch-up reader
	pages   *pageCache
}

// New makes a Hub; Run makes it read.
func New(cfg Config) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Hub{cfg: cfg, ring: make([]Event, cfg.Window), changed: make(chan struct{}), keyed: map[string]chan struct{}{},
		catchUp: make(chan struct{}, cfg.CatchUpReaders), pages: newPageCache(cfg.CachedPages),
		kick: make(chan struct{}, 1)}, nil
}

// Streams returns how many streams are subscribed.
func (h *Hub) Streams() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.streams
}

// Run reads publication until ctx ends: at start where it stands, then what is new each time
// it is woken or polls.
func (h *Hub) Run(ctx context.Context) {
	for {
		woken := h.cfg.Wake()
		if h.cfg.IdleRest && h.rest() {
			// Nobody to read for: wait for a stream (or the end) alone.
			select {
			case <-ctx.Done():
				return
			case <-h.kick:
			}
			continue
		}
		if err := h.readNew(ctx); err != nil && ctx.Err() == nil {
			h.cfg.Logger.Warn("reading published events for the streams", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-woken:
		case <-h.kick:
		case <-time.After(h.cfg.Poll):
		}
	}
}

// rest tells whether no stream is subscribed and, if so, forgets the window: what it holds
// goes stale while the hub does not read.
func (h *Hub) rest() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams > 0 {
		return false
	}
	h.ready = false
	return true
}

// readNew reads what was published since the last read, a page at a time, and wakes the
// streams after each page.
func (h *Hub) readNew(ctx context.Context) error {
	h.mu.RLock()
	ready, hi := h.ready, h.hi
	h.mu.RUnlock()
	if !ready {
		last, err := h.cfg.Last(ctx)
		if err != nil {
			h.failed(err)
			return err
		}
		h.mu.Lock()
		h.lo, h.hi, h.ready, h.err = last+1, last, true, nil
		h.wakeLocked()
		h.mu.Unlock()
		hi = last
		// And on at once to what was published since.
	}
	for {
		events, err := h.cfg.Read(ctx, Filter{}, hi, h.cfg.HubPage)
		if err != nil {
			h.failed(err)
			return err
		}
		h.mu.Lock()
		for _, e := range events {
			if e.PubSeq != h.hi+1 {
				// Publication numbers have no gaps; one here means events were removed
				// (retention) before the hub read them. The window starts again.
				h.lo = e.PubSeq
			}
			h.ring[e.PubSeq%int64(len(h.ring))] = e
			h.hi = e.PubSeq
			h.wakeKeys(e)
			if h.hi-h.lo+1 > int64(len(h.ring)) {
				h.lo = h.hi - int64(len(h.ring)) + 1
			}
		}
		h.err = nil
		hi = h.hi
		if len(events) > 0 {
			h.wakeLocked()
		}
		h.mu.Unlock()
		h.cfg.Signals.read(hi)
		if len(events) < h.cfg.HubPage {
			return nil
		}
	}
}

func (h *Hub) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
	h.wakeLocked()
}

// wakeKeys wakes the filtered streams that e is for; the caller holds mu.
func (h *Hub) wakeKeys(e Event) {
	h.keysMu.Lock()
	defer h.keysMu.Unlock()
	if len(h.keyed) == 0 {
		return
	}
	keys := [2]string{"s:" + e.SessionID}
	if e.NodeID != nil {
		keys[1] = "n:" + *e.NodeID
	}
	for _, k := range keys {
		if ch, ok := h.keyed[k]; ok {
			close(ch)
			delete(h.keyed, k)
		}
	}
	if len(h.keyed) > 2*h.cfg.MaxStreams {
		// Keys of streams that are gone: wake all, those still there wait again.
		for k, ch := range h.keyed {
			close(ch)
			delete(h.keyed, k)
		}
	}
}

// waitChan returns what the stream waits on when it has taken everything from the window:
// its session's or node's channel, or every read's. The caller holds mu (read), so nothing
// is read between the stream's look at the window and this.
func (s *Stream) waitChan() <-chan struct{} {
	h := s.hub
	var key string
	switch {
	case s.filter.SessionID != "":
		key = "s:" + s.filter.SessionID
	case s.filter.NodeID != "":
		key = "n:" + s.filter.NodeID
	default:
		return h.changed
	}
	h.keysMu.Lock()
	defer h.keysMu.Unlock()
	ch, ok := h.keyed[key]
	if !ok {
		ch = make(chan struct{})
		h.keyed[key] = ch
	}
	return ch
}

// wakeLocked wakes every stream waiting for the window to change.
func (h *Hub) wakeLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Subscribe starts a stream of the events after the position after that f lets through.
// It answers ErrTooManyStreams when Config.MaxStreams streams are subscribed. Close the
// stream when done.
func (h *Hub) Subscribe(f Filter, after int64) (*Stream, error) {
	if after < 0 {
		return nil, errors.New("streamhub: the position is 0 or more")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams >= h.cfg.MaxStreams {
		return nil, ErrTooManyStreams
	}
	h.streams++
	select {
	case h.kick <- struct{}{}:
	default: // a kick is already waiting
	}
	return &Stream{hub: h, filter: f, pos: after}, nil
}

// Stream is one subscriber's position. Its methods are for one goroutine.
type Stream struct {
	hub    *Hub
	filter Filter
	// pos: every event of the stream up to pos was handed out; the cursor to resume from.
	pos  int64
	live bool // the stream reads the window (it caught up)
	// lagging: at its last look at the window, events were left waiting for it.
	lagging bool
	closed  bool
	page    []Event
}

// Pos returns the cursor to resume from.
func (s *Stream) Pos() int64 { return s.pos }

// Close ends the stream and frees its place.
func (s *Stream) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.page = nil
	s.hub.mu.Lock()
	s.hub.streams--
	s.hub.mu.Unlock()
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Next returns the stream's next events, at most a page; the slice is reused by the next
// call. With none ready it returns none and a channel closed when there may be more. A
// *SlowError ends the stream; another error is a failed read of the database, after which
// the caller may wait on the channel (or a poll) and call again.
func (s *Stream) Next(ctx context.Context) ([]Event, <-chan struct{}, error) {
	h := s.hub
	h.mu.RLock()
	var wait <-chan struct{} = h.changed
	ready, lo, hi, herr := h.ready, h.lo, h.hi, h.err
	if ready && s.pos+1 >= lo {
		events := s.fromWindow(lo, hi)
		if s.pos == hi {
			wait = s.waitChan()
		}
		h.mu.RUnlock()
		s.live, s.lagging = true, s.pos < hi
		return events, wait, nil
	}
	h.mu.RUnlock()
	switch {
	case s.live && s.lagging:
		// It had events waiting at its last look and fell out of the window since: its
		// client reads slower than events come.
		return nil, nil, &SlowError{After: s.pos, Behind: hi - s.pos}
	case s.live:
		// It was at the head, and more than the window came at once (a backlog
		// published): catch up from the database again.
		s.live = false
	}
	switch {
	case !ready:
		// The hub has not read yet: wait for it, or report why it cannot.
		return nil, wait, herr
	}
	events, err := s.catchUp(ctx, hi)
	if err != nil {
		return nil, wait, err
	}
	return events, closedChan, nil
}

// fromWindow takes the stream's events in (pos, hi] from the window; the caller holds the
// hub's read lock and has checked pos+1 >= lo.
func (s *Stream) fromWindow(lo, hi int64) []Event {
	s.page = s.page[:0]
	ring := s.hub.ring
	seq := max(s.pos+1, lo)
	for ; seq <= hi && len(s.page) < s.hub.cfg.Page; seq++ {
		if e := &ring[seq%int64(len(ring))]; s.matches(e) {
			s.page = append(s.page, *e)
		}
	}
	if seq-1 > s.pos {
		s.pos = seq - 1
	}
	return s.page
}

func (s *Stream) matches(e *Event) bool {
	switch {
	case s.filter.SessionID != "":
		return e.SessionID == s.filter.SessionID
	case s.filter.NodeID != "":
		return e.NodeID != nil && *e.NodeID == s.filter.NodeID
	}
	return true
}

// catchUp reads the stream's next page from the database, behind the window. hi is the
// newest event the hub held before the read: a read that comes back short has seen every
// event up to it, so the stream's position moves there and it joins the window.
func (s *Stream) catchUp(ctx context.Context, hi int64) ([]Event, error) {
	h := s.hub
	page := h.cfg.Page
	var events []Event
	if s.filter == (Filter{}) {
		// Unfiltered reads are the same for every stream from the same place: read whole
		// aligned pages, shared through the cache.
		start := s.pos / int64(page) * int64(page)
		all, err := h.pages.get(ctx, start, page, func(ctx context.Context) ([]Event, error) {
			return h.readDB(ctx, Filter{}, start, page)
		})
		if err != nil {
			return nil, err
		}
		events = s.page[:0]
		for _, e := range all {
			if e.PubSeq > s.pos {
				events = append(events, e)
			}
		}
		s.page = events
		s.advance(all, page, hi)
		return events, nil
	}
	events, err := h.readDB(ctx, s.filter, s.pos, page)
	if err != nil {
		return nil, err
	}
	s.page = append(s.page[:0], events...)
	s.advance(events, page, hi)
	return s.page, nil
}

// advance moves the position past a page read from the database. A full page ends at its
// last event; a short one saw everything published when it was read, so at least up to hi.
func (s *Stream) advance(read []Event, page int, hi int64) {
	switch {
	case len(read) == page:
		s.pos = max(s.pos, read[len(read)-1].PubSeq)
	case len(read) > 0:
		s.pos = max(s.pos, read[len(read)-1].PubSeq, hi)
	default:
		s.pos = max(s.pos, hi)
	}
}

// readDB reads from the database in one of the catch-up readers' places.
func (h *Hub) readDB(ctx context.Context, f Filter, after int64, limit int) ([]Event, error) {
	select {
	case h.catchUp <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.catchUp }()
	return h.cfg.Read(ctx, f, after, limit)
}
