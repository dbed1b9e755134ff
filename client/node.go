package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NodeConfig is a routing node as it registers.
type NodeConfig struct {
	ID       string
	Address  string
	Capacity int
	// Lease is how long the node stays alive after a heartbeat; 0: the server's default.
	Lease time.Duration
}

// Node is a routing node: it registers, heartbeats within its lease, takes and lets go of
// sessions, and keeps the lease epoch of each session it owns. Its Client (embedded) sends
// that epoch as X-Lease-Epoch on every write to the session without being told; once the
// node's lease has lapsed, or a session's lease was lost, writes fail at once with an error
// matching ErrLeaseLost, without reaching the server.
type Node struct {
	*Client
	cfg NodeConfig

	mu sync.Mutex
	// epochs: the sessions this node owns and the epoch it holds each at.
	epochs map[string]int64
	// lostSessions: sessions taken from this node; writes to them fail fast.
	lostSessions map[string]bool
	lease        time.Duration
	// leaseUntil: when the lease lapses at the latest, by this process's clock, counted
	// from the moment the last successful heartbeat was sent (the server renews it after).
	leaseUntil time.Time
	lost       *Error
	lostCh     chan struct{}
}

// Node makes the routing node id on this client's server. Nothing is sent until Register.
func (c *Client) Node(cfg NodeConfig) (*Node, error) {
	if cfg.ID == "" {
		return nil, errors.New("client: a node needs an ID")
	}
	n := &Node{cfg: cfg, epochs: map[string]int64{}, lostSessions: map[string]bool{}, lostCh: make(chan struct{})}
	d := *c.doer
	d.before, d.after = n.beforeSend, n.afterAnswer
	nc, err := newClient(c.base, &d)
	if err != nil {
		return nil, err
	}
	n.Client = nc
	return n, nil
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.ID }

// Register registers the node (again, after a lapse: it is alive from then on, but
// sessions claimed meanwhile are gone) and starts its lease.
func (n *Node) Register(ctx context.Context) (*NodeInfo, error) {
	body := RegisterNodeJSONRequestBody{NodeID: n.cfg.ID, Address: n.cfg.Address, Capacity: n.cfg.Capacity}
	if n.cfg.Lease > 0 {
		body.Lease = n.cfg.Lease.String()
	}
	sent := time.Now()
	res, err := n.RegisterNodeWithResponse(ctx, body)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lease = time.Duration(res.JSON200.LeaseMs) * time.Millisecond
	n.leaseUntil = sent.Add(n.lease)
	if n.lost != nil {
		n.lost, n.lostCh = nil, make(chan struct{})
	}
	return res.JSON200, nil
}

// Heartbeat renews the node's lease once. After the lease has lapsed it fails with
// ErrLeaseLost and renews nothing: the node must Register again.
func (n *Node) Heartbeat(ctx context.Context) error {
	if err := n.checkLease(); err != nil {
		return err
	}
	sent := time.Now()
	res, err := n.HeartbeatNodeWithResponse(ctx, n.cfg.ID)
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNodeNotLive) {
			return n.loseLease("the server no longer knows this node as alive: " + err.Error())
		}
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lost != nil {
		return n.lost
	}
	if res.JSON200 != nil && res.JSON200.LeaseMs > 0 {
		n.lease = time.Duration(res.JSON200.LeaseMs) * time.Millisecond
	}
	n.leaseUntil = sent.Add(n.lease)
	return nil
}

// Heartbeats renews the lease every third of it until ctx ends (it then returns nil) or
// the lease is lost: a heartbeat could not be made before the lease ran out. It then returns
// that error (matching ErrLeaseLost), and Lost is closed. Failed heartbeats are retried
// within the lease, each bounded by the time the lease has left.
func (n *Node) Heartbeats(ctx context.Context) error {
	for {
		n.mu.Lock()
		every, until, lost := n.lease/3, n.leaseUntil, n.lost
		n.mu.Unlock()
		if lost != nil {
			return lost
		}
		if every <= 0 {
			return errors.New("client: Heartbeats before Register")
		}
		wait := every
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			left := time.Until(until)
			if left <= 0 {
				return n.loseLease(fmt.Sprintf("no heartbeat succeeded within the lease (%s)", n.lease))
			}
			hctx, cancel := context.WithTimeout(ctx, left)
			err := n.Heartbeat(hctx)
			cancel()
			if err == nil {
				break
			}
			if errors.Is(err, ErrLeaseLost) {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			// Try again soon, while the lease lasts.
			wait = min(every/4+time.Millisecond, max(time.Until(until), time.Millisecond))
		}
	}
}

// Lost is closed when the node's lease is lost (until it registers again).
func (n *Node) Lost() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lostCh
}

// LeaseErr is the error every write gets since the lease was lost; nil while it holds.
func (n *Node) LeaseErr() error {
	if err := n.checkLease(); err != nil {
		return err
	}
	return nil
}

func (n *Node) checkLease() *Error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lost == nil && !n.leaseUntil.IsZero() && time.Now().After(n.leaseUntil) {
		n.loseLocked(fmt.Sprintf("the node's lease (%s) lapsed without a heartbeat", n.lease))
	}
	return n.lost
}

func (n *Node) loseLease(why string) *Error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.loseLocked(why)
	return n.lost
}

func (n *Node) loseLocked(why string) {
	if n.lost != nil {
		return
	}
	n.lost = &Error{Status: http.StatusConflict, Code: CodeLeaseLost, Message: "node " + n.cfg.ID + ": " + why}
	close(n.lostCh)
}

