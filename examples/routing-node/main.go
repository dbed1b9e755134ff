// Command routing-node is an example routing node built on the ixnstore client: it
// registers, keeps its lease, handles simulated calls through their life (one of them with
// an action request the media side answers), and takes over the sessions of nodes that died
// (interaction.restored), finishing their calls. It follows its events over the server's
// event stream, or, with --nats-url, from the NATS JetStream stream serve's bridge fills.
//
//	go run ./examples/routing-node --url http://127.0.0.1:8080 --token "$TOKEN" --node node-a --calls 3 --hold
//	go run ./examples/routing-node --url http://127.0.0.1:8080 --token "$TOKEN" --node node-b   # after node-a is killed
//	go run ./examples/routing-node ... --nats-url nats://127.0.0.1:4222   # events from JetStream (serve --nats-url)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"iter"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ixnstore/ixnstore/client"
	"github.com/ixnstore/ixnstore/client/natsevents"
)

func main() {
	url := flag.String("url", envOr("IXNSTORE_URL", "http://127.0.0.1:8080"), "the server")
	token := flag.String("token", os.Getenv("IXNSTORE_TOKEN"), "a bearer token (admin, or a node token for --node)")
	id := flag.String("node", "node-a", "this node's id")
	lease := flag.Duration("lease", 2*time.Second, "the node's lease")
	calls := flag.Int("calls", 0, "simulated calls to handle")
	hold := flag.Bool("hold", false, "leave the last call in progress (for another node to take over)")
	restored := flag.Int("exit-after-restored", 0, "exit once this many taken-over calls are finished (0: run until stopped)")
	flag.StringVar(&natsURL, "nats-url", os.Getenv("IXNSTORE_NATS_URL"), "follow the events from NATS JetStream here rather than the server's event stream")
	flag.StringVar(&natsStream, "nats-stream", natsevents.DefaultStream, "the JetStream stream (serve's --nats-stream)")
	flag.StringVar(&natsPrefix, "nats-subject-prefix", natsevents.DefaultSubjectPrefix, "its subjects' prefix (serve's --nats-subject-prefix)")
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *url, *token, *id, *lease, *calls, *hold, *restored); err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

// Where the events come from: the server's event stream, or JetStream when natsURL is set.
var natsURL, natsStream, natsPrefix string

