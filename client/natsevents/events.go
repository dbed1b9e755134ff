// Package natsevents reads ixnstore's published events from the NATS JetStream stream that
// `ixnstore serve --nats-url` fills, beside the HTTP event stream of client.Events, with the
// same promise: each event once, each session's in seq order, all of them in publication
// order (the bridge sends them in that order and the stream keeps it).
//
// The subjects are PREFIX.<node>.<session>.<event name>, ids made subject tokens by Token:
// Subject, SessionFilter and NodeFilter build them.
package natsevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ixnstore/ixnstore/client"
)

// The defaults of serve's --nats-stream and --nats-subject-prefix.
const (
	DefaultStream        = "IXNSTORE"
	DefaultSubjectPrefix = "ixn"
)

// Options chooses the events and where to start.
type Options struct {
	// Stream and SubjectPrefix are serve's --nats-stream and --nats-subject-prefix; empty:
	// the defaults.
	Stream, SubjectPrefix string
	// SessionID or NodeID (not both) keeps the events of one session, or those written
	// while a node owned their sessions.
	SessionID, NodeID string
	// After is the stream sequence (Event.StreamSeq) of the last event handled; 0: from the
	// oldest the stream keeps.
	After uint64
	// Backoff between attempts when the consumer cannot be made (the server restarting);
	// zero: 100ms doubling to 5s, with jitter.
	Backoff client.Backoff
}

// Event is a published event as JetStream delivered it.
type Event struct {
	client.PublishedEvent
	// StreamSeq is its place in the JetStream stream: pass the last one handled as
	// Options.After to resume there.
	StreamSeq uint64
	// Subject is the subject it was stored under.
	Subject string
}

// Events follows the stream from opts.After on, for as long as ctx lasts, with an ordered
// consumer (no acknowledgements; the server remakes it after a gap or a restart) that
// restarts from the last event yielded whenever it fails, and drops repeats by event id and
// session seq: a bridge that crashed and sent events again after its duplicate window has
// passed cannot make the loop see one twice. It yields an error and stops when ctx ends
// (ctx.Err()), when the stream does not exist, or when a message is not an event.
func Events(ctx context.Context, js jetstream.JetStream, opts Options) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		stream, filter, err := opts.where()
		if err != nil {
			yield(Event{}, err)
			return
		}
		cursor := opts.After
		seen := client.NewSeen(1 << 16)
		for attempt := 0; ; attempt++ {
			cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverAllPolicy}
			if cursor > 0 {
				cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, cursor+1
			}
			cons, err := js.OrderedConsumer(ctx, stream, cfg)
			if err == nil {
				var stop bool
				stop, err = read(ctx, cons, &cursor, seen, yield)
				if stop {
					return
				}
				attempt = 0
			}
			if ctx.Err() != nil {
				yield(Event{}, ctx.Err())
				return
			}
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				yield(Event{}, fmt.Errorf("natsevents: stream %s: %w", stream, err))
				return
			}
			select {
			case <-ctx.Done():
				yield(Event{}, ctx.Err())
				return
			case <-time.After(opts.Backoff.Delay(attempt)):
			}
		}
	}
}

// read yields the consumer's events until it fails (err) or the loop is done (stop).
func read(ctx context.Context, cons jetstream.Consumer, cursor *uint64, seen *client.Seen, yield func(Event, error) bool) (stop bool, err error) {
	msgs, err := cons.Messages()
	if err != nil {
		return false, err
	}
	// Next does not take a context: stopping the iterator is what ends a wait.
	defer msgs.Stop()
	defer context.AfterFunc(ctx, msgs.Stop)()
	for {
		m, err := msgs.Next()
		if err != nil {
			return false, err
		}
		meta, err := m.Metadata()
		if err != nil {
			return false, err
		}
		var ev client.PublishedEvent
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			yield(Event{}, fmt.Errorf("natsevents: message %d on %s is not an event: %w", meta.Sequence.Stream, m.Subject(), err))
			return true, nil
		}
		*cursor = meta.Sequence.Stream
		if !seen.First(ev.ID, ev.SessionID, ev.Seq) {
			continue
		}
		if !yield(Event{PublishedEvent: ev, StreamSeq: meta.Sequence.Stream, Subject: m.Subject()}, nil) {
			return true, nil
		}
	}
}

func (o Options) where() (stream, filter string, err error) {
	stream, prefix := o.Stream, o.SubjectPrefix
	if stream == "" {
		stream = DefaultStream
	}
	if prefix == "" {
		prefix = DefaultSubjectPrefix
	}
	switch {
	case o.SessionID != "" && o.NodeID != "":
		return "", "", errors.New("natsevents: a session or a node, not both")
	case o.SessionID != "":
		return stream, SessionFilter(prefix, o.SessionID), nil
	case o.NodeID != "":
		return stream, NodeFilter(prefix, o.NodeID), nil
	}
	return stream, prefix + ".>", nil
}