// Epoch is the lease epoch the node holds session sid at.
func (n *Node) Epoch(sid string) (int64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.epochs[sid]
	return e, ok
}

// Hold records that the node owns sid at epoch (a session it owned before a restart, read
// back with Owned).
func (n *Node) Hold(sid string, epoch int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.epochs[sid] = epoch
	delete(n.lostSessions, sid)
}

// letGo: the node no longer owns sid; its writes to it fail fast until it holds it again.
func (n *Node) letGo(sid string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.epochs, sid)
	n.lostSessions[sid] = true
}

// Sessions is the ids of the sessions the node holds.
func (n *Node) Sessions() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := make([]string, 0, len(n.epochs))
	for id := range n.epochs {
		ids = append(ids, id)
	}
	return ids
}

// Owned reads the active sessions the server says this node owns and holds each at its
// current epoch: what a node restarted within its lease does first.
func (n *Node) Owned(ctx context.Context) ([]Session, error) {
	var all []Session
	params := ListSessionsParams{OwnerNode: n.cfg.ID, State: Ptr(ListSessionsParamsStateActive)}
	for {
		res, err := n.ListSessionsWithResponse(ctx, &params)
		if err != nil {
			return all, err
		}
		for _, s := range res.JSON200.Sessions {
			n.Hold(s.SessionID, s.LeaseEpoch)
		}
		all = append(all, res.JSON200.Sessions...)
		if res.JSON200.Next == "" {
			return all, nil
		}
		params.After = Ptr(res.JSON200.Next)
	}
}

// CreateSession creates session sid owned by this node ("": a new id) and holds it.
func (n *Node) CreateSession(ctx context.Context, sid string) (*Session, error) {
	res, err := n.CreateSessionWithResponse(ctx, nil, CreateSessionJSONRequestBody{SessionID: sid, OwnerNode: n.cfg.ID})
	if err != nil {
		return nil, err
	}
	s := res.JSON201
	if s == nil {
		s = res.JSON200
	}
	n.Hold(s.SessionID, s.LeaseEpoch)
	return s, nil
}

// Claim takes an orphaned session: the answer has its whole state, the
// interaction.restored events written and its last checkpoint. The node holds it at the
// new epoch.
func (n *Node) Claim(ctx context.Context, sid string) (*Takeover, error) {
	if err := n.checkLease(); err != nil {
		return nil, err
	}
	res, err := n.ClaimSessionWithResponse(ctx, sid, nil, ClaimSessionJSONRequestBody{NodeID: n.cfg.ID})
	if err != nil {
		return nil, err
	}
	n.Hold(sid, res.JSON200.Session.LeaseEpoch)
	return res.JSON200, nil
}

// Release lets session sid go, to node toNode ("": to nobody).
func (n *Node) Release(ctx context.Context, sid, toNode string) (*Takeover, error) {
	res, err := n.ReleaseSessionWithResponse(ctx, sid, nil, ReleaseSessionJSONRequestBody{ToNode: toNode})
	if err != nil {
		return nil, err
	}
	n.letGo(sid)
	return res.JSON200, nil
}

// Leave ends the node in order: every session goes to toNode ("": orphaned at once).
func (n *Node) Leave(ctx context.Context, toNode string) error {
	_, err := n.LeaveNodeWithResponse(ctx, n.cfg.ID, LeaveNodeJSONRequestBody{ToNode: toNode})
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for sid := range n.epochs {
		n.lostSessions[sid] = true
	}
	n.epochs = map[string]int64{}
	n.leaseUntil = time.Time{}
	return nil
}

// sessionOf is the session a request writes to, from its path (/v1/sessions/{sid}/...).
func sessionOf(req *http.Request) string {
	rest, ok := strings.CutPrefix(req.URL.Path, "/v1/sessions/")
	if !ok {
		return ""
	}
	sid, _, _ := strings.Cut(rest, "/")
	if sid == "orphaned" {
		return ""
	}
	return sid
}

// beforeSend refuses a write once the lease is lost, and adds the session's epoch.
func (n *Node) beforeSend(req *http.Request) error {
	if !sentWrite(req) {
		return nil
	}
	isLease := strings.HasPrefix(req.URL.Path, "/v1/nodes")
	if err := n.checkLease(); err != nil && !isLease {
		return err
	}
	sid := sessionOf(req)
	if sid == "" || strings.HasSuffix(req.URL.Path, "/claim") {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lostSessions[sid] {
		return &Error{Status: http.StatusConflict, Code: CodeLeaseLost, Message: "session " + sid + " was taken from node " + n.cfg.ID}
	}
	if e, ok := n.epochs[sid]; ok && req.Header.Get("X-Lease-Epoch") == "" {
		req.Header.Set("X-Lease-Epoch", strconv.FormatInt(e, 10))
	}
	return nil
}

// afterAnswer forgets a session the server says is no longer this node's.
func (n *Node) afterAnswer(req *http.Request, e *Error) {
	if e.Code != CodeLeaseLost && e.Code != CodeSessionEnded {
		return
	}
	if sid := sessionOf(req); sid != "" {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.epochs, sid)
		if e.Code == CodeLeaseLost {
			n.lostSessions[sid] = true
		}
	}
}

// Ptr is a pointer to v, for the optional parameters of the generated calls.
func Ptr[T any](v T) *T { return &v }
