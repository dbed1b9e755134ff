package service

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// The bounds of a node's lease, and its default.
const (
	DefaultNodeLease = 10 * time.Second
	MinNodeLease     = 100 * time.Millisecond
	MaxNodeLease     = 10 * time.Minute
	DefaultCapacity  = 1000
)

// NodeRegistration is a routing node announcing itself. Registering again updates it.
type NodeRegistration struct {
	NodeID  string  `json:"node_id"`
	Address *string `json:"address,omitempty"`
	// How many sessions it takes when orphans are assigned; DefaultCapacity when left out.
	Capacity *int `json:"capacity,omitempty"`
	// How long the node is alive after each heartbeat, a Go duration ("10s"); the server's
	// default when left out.
	Lease string `json:"lease,omitempty"`
}

func (in NodeRegistration) validate() (time.Duration, error) {
	var c checker
	c.id("node_id", in.NodeID)
	if in.Address != nil {
		c.text("address", *in.Address, true)
	}
	if in.Capacity != nil && (*in.Capacity < 0 || *in.Capacity > 1_000_000) {
		c.addf("capacity must be from 0 to 1000000")
	}
	lease := c.duration("lease", in.Lease, MinNodeLease, MaxNodeLease)
	return lease, c.err()
}

// Node is a routing node as stored. Alive: its lease has not lapsed and it has not left.
type Node struct {
	NodeID         string    `json:"node_id"`
	Address        *string   `json:"address,omitempty"`
	Capacity       int       `json:"capacity"`
	LeaseMS        int64     `json:"lease_ms"`
	LeaseExpiresAt time.Time `json:"lease_expires_at"`
	Alive          bool      `json:"alive"`
	// Active sessions it owns (in lists).
	Owned        *int64    `json:"owned,omitempty"`
	RegisteredAt time.Time `json:"registered_at"`
	HeartbeatAt  time.Time `json:"heartbeat_at"`
}

// nodeFromRow: alive as the database judged it (by its own clock).
func nodeFromRow(r db.Node, alive bool) Node {
	return Node{
		NodeID: r.NodeID, Address: r.Address, Capacity: int(r.Capacity), LeaseMS: r.LeaseMs,
		LeaseExpiresAt: r.LeaseExpiresAt, Alive: alive, RegisteredAt: r.RegisteredAt, HeartbeatAt: r.HeartbeatAt,
	}
}

// RegisterNode registers a node, or updates it, and starts its lease.
func (s *Store) RegisterNode(ctx context.Context, in NodeRegistration) (Node, error) {
	lease, err := in.validate()
	if err != nil {
		return Node{}, err
	}
	if lease == 0 {
		lease = s.nodeLease
	}
	capacity := DefaultCapacity
	if in.Capacity != nil {
		capacity = *in.Capacity
	}
	row, err := s.q.NodeRegister(ctx, db.NodeRegisterParams{
		NodeID: in.NodeID, Address: in.Address, Capacity: int32(capacity),
		LeaseMs: lease.Milliseconds(), LeaseSecs: lease.Seconds(),
	})
	if err != nil {
		return Node{}, database.Translate(err)
	}
	// Registering starts a lease: alive.
	return nodeFromRow(row, true), nil
}

// Heartbeat renews a node's lease, and so the lease of every session it owns.
func (s *Store) Heartbeat(ctx context.Context, nodeID string) (Node, error) {
	row, err := s.q.NodeHeartbeat(ctx, nodeID)
	if err != nil {
		return Node{}, notFound(err, "node %s is not registered", nodeID)
	}
	return nodeFromRow(row, true), nil // a heartbeat renews the lease
}

// ListNodes lists every registered node with the number of active sessions it owns.
func (s *Store) ListNodes(ctx context.Context) ([]Node, error) {
	rows, err := s.q.NodeList(ctx)
	if err != nil {
		return nil, database.Translate(err)
	}
	out := make([]Node, len(rows))
	for i, r := range rows {
		out[i] = nodeFromRow(db.Node{NodeID: r.NodeID, Address: r.Address, Capacity: r.Capacity, LeaseMs: r.LeaseMs,
			LeaseExpiresAt: r.LeaseExpiresAt, Live: r.Live, RegisteredAt: r.RegisteredAt, HeartbeatAt: r.HeartbeatAt}, r.Alive)
		out[i].Owned = &r.Owned
	}
	return out, nil
}

