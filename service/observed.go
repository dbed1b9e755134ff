package service

import (
	"context"
	"time"

	"github.com/ixnstore/ixnstore/internal/database"
)

// Observed is what the operator's metrics read from the database: what this process cannot
// count itself because other instances change it too.
type Observed struct {
	// Backlog is how many events are written and not yet published; OldestUnpublished how
	// long the oldest of them has waited (0 with no backlog).
	Backlog           int64
	OldestUnpublished time.Duration
	// Nodes by state: alive, lease lapsed (no heartbeat in time), left.
	NodesLive, NodesLapsed, NodesLeft int64
	// Active sessions whose owner is alive, and those with no owner or a dead one.
	SessionsOwned, SessionsOrphaned int64
	// RequestsPending is how many action requests wait for the media side.
	RequestsPending int64
}

// Observe reads Observed in one statement.
func (s *Store) Observe(ctx context.Context) (Observed, error) {
	r, err := s.q.ObservedState(ctx)
	if err != nil {
		return Observed{}, database.Translate(err)
	}
	return Observed{
		Backlog: r.Backlog, OldestUnpublished: time.Duration(r.OldestUnpublishedSeconds * float64(time.Second)),
		NodesLive: r.NodesLive, NodesLapsed: r.NodesLapsed, NodesLeft: r.NodesLeft,
		SessionsOwned: r.SessionsOwned, SessionsOrphaned: r.SessionsOrphaned, RequestsPending: r.RequestsPending,
	}, nil
}
