package bench

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SubscribeJetStream reads the messages that reach a JetStream stream from now on (the
// NATS bridge's copies of published events) with an ordered consumer, and notes when each
// event arrived, as Subscribe does for the event stream; it reads until ctx ends.
func SubscribeJetStream(ctx context.Context, url, stream string) (*Subscriber, error) {
	nc, err := nats.Connect(url, nats.Name("ixnstore-bench consumer"))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		nc.Close()
		return nil, err
	}
	s := &Subscriber{arrivals: map[int64]time.Time{}}
	cc, err := c.Consume(func(m jetstream.Msg) {
		now := time.Now()
		// The payload is the event as the API gives it: its id is found as in a stream's data.
		id, err := eventID(m.Data())
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.err = err
			return
		}
		s.arrivals[id] = now
		s.count++
	}, jetstream.PullMaxMessages(2000))
	if err != nil {
		nc.Close()
		return nil, err
	}
	go func() {
		<-ctx.Done()
		cc.Stop()
		nc.Close()
	}()
	return s, nil
}
