package service

import (
	"context"
	"slices"
	"time"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// Overview is the cluster at a glance, as the console's first page shows it: what is live,
// who carries it, what waits, and whether publication keeps up.
type Overview struct {
	// At is the database's clock when it was read.
	At           time.Time           `json:"at"`
	Interactions []InteractionCount  `json:"interactions"`
	Nodes        []Node              `json:"nodes"`
	Sessions     SessionCounts       `json:"sessions"`
	Requests     RequestCounts       `json:"requests"`
	Publication  PublicationProgress `json:"publication"`
}

// InteractionCount is how many live interactions of one media are in one state.
type InteractionCount struct {
	Media string `json:"media"`
	State string `json:"state"`
	Count int64  `json:"count"`
}

// SessionCounts: the active sessions, and those among them whose owner is gone.
type SessionCounts struct {
	Active   int64 `json:"active"`
	Orphaned int64 `json:"orphaned"`
}

// RequestCounts: the pending action requests and the nearest deadline among them.
type RequestCounts struct {
	Pending      int64      `json:"pending"`
	NextDeadline *time.Time `json:"next_deadline,omitempty"`
}

// MaxUnpublishedCount is where the count of events not yet published stops: past it the
// overview says "at least" rather than reading a backlog that large.
const MaxUnpublishedCount = 100_000

// PublicationProgress is how far publication has come and how far behind it is.
type PublicationProgress struct {
	// LastPubSeq is the newest publication number: a stream started after it gets what is
	// published from now on.
	LastPubSeq      int64      `json:"last_pub_seq"`
	LastPublishedAt *time.Time `json:"last_published_at,omitempty"`
	// Unpublished events are committed and not yet published, counted up to
	// MaxUnpublishedCount.
	Unpublished int64 `json:"unpublished"`
	// LagMS is how long the oldest of them has waited; 0 when none waits.
	LagMS int64 `json:"lag_ms"`
	// DispatcherAt is when the dispatcher last moved its position.
	DispatcherAt time.Time `json:"dispatcher_at"`
}

// Overview reads the overview: one statement per part, each counting only live rows through
// an index of its own. The parts are read one after the other, not in one snapshot: a
// picture a few milliseconds apart is what a dashboard needs, and no part waits for a lock.
func (s *Store) Overview(ctx context.Context) (Overview, error) {
	var o Overview
	counts, err := s.q.OverviewInteractions(ctx)
	if err != nil {
		return o, database.Translate(err)
	}
	o.Interactions = make([]InteractionCount, len(counts))
	for i, c := range counts {
		o.Interactions[i] = InteractionCount{Media: c.Media, State: string(c.State), Count: c.Interactions}
	}
	nodes, err := s.q.OverviewNodes(ctx)
	if err != nil {
		return o, database.Translate(err)
	}
	o.Nodes = make([]Node, len(nodes))
	for i, r := range nodes {
		o.Nodes[i] = nodeFromRow(db.Node{NodeID: r.NodeID, Address: r.Address, Capacity: r.Capacity, LeaseMs: r.LeaseMs,
			LeaseExpiresAt: r.LeaseExpiresAt, Live: r.Live, RegisteredAt: r.RegisteredAt, HeartbeatAt: r.HeartbeatAt}, r.Alive)
		o.Nodes[i].Owned = &r.Owned
	}
	sessions, err := s.q.OverviewSessions(ctx)
	if err != nil {
		return o, database.Translate(err)
	}
	o.Sessions = SessionCounts{Active: sessions.Active, Orphaned: sessions.Orphaned}
	requests, err := s.q.OverviewRequests(ctx)
	if err != nil {
		return o, database.Translate(err)
	}
	o.Requests = RequestCounts{Pending: requests.Pending}
	if requests.AnyPending {
		o.Requests.NextDeadline = &requests.NextDeadline
	}
	pub, err := s.q.OverviewPublication(ctx, MaxUnpublishedCount)
	if err != nil {
		return o, database.Translate(err)
	}
	o.At = pub.Now
	o.Publication = PublicationProgress{LastPubSeq: pub.LastPubSeq, Unpublished: pub.Unpublished,
		LagMS: max(0, pub.LagMs), DispatcherAt: pub.DispatcherAt}
	if pub.AnyPublished {
		o.Publication.LastPublishedAt = &pub.LastPublishedAt
	}
	return o, nil
}

// RequestPage is one page of a session's action requests; Next, when set, is the after of
// the next page.
type RequestPage struct {
	Requests []Request `json:"requests"`
	Next     *int64    `json:"next,omitempty"`
}

// RequestStates are the states a session's requests can be listed by.
var RequestStates = []string{"pending", "done", "failed"}

// ListSessionRequests lists a session's action requests in the order they were made, of one
// state when state is not "", limit at a time after the cursor (0: from the start).
func (s *Store) ListSessionRequests(ctx context.Context, sessionID, state string, after int64, limit int) (RequestPage, error) {
	if after < 0 {
		return RequestPage{}, fault.Errorf(fault.ErrInvalid, "after must be 0 or more")
	}
	var st *db.RequestState
	if state != "" {
		if !slices.Contains(RequestStates, state) {
			return RequestPage{}, fault.Errorf(fault.ErrInvalid, "state must be pending, done or failed, not %q", state)
		}
		v := db.RequestState(state)
		st = &v
	}
	if _, err := s.q.SessionGet(ctx, sessionID); err != nil {
		return RequestPage{}, notFound(err, "session %s not found", sessionID)
	}
	rows, err := s.q.RequestListBySession(ctx, db.RequestListBySessionParams{
		SessionID: sessionID, AfterID: after, State: st, MaxRows: int32(limit) + 1,
	})
	if err != nil {
		return RequestPage{}, database.Translate(err)
	}
	page := RequestPage{Requests: make([]Request, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			next := rows[limit-1].ID
			page.Next = &next
			break
		}
		page.Requests = append(page.Requests, requestFromRow(r))
	}
	return page, nil
}

// Ownership is one lease epoch of a session: the node that held it and its first event.
type Ownership struct {
	Epoch  int64   `json:"epoch"`
	NodeID *string `json:"node_id,omitempty"`
	// Since is when the first event under this epoch was written; FirstSeq is that event.
	// Both are absent for the current epoch when no event was written under it yet.
	Since    *time.Time `json:"since,omitempty"`
	FirstSeq *int64     `json:"first_seq,omitempty"`
	Events   int64      `json:"events"`
}

// SessionOwners is the session's owner at each lease epoch as its events recorded it, oldest
// first, ending with the owner it has now. Epochs under which no event was written (a release
// to nobody, a claim of a session with no interaction) and those of events pruned by
// retention are not seen, except the current one.
func (s *Store) SessionOwners(ctx context.Context, sessionID string) ([]Ownership, error) {
	return database.WithTxValue(ctx, s.conn, database.ReadSnapshot, func(ctx context.Context, q *db.Queries) ([]Ownership, error) {
		session, err := q.SessionGet(ctx, sessionID)
		if err != nil {
			return nil, notFound(err, "session %s not found", sessionID)
		}
		rows, err := q.SessionOwnerHistory(ctx, sessionID)
		if err != nil {
			return nil, err
		}
		out := make([]Ownership, 0, len(rows)+1)
		for _, r := range rows {
			out = append(out, Ownership{Epoch: r.Epoch, NodeID: r.NodeID, Since: &r.Since, FirstSeq: &r.FirstSeq, Events: r.Events})
		}
		if n := len(out); n == 0 || out[n-1].Epoch != session.LeaseEpoch {
			out = append(out, Ownership{Epoch: session.LeaseEpoch, NodeID: session.OwnerNode})
		}
		return out, nil
	})
}