func run(ctx context.Context, url, token, id string, lease time.Duration, calls int, hold bool, restored int) error {
	c, err := client.New(url, client.Config{Token: token})
	if err != nil {
		return err
	}
	node, err := c.Node(client.NodeConfig{ID: id, Lease: lease})
	if err != nil {
		return err
	}
	if _, err := node.Register(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() { // the lease: lost means another node may have our sessions; stop at once
		if err := node.Heartbeats(ctx); err != nil {
			cancel(err)
		}
	}()
	log.Printf("%s: registered, lease %s", id, lease)

	events, err := eventsOf(node)
	if err != nil {
		return err
	}
	r := &router{node: node, answers: map[string]chan client.PublishedEvent{}, finished: make(chan string, 100)}
	go r.follow(ctx, events)
	go r.takeOver(ctx, lease/2)

	for i := 1; i <= calls; i++ {
		last := i == calls && hold
		if err := r.call(ctx, fmt.Sprintf("%s-s%d", id, i), fmt.Sprintf("%s-call%d", id, i), last); err != nil {
			return err
		}
	}
	for done := 0; restored == 0 || done < restored; done++ {
		select {
		case sid := <-r.finished:
			log.Printf("%s: finished taken-over session %s", id, sid)
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return node.Leave(ctx, "")
}

// router is the node's strategy: it runs calls and reacts to events.
type router struct {
	node     *client.Node
	mu       sync.Mutex
	answers  map[string]chan client.PublishedEvent // request id -> its answer event
	finished chan string
}

// call runs one simulated inbound call: it arrives, is presented, the customer is
// connected, an agent's phone rings and the node asks the media side to answer it, user
// data is set, and (unless held) the customer hangs up and the session ends.
func (r *router) call(ctx context.Context, sid, iid string, hold bool) error {
	n := r.node
	if _, err := n.CreateSession(ctx, sid); err != nil {
		return err
	}
	if _, err := n.AddInteractionWithResponse(ctx, sid, nil, client.NewInteraction{InteractionID: iid, Media: "voice", Type: client.NewInteractionTypeInbound,
		Parties: []client.NewParty{{PartyID: "customer", Resource: "+15550001", State: client.Alerting, Role: client.NewPartyRoleCustomer}}}); err != nil {
		return err
	}
	if _, err := n.PresentInteractionWithResponse(ctx, sid, iid, nil); err != nil {
		return err
	}
	if _, err := n.ChangePartyStateWithResponse(ctx, sid, iid, "customer", nil, client.ChangePartyStateJSONRequestBody{State: client.Established}); err != nil {
		return err
	}
	if _, err := n.AddPartyWithResponse(ctx, sid, iid, nil, client.NewParty{PartyID: "agent", Resource: "7001", State: client.Alerting, Role: client.NewPartyRoleAgent}); err != nil {
		return err
	}
	answer := r.expect(iid + "-accept")
	if _, err := n.CreateRequestWithResponse(ctx, sid, nil, client.NewRequest{RequestID: iid + "-accept", Action: client.Accept, InteractionID: iid, Resource: "7001", Timeout: "10s"}); err != nil {
		return err
	}
	select {
	case ev := <-answer:
		log.Printf("%s: %s answered %s", n.ID(), iid, ev.Name)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if _, err := n.MergeUserDataWithResponse(ctx, sid, iid, nil, client.UserDataChange{Origin: client.UserDataChangeOriginSession, Data: map[string]any{"handled_by": n.ID()}}); err != nil {
		return err
	}
	if hold {
		log.Printf("%s: holding %s in %s", n.ID(), iid, sid)
		return nil
	}
	return r.hangUp(ctx, sid, iid)
}

// hangUp: the customer leaves, the interaction and the session end.
func (r *router) hangUp(ctx context.Context, sid, iid string) error {
	n := r.node
	if _, err := n.ChangePartyStateWithResponse(ctx, sid, iid, "customer", nil, client.ChangePartyStateJSONRequestBody{State: client.Released}); err != nil {
		return err
	}
	if _, err := n.EndSessionWithResponse(ctx, sid, nil); err != nil {
		return err
	}
	log.Printf("%s: %s ended, session %s ended", n.ID(), iid, sid)
	return nil
}

func (r *router) expect(rid string) chan client.PublishedEvent {
	ch := make(chan client.PublishedEvent, 1)
	r.mu.Lock()
	r.answers[rid] = ch
	r.mu.Unlock()
	return ch
}

// follow reads the events of the sessions this node owns, once each and in order, across
// reconnections: answers to its requests, and interaction.restored for those it took over.
func (r *router) follow(ctx context.Context, events func(context.Context) iter.Seq2[client.PublishedEvent, error]) {
	for ev, err := range events(ctx) {
		if err != nil {
			return
		}
		typed, err := ev.Typed()
		if err != nil {
			continue
		}
		switch e := typed.(type) {
		case client.InteractionAcceptDoneEvent:
			r.answer(e.Data.Requestid, ev)
		case client.ErrorInteractionAcceptEvent:
			r.answer(e.Data.Requestid, ev)
		case client.InteractionRestoredEvent:
			log.Printf("%s: restored %s in %s (epoch %d)", r.node.ID(), e.Data.Interactionid, ev.SessionID, ev.Epoch)
			go func() {
				if err := r.hangUp(ctx, ev.SessionID, e.Data.Interactionid); err == nil {
					r.finished <- ev.SessionID
				}
			}()
		}
	}
}

func (r *router) answer(rid string, ev client.PublishedEvent) {
	r.mu.Lock()
	ch := r.answers[rid]
	delete(r.answers, rid)
	r.mu.Unlock()
	if ch != nil {
		ch <- ev
	}
}

// takeOver claims orphaned sessions (their node died) as they appear.
func (r *router) takeOver(ctx context.Context, every time.Duration) {
	for {
		page, err := r.node.ListOrphanedSessionsWithResponse(ctx, nil)
		if err == nil {
			for _, s := range page.JSON200.Sessions {
				if t, err := r.node.Claim(ctx, s.SessionID); err == nil {
					log.Printf("%s: claimed %s from %s (epoch %d)", r.node.ID(), s.SessionID, s.OwnerNode, t.Session.LeaseEpoch)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// eventsOf is the node's events, from the event stream or from JetStream: each event once,
// each session's in order, either way.
func eventsOf(node *client.Node) (func(context.Context) iter.Seq2[client.PublishedEvent, error], error) {
	if natsURL == "" {
		return func(ctx context.Context) iter.Seq2[client.PublishedEvent, error] {
			return node.Events(ctx, client.StreamOptions{NodeID: node.ID()})
		}, nil
	}
	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("--nats-url: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	log.Printf("%s: following events from JetStream stream %s", node.ID(), natsStream)
	return func(ctx context.Context) iter.Seq2[client.PublishedEvent, error] {
		return func(yield func(client.PublishedEvent, error) bool) {
			opts := natsevents.Options{Stream: natsStream, SubjectPrefix: natsPrefix, NodeID: node.ID()}
			for ev, err := range natsevents.Events(ctx, js, opts) {
				if !yield(ev.PublishedEvent, err) {
					return
				}
			}
		}
	}, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
