package service

import (
	"encoding/json"
	"time"

	"github.com/ixnstore/ixnstore/db"
)

// Event is one interaction event as the outbox holds it: Name is an event of the SCXML
// reference and Data its attributes, spelt as the reference spells them. ID is the event's
// stable identity; Seq its place in its session's order (1, 2, 3, ...).
type Event struct {
	ID        int64           `json:"id"`
	SessionID string          `json:"session_id"`
	Seq       int64           `json:"seq"`
	Name      string          `json:"name"`
	Data      json.RawMessage `json:"data"`
	NodeID    *string         `json:"node_id,omitempty"`
	Epoch     int64           `json:"epoch"`
	CreatedAt time.Time       `json:"created_at"`
}

type Session struct {
	SessionID  string     `json:"session_id"`
	TenantID   *string    `json:"tenant_id,omitempty"`
	State      string     `json:"state"`
	OwnerNode  *string    `json:"owner_node,omitempty"`
	LeaseEpoch int64      `json:"lease_epoch"`
	LastSeq    int64      `json:"last_seq"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
}

// SessionState is the whole state of a session: what a routing node needs to continue it.
type SessionState struct {
	Session
	Interactions []Interaction `json:"interactions"`
	// The version of the session's current checkpoint; none when it has none.
	CheckpointVersion *int64 `json:"checkpoint_version,omitempty"`
}

type Interaction struct {
	SessionID     string                     `json:"session_id"`
	InteractionID string                     `json:"interaction_id"`
	Media         string                     `json:"media"`
	Type          string                     `json:"type"`
	State         string                     `json:"state"`
	Controlled    bool                       `json:"controlled"`
	ParentID      *string                    `json:"parent_id,omitempty"`
	MergedInto    *string                    `json:"merged_into,omitempty"`
	TenantID      *string                    `json:"tenant_id,omitempty"`
	AbandonedAt   *time.Time                 `json:"abandoned_at,omitempty"`
	CreatedAt     time.Time                  `json:"created_at"`
	UpdatedAt     time.Time                  `json:"updated_at"`
	DeletedAt     *time.Time                 `json:"deleted_at,omitempty"`
	Parties       []Party                    `json:"parties"`
	UserData      map[string]json.RawMessage `json:"udata"`
	// Genesys is the interaction as a strategy reads it in _genesys.ixn.interactions[id],
	// with Parties and UserData beside it.
	Genesys *GenesysView `json:"genesys"`
}

type Party struct {
	PartyID   string    `json:"party_id"`
	Resource  string    `json:"resource"`
	State     string    `json:"state"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func eventFromRow(r db.Outbox) Event {
	return Event{
		ID: r.ID, SessionID: r.SessionID, Seq: r.Seq, Name: string(r.Name), Data: r.Attrs,
		NodeID: r.NodeID, Epoch: r.Epoch, CreatedAt: r.CreatedAt,
	}
}

// EventsFromRows gives rows of the events view read elsewhere (reports) as events.
func EventsFromRows(rows []db.Event) []Event { return eventsFromRows(rows) }

// eventsFromRows reads outbox rows (a change's events) or rows of the events view (a
// session's history), which have the same columns.
func eventsFromRows[R db.Outbox | db.Event](rows []R) []Event {
	events := make([]Event, len(rows))
	for i, r := range rows {
		events[i] = eventFromRow(db.Outbox(r))
	}
	return events
}

func sessionFromRow(r db.Session) Session {
	return Session{
		SessionID: r.SessionID, TenantID: r.TenantID, State: string(r.State), OwnerNode: r.OwnerNode,
		LeaseEpoch: r.LeaseEpoch, LastSeq: r.LastSeq,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, EndedAt: r.EndedAt,
	}
}

func interactionFromRow(r db.Interaction) Interaction {
	ix := Interaction{
		SessionID: r.SessionID, InteractionID: r.InteractionID, Media: r.Media, Type: string(r.Type),
		State: string(r.State), Controlled: r.Controlled, ParentID: r.ParentID, MergedInto: r.MergedInto,
		TenantID: r.TenantID, AbandonedAt: r.AbandonedAt, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt,
		Parties: []Party{}, UserData: map[string]json.RawMessage{},
	}
	ix.Genesys = GenesysOf(ix.InteractionID, ix.Media, ix.Type, ix.TenantID, ix.ParentID, r.Properties)
	return ix
}

func partyFromRow(r db.Party) Party {
	return Party{
		PartyID: r.PartyID, Resource: r.Resource, State: string(r.State), Role: string(r.Role),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}
