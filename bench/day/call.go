package day

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ixnstore/ixnstore/client"
)

// plan is one call's turns and pauses, drawn from the seed before it starts, so that the same
// seed gives the same calls whatever the timing.
type plan struct {
	abandon, hold, conference, transfer, terminate bool
	udata                                          int // user data writes while connected
	customer, agent, agent2, supervisor            string
	think                                          [32]time.Duration
}

func (d *Day) plan(i int) plan {
	rng := rand.New(rand.NewPCG(d.cfg.Seed, uint64(i)+1))
	m := d.cfg.Mix
	p := plan{abandon: rng.Float64() < m.Abandon, hold: rng.Float64() < m.Hold, conference: rng.Float64() < m.Conference,
		transfer: rng.Float64() < m.Transfer, terminate: rng.Float64() < m.Terminate, udata: 1 + rng.IntN(3),
		customer: fmt.Sprintf("+1555%07d", rng.IntN(10_000_000)), agent: fmt.Sprintf("agent-%03d", rng.IntN(500)),
		agent2: fmt.Sprintf("agent-%03d", rng.IntN(500)), supervisor: fmt.Sprintf("sup-%02d", rng.IntN(40))}
	for k := range p.think {
		p.think[k] = time.Duration(rng.ExpFloat64() * float64(d.cfg.Think))
	}
	return p
}

// call is one call in progress on a node: one session, one voice interaction.
type call struct {
	n        *simNode
	ctx      context.Context
	p        plan
	sid, iid string
	steps    int
	requests int
	agent    string // the party id of the agent on the call ("": none)
}

func (n *simNode) runCall(ctx context.Context, i int, p plan) {
	c := &call{n: n, ctx: ctx, p: p, sid: fmt.Sprintf("%s-c%d", n.d.prefix, i)}
	c.iid = c.sid + "-i"
	if !c.create() {
		return
	}
	if !c.script() && !n.dead() && ctx.Err() == nil {
		n.endSession(ctx, c.sid) // gave up on an error: the session ends all the same
	}
}

// pause waits the plan's next pause; false: the node failed, or the day was stopped.
func (c *call) pause() bool {
	d := c.p.think[c.steps%len(c.p.think)]
	c.steps++
	select {
	case <-time.After(d):
	case <-c.n.deadCh:
	case <-c.ctx.Done():
	}
	return !c.n.dead() && c.ctx.Err() == nil
}

func (c *call) create() bool {
	_, err := c.n.d.write("create session", c.sid, c.n.id, func() ([]client.Event, error) {
		_, err := c.n.node.CreateSession(c.ctx, c.sid)
		return nil, err
	})
	if err != nil {
		return false
	}
	c.n.own(c.sid, true)
	return true
}

// script is the call from its arrival to its end; false: it stopped on an error or because
// the node failed.
func (c *call) script() bool {
	n, ctx, sid, iid := c.n, c.ctx, c.sid, c.iid
	n.d.ledger.record(sid, func(r *Record) { r.Initial[iid] = map[string]client.PartyState{"customer": client.Routing} })
	if !c.pause() || !c.write("add interaction", func() (*client.Events, error) {
		res, err := n.node.AddInteractionWithResponse(ctx, sid, nil, client.NewInteraction{InteractionID: iid, Media: "voice",
			Type: client.NewInteractionTypeInbound, Udata: map[string]any{"lang": "en", "ani": c.p.customer},
			Parties: []client.NewParty{{PartyID: "customer", Resource: c.p.customer, State: client.Routing, Role: client.NewPartyRoleCustomer}}})
		if err != nil {
			return nil, err
		}
		if res.JSON201 != nil {
			return res.JSON201, nil
		}
		return res.JSON200, nil
	}) {
		return false
	}
	if !c.write("present", func() (*client.Events, error) {
		res, err := n.node.PresentInteractionWithResponse(ctx, sid, iid, nil)
		if err != nil {
			return nil, err
		}
		return res.JSON200, nil
	}) || !c.pause() || !c.party("customer", client.Queued) {
		return false
	}
	if c.p.abandon {
		return c.pause() && c.abandoned() && c.hangUp()
	}
	// An agent's phone rings; the node asks the media side to answer it.
	if !c.pause() || !c.write("add party", func() (*client.Events, error) {
		res, err := n.node.AddPartyWithResponse(ctx, sid, iid, nil, client.NewParty{PartyID: "agent", Resource: c.p.agent,
			State: client.Alerting, Role: client.NewPartyRoleAgent})
		if err != nil {
			return nil, err
		}
		return res.JSON201, nil
	}) {
		return false
	}
	c.agent = "agent"
	answered, ok := c.request("request accept", client.NewRequest{Action: client.Accept, Resource: c.p.agent})
	if !ok {
		return false
	}
	if !answered { // nobody picked up in time: the agent's leg ends, and the customer gives up
		return c.party(c.agent, client.Released) && c.hangUp()
	}
	if !c.party("customer", client.Established) {
		return false
	}
	for k := range c.p.udata {
		if !c.pause() || !c.write("user data", func() (*client.Events, error) {
			res, err := n.node.MergeUserDataWithResponse(ctx, sid, iid, nil, client.UserDataChange{Origin: client.UserDataChangeOriginMedia,
				Data: map[string]any{fmt.Sprintf("note%d", k): fmt.Sprintf("step %d by %s", k, n.id), "agent": c.p.agent}})
			if err != nil {
				return nil, err
			}
			return res.JSON200, nil
		}) {
			return false
		}
	}
	if c.p.hold && !c.holdAndRetrieve() {
		return false
	}
	if c.p.conference {
		joined, ok := c.request("request conference", client.NewRequest{Action: client.Singlestepconference,
			Resource: c.p.agent, Destination: c.p.supervisor})
		if !ok || joined && !c.party(c.lastParty(), client.Released) {
			return false
		}
	}
	if c.p.transfer {
		moved, ok := c.request("request transfer", client.NewRequest{Action: client.Singlesteptransfer,
			Resource: c.p.agent, Destination: c.p.agent2})
		if !ok {
			return false
		}
		if moved {
			c.agent = c.lastParty()
		}
	}
	if !c.pause() {
		return false
	}
	if c.p.terminate {
		ended, ok := c.request("request terminate", client.NewRequest{Action: client.Terminate, Reason: "done"})
		if !ok {
			return false
		}
		if ended {
			n.endSession(ctx, sid)
			return true
		}
	}
	return c.party(c.agent, client.Released) && c.hangUp()
}