// LeaveNode is a node's orderly shutdown: it stops being alive and releases its sessions to
// toNode (which gets interaction.restored for each interaction) or, when nil, to nobody
// (orphaned at once, to be claimed). It returns the sessions as they now are.
func (s *Store) LeaveNode(ctx context.Context, nodeID string, toNode *string) ([]Session, error) {
	if toNode != nil {
		var c checker
		c.id("to_node", *toNode)
		if err := c.err(); err != nil {
			return nil, err
		}
	}
	rows, err := s.q.NodeLeave(ctx, db.NodeLeaveParams{NodeID: nodeID, ToNode: toNode})
	if err != nil {
		return nil, database.Translate(err)
	}
	if toNode != nil && len(rows) > 0 {
		s.written()
	}
	out := make([]Session, len(rows))
	for i, r := range rows {
		out[i] = sessionFromRow(r)
	}
	return out, nil
}

// Takeover is the answer to a claim or a handover: the session's whole state under its new
// owner and epoch, the interaction.restored events written for it, and the session's last
// committed checkpoint (none when it has none), read in the same transaction under the
// session's lock: no write can come between the state and the checkpoint, and each timer's
// remaining_ms is counted from the database's now at the takeover.
type Takeover struct {
	Session    SessionState `json:"session"`
	Events     []Event      `json:"events"`
	Checkpoint *Checkpoint  `json:"checkpoint,omitempty"`
}

// ClaimSession gives an orphaned session to a live node, in one transaction: a new epoch, the
// owner, interaction.restored for each live interaction, and the state the node continues
// from, read under the session's lock before anyone else can change it.
func (s *Store) ClaimSession(ctx context.Context, sessionID, nodeID string) (Takeover, error) {
	var c checker
	c.id("node_id", nodeID)
	if err := c.err(); err != nil {
		return Takeover{}, err
	}
	return s.takeover(ctx, sessionID, func(ctx context.Context, q *db.Queries) ([]db.Outbox, error) {
		return q.SessionClaim(ctx, db.SessionClaimParams{SessionID: sessionID, NodeID: nodeID})
	})
}

// ReleaseSession: the owner (t.Epoch is the epoch it holds) lets the session go, to toNode
// or, when nil, to nobody. The epoch is raised either way.
func (s *Store) ReleaseSession(ctx context.Context, t Target, toNode *string) (Takeover, error) {
	if toNode != nil {
		var c checker
		c.id("to_node", *toNode)
		if err := c.err(); err != nil {
			return Takeover{}, err
		}
	}
	return s.takeover(ctx, t.SessionID, func(ctx context.Context, q *db.Queries) ([]db.Outbox, error) {
		return q.SessionRelease(ctx, db.SessionReleaseParams{SessionID: t.SessionID, Epoch: t.Epoch, ToNode: toNode})
	})
}

func (s *Store) takeover(ctx context.Context, sessionID string, change func(ctx context.Context, q *db.Queries) ([]db.Outbox, error)) (Takeover, error) {
	out, err := database.WithTxValue(ctx, s.conn, pgx.TxOptions{}, func(ctx context.Context, q *db.Queries) (Takeover, error) {
		rows, err := change(ctx, q)
		if err != nil {
			return Takeover{}, err
		}
		state, err := readSessionState(ctx, q, sessionID)
		if err != nil {
			return Takeover{}, err
		}
		ck, err := readCheckpoint(ctx, q, sessionID)
		return Takeover{Session: state, Events: eventsFromRows(rows), Checkpoint: ck}, err
	})
	if err == nil && len(out.Events) > 0 {
		s.written()
	}
	return out, err
}

// MaxOrphansPage is the most orphaned sessions one ListOrphanedSessions call returns.
const MaxOrphansPage = MaxSessionsPage

// MaxSessionsPage is the most sessions one page of a session list holds.
const MaxSessionsPage = 1000

// SessionPage is one page of a list of sessions, by session id. Next, when set, is the cursor
// of the page after it (the id of this page's last session): given as after, it continues
// the list. A page shorter than its limit is the last and has none.
type SessionPage struct {
	Sessions []Session `json:"sessions"`
	Next     *string   `json:"next,omitempty"`
}

// ListOrphanedSessions lists active sessions whose owner is gone, by session id, from the
// one after after ("" is the start), at most limit (1 to MaxSessionsPage).
func (s *Store) ListOrphanedSessions(ctx context.Context, after string, limit int) (SessionPage, error) {
	if err := checkPageLimit(limit); err != nil {
		return SessionPage{}, err
	}
	rows, err := s.q.SessionListOrphaned(ctx, db.SessionListOrphanedParams{After: after, MaxRows: int32(limit)})
	return sessionPage(rows, limit, err)
}

