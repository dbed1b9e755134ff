package service

import "encoding/json"

// Target names the session a write is for and the lease epoch the writer holds. A nil Epoch
// is not checked; a stale one refuses the write with fault.ErrLeaseLost.
type Target struct {
	SessionID string
	Epoch     *int64
}

type NewSession struct {
	SessionID string  `json:"session_id"`
	TenantID  *string `json:"tenant_id,omitempty"`
	OwnerNode *string `json:"owner_node,omitempty"`
}

type NewInteraction struct {
	InteractionID string                     `json:"interaction_id"`
	Media         string                     `json:"media"`
	Type          string                     `json:"type"`
	ParentID      *string                    `json:"parent_id,omitempty"`
	TenantID      *string                    `json:"tenant_id,omitempty"`
	Parties       []NewParty                 `json:"parties,omitempty"`
	UserData      map[string]json.RawMessage `json:"udata,omitempty"`
	// Genesys holds the properties a strategy reads that the fields above do not (g_uid, ani,
	// dnis, ...); the rest of the strategy's view is derived (service/genesys.go).
	Genesys *InteractionProperties `json:"genesys,omitempty"`
}

type NewParty struct {
	PartyID  string  `json:"party_id"`
	Resource string  `json:"resource"`
	State    string  `json:"state"`
	Role     *string `json:"role,omitempty"`
}

type PartyStateChange struct {
	State string          `json:"state"`
	Hints json.RawMessage `json:"hints,omitempty" shape:"object"`
}

// The origins of a user data change. Only a change from the media side is an event to the
// session (interaction.udata.changed); the session knows its own changes.
const (
	OriginMedia   = "media"
	OriginSession = "session"
)

type UserDataChange struct {
	Origin string                     `json:"origin"`
	Data   map[string]json.RawMessage `json:"data"`
}

// PartyLeft is the media side's report that a party left by a divert or a single-step
// transfer to a new destination.
type PartyLeft struct {
	PartyID        string          `json:"party_id"`
	NewDestination string          `json:"new_destination"`
	Hints          json.RawMessage `json:"hints,omitempty" shape:"object"`
}

type Conference struct {
	PartyID    string          `json:"party_id"`
	AddedParty NewParty        `json:"added_party"`
	Hints      json.RawMessage `json:"hints,omitempty" shape:"object"`
}

type Merge struct {
	IntoInteractionID string          `json:"into_interaction_id"`
	ActivePartyID     string          `json:"active_party_id"`
	HeldPartyID       string          `json:"held_party_id"`
	Hints             json.RawMessage `json:"hints,omitempty" shape:"object"`
}

type Abandon struct {
	FocusResource string          `json:"focus_resource"`
	Reason        string          `json:"reason"`
	Hints         json.RawMessage `json:"hints,omitempty" shape:"object"`
}
