package day

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixnstore/ixnstore/client"
)

// simNode is a routing node: it keeps its lease, runs calls, follows its own events over
// SSE (the answers to its requests come that way), and takes over orphaned sessions.
type simNode struct {
	d     *Day
	id    string
	index int // its place among the day's nodes
	node  *client.Node

	isDead   atomic.Bool
	deadCh   chan struct{}
	stopOwn  context.CancelFunc // its heartbeats and its stream
	lastBeat atomic.Int64       // unix nanos of the last heartbeat answered

	mu       sync.Mutex
	waiters  map[string]chan client.PublishedEvent // request id → its answer
	active   map[string]bool                       // sessions it owns and has not ended
	claiming map[string]bool                       // sessions it claims or took over: one takeover each
	// streamed: each session's seqs as its stream delivered them; outOfOrder: deliveries
	// whose seq was not above the last of their session.
	streamed   map[string][]int64
	outOfOrder []string
}

func (d *Day) startNode(ctx context.Context, index int, background *sync.WaitGroup) (*simNode, error) {
	id := fmt.Sprintf("%s-node-%d", d.prefix, index+1)
	c, err := client.New(d.cfg.Target, client.Config{Token: d.cfg.Token, HTTPClient: d.http})
	if err != nil {
		return nil, err
	}
	node, err := c.Node(client.NodeConfig{ID: id, Lease: d.cfg.Lease})
	if err != nil {
		return nil, err
	}
	if _, err := node.Register(ctx); err != nil {
		return nil, err
	}
	n := &simNode{d: d, id: id, index: index, node: node, deadCh: make(chan struct{}), waiters: map[string]chan client.PublishedEvent{},
		active: map[string]bool{}, claiming: map[string]bool{}, streamed: map[string][]int64{}}
	n.lastBeat.Store(time.Now().UnixNano())
	own, stop := context.WithCancel(ctx)
	n.stopOwn = stop
	background.Go(func() { n.heartbeats(own) })
	background.Go(func() { n.follow(own) })
	background.Go(func() { n.takeOver(own) })
	return n, nil
}

func (n *simNode) dead() bool { return n.isDead.Load() }

// fail is the node's crash: no more heartbeats, its stream closes, its calls stop before
// their next step. Writes already sent finish and are recorded: the check must know of them.
func (n *simNode) fail() {
	if n.isDead.CompareAndSwap(false, true) {
		close(n.deadCh)
		n.stopOwn()
	}
}

// heartbeats renews the lease every third of it, counted from each send (a slow answer does
// not push the next one back). A node that lost its lease anyway (the machine stalled it)
// registers again, as a real one must: a failure of the day, not the end of the node.
func (n *simNode) heartbeats(ctx context.Context) {
	tick := time.NewTicker(n.d.cfg.Lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		err := n.node.Heartbeat(ctx)
		if ctx.Err() != nil {
			return
		}
		n.d.stats.call("heartbeat", time.Since(start), err)
		if err == nil {
			n.lastBeat.Store(start.UnixNano())
			continue
		}
		if errors.Is(err, client.ErrLeaseLost) {
			if _, err := n.node.Register(ctx); err == nil {
				n.lastBeat.Store(start.UnixNano())
			}
		}
	}
}

// follow reads the node's own events: answers go to the calls waiting for them, a
// session restored to this node by ixnstore's assigner is taken over.
func (n *simNode) follow(ctx context.Context) {
	for ev, err := range n.node.Events(ctx, client.StreamOptions{NodeID: n.id, After: n.d.cursor}) {
		if err != nil {
			if ctx.Err() == nil {
				n.d.stats.fail("stream", codeOf(err))
			}
			return
		}
		n.d.stats.call("stream lag", time.Since(ev.CreatedAt), nil)
		n.mu.Lock()
		seqs := n.streamed[ev.SessionID]
		if len(seqs) > 0 && ev.Seq <= seqs[len(seqs)-1] {
			n.outOfOrder = append(n.outOfOrder, ev.SessionID+": seq "+itoa(ev.Seq)+" after "+itoa(seqs[len(seqs)-1]))
		}
		n.streamed[ev.SessionID] = append(seqs, ev.Seq)
		var waiter chan client.PublishedEvent
		if rid, ok := answerOf(client.Event{Name: client.EventName(ev.Name), Data: ev.Data}); ok {
			waiter = n.waiters[rid]
			delete(n.waiters, rid)
		}
		n.mu.Unlock()
		if waiter != nil {
			waiter <- ev
		}
		if ev.Name == "interaction.restored" && strings.HasPrefix(ev.SessionID, n.d.prefix) && n.startTakeover(ev.SessionID) {
			n.node.Hold(ev.SessionID, ev.Epoch)
			n.d.held(ev.SessionID)
			n.d.work.Go(func() { n.carryOn(ctx, ev.SessionID, nil) })
		}
	}
}

// expect registers a wait for the answer to request rid (before it is made: the answer may
// come before the request's own answer does).
func (n *simNode) expect(rid string) chan client.PublishedEvent {
	ch := make(chan client.PublishedEvent, 1)
	n.mu.Lock()
	n.waiters[rid] = ch
	n.mu.Unlock()
	return ch
}

func (n *simNode) forget(rid string) {
	n.mu.Lock()
	delete(n.waiters, rid)
	n.mu.Unlock()
}