// ListNodeSessions lists the sessions a node owns, by session id, from the one after after
// ("" is the start), at most limit (1 to MaxSessionsPage); of one state (active or ended)
// when state is not "".
func (s *Store) ListNodeSessions(ctx context.Context, nodeID, state, after string, limit int) (SessionPage, error) {
	var c checker
	c.id("owner_node", nodeID)
	if state != "" {
		c.oneOf("state", state, SessionStates)
	}
	if err := c.err(); err != nil {
		return SessionPage{}, err
	}
	if err := checkPageLimit(limit); err != nil {
		return SessionPage{}, err
	}
	var st *db.SessionState
	if state != "" {
		v := db.SessionState(state)
		st = &v
	}
	rows, err := s.q.SessionListByOwner(ctx, db.SessionListByOwnerParams{
		OwnerNode: &nodeID, After: after, State: st, MaxRows: int32(limit)})
	return sessionPage(rows, limit, err)
}

// SessionStates are the states a session can be in.
var SessionStates = []string{"active", "ended"}

func checkPageLimit(limit int) error {
	if limit < 1 || limit > MaxSessionsPage {
		return fault.Errorf(fault.ErrInvalid, "limit must be from 1 to %d", MaxSessionsPage)
	}
	return nil
}

func sessionPage(rows []db.Session, limit int, err error) (SessionPage, error) {
	if err != nil {
		return SessionPage{}, database.Translate(err)
	}
	page := SessionPage{Sessions: make([]Session, len(rows))}
	for i, r := range rows {
		page.Sessions[i] = sessionFromRow(r)
	}
	if len(rows) == limit {
		page.Next = &rows[len(rows)-1].SessionID
	}
	return page, nil
}

// AssignOrphans gives up to limit orphaned sessions to live nodes in proportion to their
// capacity: each session to the node that would be least loaded (owned / capacity) with it,
// never past a node's capacity, by a claim on that node's behalf. A session claimed by
// someone else meanwhile, or planned for a node that died meanwhile, is left to the next
// pass. It returns how many sessions it assigned.
func (s *Store) AssignOrphans(ctx context.Context, limit int) (int, error) {
	page, err := s.ListOrphanedSessions(ctx, "", min(limit, MaxSessionsPage))
	orphans := page.Sessions
	if err != nil || len(orphans) == 0 {
		return 0, err
	}
	nodes, err := s.ListNodes(ctx)
	if err != nil {
		return 0, err
	}
	type load struct{ owned, capacity int64 }
	loads := map[string]*load{}
	for _, n := range nodes {
		if n.Alive && int64(n.Capacity) > *n.Owned {
			loads[n.NodeID] = &load{owned: *n.Owned, capacity: int64(n.Capacity)}
		}
	}
	// Plan every assignment first, then give the sessions in bulk (see assignChunk).
	type assignment struct{ session, node string }
	var plan []assignment
	for _, o := range orphans {
		best := ""
		for id, l := range loads {
			if l.owned >= l.capacity {
				continue
			}
			// (owned+1)/capacity, compared without division; ties by node id.
			if b := loads[best]; b == nil || (l.owned+1)*b.capacity < (b.owned+1)*l.capacity ||
				((l.owned+1)*b.capacity == (b.owned+1)*l.capacity && id < best) {
				best = id
			}
		}
		if best == "" {
			break // no live node has room
		}
		loads[best].owned++
		plan = append(plan, assignment{o.SessionID, best})
	}
	// The plan follows the orphans' id order, so its chunks are disjoint ranges of sessions:
	// statements running at once never wait for each other's rows.
	var (
		mu       sync.Mutex
		assigned int
		failed   error
		wg       sync.WaitGroup
		next     = make(chan []assignment)
	)
	for range min(assignWorkers, (len(plan)+assignChunk-1)/assignChunk) {
		wg.Go(func() {
			for chunk := range next {
				sessions, nodes := make([]string, len(chunk)), make([]string, len(chunk))
				for i, a := range chunk {
					sessions[i], nodes[i] = a.session, a.node
				}
				given, err := s.q.SessionsAssign(ctx, db.SessionsAssignParams{SessionIds: sessions, NodeIds: nodes})
				if len(given) > 0 {
					s.written()
				}
				mu.Lock()
				assigned += len(given)
				if err != nil && failed == nil {
					failed = database.Translate(err)
				}
				mu.Unlock()
			}
		})
	}
	for len(plan) > 0 {
		n := min(assignChunk, len(plan))
		next <- plan[:n]
		plan = plan[n:]
	}
	close(next)
	wg.Wait()
	return assigned, failed
}

// AssignOrphans gives the sessions in chunks of assignChunk, one statement (and one commit) each,
// assignWorkers statements at once. A session that may no longer be given when its chunk runs
// (the node died, the session was claimed, ended or is being written) is passed over, not an
// error: the next pass sees how things are then.
const (
	assignChunk   = 250
	assignWorkers = 4
)
