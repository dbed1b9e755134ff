package service

import (
	"context"
	"encoding/json"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// ReplaceUserData sets the interaction's user data to exactly in.Data.
func (s *Store) ReplaceUserData(ctx context.Context, t Target, interactionID string, in UserDataChange) ([]Event, error) {
	return s.writeUserData(ctx, t, interactionID, in, true)
}

// MergeUserData sets the keys of in.Data and removes those whose value is null (JSON merge
// patch, RFC 7396, at the top level).
func (s *Store) MergeUserData(ctx context.Context, t Target, interactionID string, in UserDataChange) ([]Event, error) {
	return s.writeUserData(ctx, t, interactionID, in, false)
}

// DeleteUserDataKey removes one key.
func (s *Store) DeleteUserDataKey(ctx context.Context, t Target, interactionID, key, origin string) ([]Event, error) {
	return s.MergeUserData(ctx, t, interactionID, UserDataChange{
		Origin: origin, Data: map[string]json.RawMessage{key: json.RawMessage("null")},
	})
}

// writeUserData writes interaction.udata.changed only for a change from the media side.
func (s *Store) writeUserData(ctx context.Context, t Target, interactionID string, in UserDataChange, replace bool) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		data, err := json.Marshal(in.Data)
		if err != nil {
			return nil, fault.Errorf(fault.ErrInvalid, "data: %v", err)
		}
		return s.q.UserDataWrite(ctx, db.UserDataWriteParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, Data: data,
			Replace: replace, FromMedia: in.Origin == OriginMedia,
		})
	})
}