// holdAndRetrieve: the customer is held, then connected again.
func (c *call) holdAndRetrieve() bool {
	return c.party("customer", client.Held) && c.party("customer", client.Established)
}

// lastParty is the party the media side reported for the call's last request.
func (c *call) lastParty() string { return fmt.Sprintf("%s-r%d-p", c.sid, c.requests) }

// hangUp: the customer leaves (if still there), the interaction leaves the session and the
// session ends.
func (c *call) hangUp() bool {
	n, ctx, sid, iid := c.n, c.ctx, c.sid, c.iid
	if !c.p.abandon && !c.party("customer", client.Released) {
		return false
	}
	if !c.write("delete interaction", func() (*client.Events, error) {
		res, err := n.node.DeleteInteractionWithResponse(ctx, sid, iid, nil)
		if err != nil {
			return nil, err
		}
		return res.JSON200, nil
	}) {
		return false
	}
	n.endSession(ctx, sid)
	return true
}

// abandoned: the media side reports that the customer hung up while queued.
func (c *call) abandoned() bool {
	a := c.n.d.adapterFor(c.sid)
	_, err := c.n.d.write("abandon", c.sid, a.id, func() ([]client.Event, error) {
		res, err := a.c.ReportAbandonedWithResponse(c.ctx, c.sid, c.iid, nil, client.ReportAbandonedJSONRequestBody{
			FocusResource: c.p.customer, Reason: "hangup"})
		if err != nil {
			return nil, err
		}
		return res.JSON200.Events, nil
	})
	return err == nil
}

func (c *call) party(pid string, to client.PartyState) bool {
	if !c.pause() {
		return false
	}
	_, err := c.n.changeParty(c.ctx, c.sid, c.iid, pid, to)
	return err == nil
}

func (c *call) write(kind string, do func() (*client.Events, error)) bool {
	_, err := c.n.d.write(kind, c.sid, c.n.id, func() ([]client.Event, error) {
		evs, err := do()
		if err != nil {
			return nil, err
		}
		return eventsOf(evs), nil
	})
	return err == nil
}

// request asks for an action on the call's interaction and waits for its answer on the
// node's stream. done: it was carried out; ok false: it could not be made, no answer came,
// or the node failed meanwhile.
func (c *call) request(kind string, r client.NewRequest) (done, ok bool) {
	n := c.n
	c.requests++
	r.RequestID = fmt.Sprintf("%s-r%d", c.sid, c.requests)
	r.InteractionID = c.iid
	r.Timeout = n.d.cfg.RequestTimeout.String()
	answer := n.expect(r.RequestID)
	asked := time.Now()
	_, err := n.d.write(kind, c.sid, n.id, func() ([]client.Event, error) {
		_, err := n.node.CreateRequestWithResponse(c.ctx, c.sid, nil, r)
		return nil, err
	})
	if err == nil || errors.Is(err, client.ErrRequestRefused) {
		n.d.ledger.record(c.sid, func(rec *Record) { rec.Requests[r.RequestID] = c.iid })
	}
	if err != nil {
		n.forget(r.RequestID)
		return false, false
	}
	select {
	case ev := <-answer:
		n.d.stats.call("request → answer on stream", time.Since(asked), nil)
		return strings.HasSuffix(string(ev.Name), ".done"), true
	case <-time.After(n.d.cfg.RequestTimeout + 15*time.Second):
		n.forget(r.RequestID)
		n.d.stats.fail(kind, "no_answer_on_stream")
		return false, false
	case <-n.deadCh:
		return false, false
	case <-c.ctx.Done():
		return false, false
	}
}