func (n *simNode) own(sid string, active bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if active {
		n.active[sid] = true
	} else {
		delete(n.active, sid)
	}
}

func (n *simNode) activeSessions() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := make([]string, 0, len(n.active))
	for id := range n.active {
		ids = append(ids, id)
	}
	return ids
}

// startTakeover: true once per session, for the first of a claim and a restore seen on the
// stream.
func (n *simNode) startTakeover(sid string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.claiming[sid] {
		return false
	}
	n.claiming[sid] = true
	return true
}

func (n *simNode) endTakeover(sid string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.claiming, sid)
}

// takeOver looks for orphaned sessions of the day every quarter lease and claims them, as
// every live node does: of several claiming one session one wins, the others are refused
// with lease_held.
func (n *simNode) takeOver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(n.d.cfg.Lease / 4):
		}
		params := client.ListOrphanedSessionsParams{}
		for {
			page, err := n.node.ListOrphanedSessionsWithResponse(ctx, &params)
			if err != nil {
				if ctx.Err() == nil {
					n.d.stats.fail("list orphans", codeOf(err))
				}
				break
			}
			// Four claims at a time, each node starting at its own place in the page, so
			// that live nodes do not all queue on the same sessions.
			sessions := page.JSON200.Sessions
			slots := make(chan struct{}, 4)
			var claims sync.WaitGroup
			for k := range sessions {
				sid := sessions[(k+n.index*len(sessions)/len(n.d.nodes))%len(sessions)].SessionID
				if !strings.HasPrefix(sid, n.d.prefix) || !n.startTakeover(sid) {
					continue
				}
				slots <- struct{}{}
				claims.Go(func() {
					defer func() { <-slots }()
					n.claim(ctx, sid)
				})
			}
			claims.Wait()
			if page.JSON200.Next == "" {
				break
			}
			params.After = client.Ptr(page.JSON200.Next)
		}
	}
}

func (n *simNode) claim(ctx context.Context, sid string) {
	var takeover *client.Takeover
	_, err := n.d.write("claim", sid, n.id, func() ([]client.Event, error) {
		t, err := n.node.Claim(ctx, sid)
		if err != nil {
			return nil, err
		}
		takeover = t
		return t.Events, nil
	}, client.CodeLeaseHeld, client.CodeSessionEnded)
	if err != nil {
		n.endTakeover(sid)
		return
	}
	n.d.held(sid)
	n.d.work.Go(func() { n.carryOn(ctx, sid, &takeover.Session) })
}

// carryOn finishes a call taken over from a failed node, from the state the takeover gave
// (nil: read it): user data says who finished it, its parties hang up, the interaction
// leaves and the session ends. The failed node's requests may be answered meanwhile (a party
// changes or leaves under us): the refusals that causes are expected.
func (n *simNode) carryOn(ctx context.Context, sid string, state *client.SessionState) {
	if state == nil {
		res, err := n.node.GetSessionWithResponse(ctx, sid)
		if err != nil {
			n.d.stats.fail("read session", codeOf(err))
			return
		}
		state = res.JSON200
	}
	n.own(sid, true)
	races := []string{client.CodeInvalidTransition, client.CodeNotFound, "party_left"}
	for _, ixn := range state.Interactions {
		if ixn.State == client.InteractionStateDeleted {
			continue
		}
		iid := ixn.InteractionID
		_, _ = n.d.write("user data", sid, n.id, func() ([]client.Event, error) {
			res, err := n.node.MergeUserDataWithResponse(ctx, sid, iid, nil, client.UserDataChange{
				Origin: client.UserDataChangeOriginMedia, Data: map[string]any{"finished_by": n.id}})
			if err != nil {
				return nil, err
			}
			return eventsOf(res.JSON200), nil
		}, races...)
		for _, p := range ixn.Parties {
			if p.State != client.Released {
				_, _ = n.changeParty(ctx, sid, iid, p.PartyID, client.Released, races...)
			}
		}
		_, _ = n.d.write("delete interaction", sid, n.id, func() ([]client.Event, error) {
			res, err := n.node.DeleteInteractionWithResponse(ctx, sid, iid, nil)
			if err != nil {
				return nil, err
			}
			return eventsOf(res.JSON200), nil
		}, races...)
	}
	n.endSession(ctx, sid)
}

func (n *simNode) changeParty(ctx context.Context, sid, iid, pid string, to client.PartyState, expected ...string) ([]client.Event, error) {
	return n.d.write("party state change", sid, n.id, func() ([]client.Event, error) {
		res, err := n.node.ChangePartyStateWithResponse(ctx, sid, iid, pid, nil, client.ChangePartyStateJSONRequestBody{State: to})
		if err != nil {
			return nil, err
		}
		return eventsOf(res.JSON200), nil
	}, expected...)
}

func (n *simNode) endSession(ctx context.Context, sid string) {
	_, err := n.d.write("end session", sid, n.id, func() ([]client.Event, error) {
		res, err := n.node.EndSessionWithResponse(ctx, sid, nil)
		if err != nil {
			return nil, err
		}
		return eventsOf(res.JSON200), nil
	})
	if err == nil {
		n.d.finished.Add(1)
	}
	if err == nil || errors.Is(err, client.ErrSessionEnded) {
		n.own(sid, false)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
