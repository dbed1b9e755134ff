package service

import (
	"context"

	"github.com/ixnstore/ixnstore/db"
)

// What the media side reports about an interaction. Each report writes its own event, then the
// events of the party changes it implies.

// ReportDivert: the interaction was diverted away from a party, which leaves it
// (interaction.ondivert, interaction.partydeleted). The new destination's party comes in its
// own report.
func (s *Store) ReportDivert(ctx context.Context, t Target, interactionID string, in PartyLeft) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.ReportDivert(ctx, db.ReportDivertParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, PartyID: in.PartyID,
			NewDestination: in.NewDestination, Hints: hintsOrEmpty(in.Hints),
		})
	})
}

// ReportSingleStepTransfer: a party transferred the interaction and left it
// (interaction.onsinglesteptransfer, interaction.partydeleted).
func (s *Store) ReportSingleStepTransfer(ctx context.Context, t Target, interactionID string, in PartyLeft) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.ReportSingleStepTransfer(ctx, db.ReportSingleStepTransferParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, PartyID: in.PartyID,
			NewDestination: in.NewDestination, Hints: hintsOrEmpty(in.Hints),
		})
	})
}

// ReportSingleStepConference: a party conferenced another one in
// (interaction.onsinglestepconference, interaction.partyadded).
func (s *Store) ReportSingleStepConference(ctx context.Context, t Target, interactionID string, in Conference) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.ReportSingleStepConference(ctx, db.ReportSingleStepConferenceParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, PartyID: in.PartyID,
			AddedPartyID: in.AddedParty.PartyID, AddedResource: in.AddedParty.Resource,
			AddedState: db.PartyState(in.AddedParty.State), AddedRole: roleOrNil(in.AddedParty.Role), Hints: hintsOrEmpty(in.Hints),
		})
	})
}

// ReportMerge: the consultation interactionID merged into in.IntoInteractionID
// (interaction.onmerge; interaction.partyadded for each party that moves to the primary; the
// consultation leaves the session).
func (s *Store) ReportMerge(ctx context.Context, t Target, interactionID string, in Merge) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.ReportMerge(ctx, db.ReportMergeParams{
			SessionID: t.SessionID, Epoch: t.Epoch, FromInteractionID: interactionID,
			ToInteractionID: in.IntoInteractionID, ActivePartyID: in.ActivePartyID,
			HeldPartyID: in.HeldPartyID, Hints: hintsOrEmpty(in.Hints),
		})
	})
}

// ReportAbandoned: the customer left unexpectedly (interaction.abandoned, then
// interaction.partydeleted for the parties at the focus resource).
func (s *Store) ReportAbandoned(ctx context.Context, t Target, interactionID string, in Abandon) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.ReportAbandoned(ctx, db.ReportAbandonedParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID,
			FocusResource: in.FocusResource, Reason: in.Reason, Hints: hintsOrEmpty(in.Hints),
		})
	})
}
