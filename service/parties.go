package service

import (
	"context"

	"github.com/ixnstore/ixnstore/db"
)

// AddParty adds a party to the interaction: interaction.partyadded.
func (s *Store) AddParty(ctx context.Context, t Target, interactionID string, in NewParty) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.PartyAdd(ctx, db.PartyAddParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID,
			PartyID: in.PartyID, Resource: in.Resource, State: db.PartyState(in.State), Role: roleOrNil(in.Role),
		})
	})
}

// DeleteParty removes a party from the interaction: interaction.partydeleted.
func (s *Store) DeleteParty(ctx context.Context, t Target, interactionID, partyID string) ([]Event, error) {
	return s.change(ctx, nil, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.PartyDelete(ctx, db.PartyDeleteParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, PartyID: partyID,
		})
	})
}

// ChangePartyState moves a party to another state: interaction.partystatechanged. The moves
// allowed are those of sql/functions/ixn_party_transition_allowed.sql. A party moved to
// released leaves the interaction: interaction.partydeleted follows.
func (s *Store) ChangePartyState(ctx context.Context, t Target, interactionID, partyID string, in PartyStateChange) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		p := db.PartyStateChangeParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, PartyID: partyID,
			State: db.PartyState(in.State), Hints: hintsOrEmpty(in.Hints),
		}
		if s.shared != nil {
			return s.shared.changePartyState(ctx, p)
		}
		return s.q.PartyStateChange(ctx, p)
	})
}

func roleOrNil(role *string) *db.PartyRole {
	if role == nil {
		return nil
	}
	r := db.PartyRole(*role)
	return &r
}
