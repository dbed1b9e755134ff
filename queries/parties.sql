-- name: PartyListBySession :many
SELECT p.* FROM parties p
  JOIN interactions i USING (session_id, interaction_id)
 WHERE p.session_id = @session_id AND i.state <> 'deleted'
 ORDER BY p.interaction_id, p.created_at, p.party_id;

-- name: PartyListByInteraction :many
SELECT * FROM parties
 WHERE session_id = @session_id AND interaction_id = @interaction_id
 ORDER BY created_at, party_id;

-- name: PartyAdd :many
SELECT * FROM ixn_party_add(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @party_id, @resource, @state,
    sqlc.narg(role));

-- name: PartyDelete :many
SELECT * FROM ixn_party_delete(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @party_id);

-- name: PartyStateChange :many
SELECT * FROM ixn_party_state_change(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @party_id, @state,
    @hints::jsonb);
