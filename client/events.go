package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"time"
)

// StreamOptions chooses the events of a stream and how it reconnects.
type StreamOptions struct {
	// SessionID or NodeID (not both) keeps the events of one session, or of the sessions a
	// node owned when they were written.
	SessionID, NodeID string
	// After is the cursor to start from: the PubSeq of the last event handled (0: from the
	// oldest kept).
	After int64
	// Backoff between reconnections; zero: 100ms doubling to 5s, with jitter.
	Backoff Backoff
	// IdleTimeout: a connection that brings nothing for this long (not even the server's
	// keep-alive, every 15s) is dropped and made again; 0: 45s.
	IdleTimeout time.Duration
}

// Events follows the published events (/v1/events/stream) from opts.After on, for as long
// as ctx lasts. It reconnects by itself when the connection drops, the server restarts or
// the stream is cut for a slow reader, resuming from the last event it yielded, and drops
// repeats by event id, so the loop sees each event once, in publication order, which keeps
// each session's seq order. It yields an error, and stops, only when the server refuses the
// stream for good (401, 403, 422...) or ctx ends (ctx.Err()).
//
// Record ev.PubSeq after handling an event, and pass it as After to resume there later.
func (c *Client) Events(ctx context.Context, opts StreamOptions) iter.Seq2[PublishedEvent, error] {
	return func(yield func(PublishedEvent, error) bool) {
		cursor := opts.After
		seen := NewSeen(1 << 16)
		var stopped bool
		handle := func(m message) bool {
			if m.event == "stream.cut" {
				var cut struct {
					After int64 `json:"after"`
				}
				if json.Unmarshal(m.data, &cut) == nil && cut.After > cursor {
					cursor = cut.After
				}
				return false
			}
			var ev PublishedEvent
			if err := json.Unmarshal(m.data, &ev); err != nil {
				stopped = !yield(PublishedEvent{}, fmt.Errorf("client: event %s is not an event: %w", m.id, err))
				return !stopped
			}
			if ev.PubSeq <= cursor || !seen.First(ev.ID, ev.SessionID, ev.Seq) {
				return true
			}
			cursor = ev.PubSeq
			if !yield(ev, nil) {
				stopped = true
				return false
			}
			return true
		}
		for {
			err := follow(ctx, c.doer, opts.Backoff, idleOr(opts.IdleTimeout), func() (*http.Request, error) {
				p := StreamEventsParams{After: Ptr(int(cursor))}
				if opts.SessionID != "" {
					p.SessionID = Ptr(opts.SessionID)
				}
				if opts.NodeID != "" {
					p.NodeID = Ptr(opts.NodeID)
				}
				return NewStreamEventsRequest(c.base, &p)
			}, handle)
			if stopped {
				return
			}
			if err != nil {
				yield(PublishedEvent{}, err)
				return
			}
			// A stream.cut ended the connection: follow again from its cursor.
		}
	}
}

func idleOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 45 * time.Second
	}
	return d
}

// Seen remembers the last event ids seen (a bounded window) and each session's last seq, so
// a repeat of an event, which carries the same id, is dropped however it comes back: over a
// reconnected stream, or from JetStream (client/natsevents).
type Seen struct {
	ids     map[int64]struct{}
	ring    []int64
	next    int
	lastSeq map[string]int64
}

// NewSeen remembers window ids.
func NewSeen(window int) *Seen {
	return &Seen{ids: make(map[int64]struct{}, window), ring: make([]int64, 0, window), lastSeq: map[string]int64{}}
}

// First says whether this event is new, and remembers it: an id not seen in the window, and
// a seq beyond its session's last.
func (d *Seen) First(id int64, sid string, seq int64) bool {
	if _, ok := d.ids[id]; ok {
		return false
	}
	if last, ok := d.lastSeq[sid]; ok && seq <= last {
		return false
	}
	if len(d.ring) < cap(d.ring) {
		d.ring = append(d.ring, id)
	} else {
		delete(d.ids, d.ring[d.next])
		d.ring[d.next] = id
		d.next = (d.next + 1) % len(d.ring)
	}
	d.ids[id] = struct{}{}
	if len(d.lastSeq) >= 1<<20 {
		// A bound on memory for a consumer that lives through millions of sessions: the id
		// window still catches repeats, which come within a batch of the original.
		clear(d.lastSeq)
	}
	d.lastSeq[sid] = seq
	return true
}

// Typed is the event as the type of its name (InteractionAddedEvent, ...), whose Data has
// the event's attributes as fields.
func (e Event) Typed() (any, error) { return e.ValueByDiscriminator() }

// Typed is the event as the type of its name (InteractionAddedEvent, ...), whose Data has
// the event's attributes as fields.
func (e PublishedEvent) Typed() (any, error) {
	return Event{union: e.union}.ValueByDiscriminator()
}

// Cursor is the event's position in the stream, as a string for a Last-Event-ID.
func (e PublishedEvent) Cursor() string { return strconv.FormatInt(e.PubSeq, 10) }
