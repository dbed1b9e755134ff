-- name: InteractionListBySession :many
SELECT * FROM interactions
 WHERE session_id = @session_id AND state <> 'deleted'
 ORDER BY created_at, interaction_id;

-- name: InteractionGet :one
SELECT * FROM interactions WHERE session_id = @session_id AND interaction_id = @interaction_id;

-- name: InteractionAdd :many
SELECT * FROM ixn_interaction_add(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @media, @type,
    sqlc.narg(parent_id), sqlc.narg(tenant_id), @parties::jsonb, @udata::jsonb, @properties::jsonb);

-- InteractionAddedAs answers an interaction added again with what it was added with: the
-- interaction.added event of its current stay in the session, when it is live there with the
-- same media, type, parent and tenant, and was added with the same parties (@parties: their
-- party_id, resource and state, in any order, as interaction_origins keeps them). No row:
-- something differs. Read only when an add conflicts.
-- name: InteractionAddedAs :many
SELECT o.* FROM interactions i
  JOIN interaction_origins g ON g.session_id = i.session_id AND g.interaction_id = i.interaction_id
  JOIN events o ON o.session_id = g.session_id AND o.seq = g.seq
 WHERE i.session_id = @session_id AND i.interaction_id = @interaction_id AND i.state <> 'deleted'
   AND i.media = @media AND i.type = @type
   AND i.parent_id IS NOT DISTINCT FROM sqlc.narg(parent_id)
   AND i.tenant_id IS NOT DISTINCT FROM coalesce(sqlc.narg(tenant_id),
                                                 (SELECT s.tenant_id FROM sessions s WHERE s.session_id = @session_id))
   AND g.parties @> @parties::jsonb AND @parties::jsonb @> g.parties
   AND g.seq = (SELECT max(x.seq) FROM interaction_origins x
                 WHERE x.session_id = i.session_id AND x.interaction_id = i.interaction_id);

-- name: InteractionPresent :many
SELECT * FROM ixn_interaction_present(@session_id, sqlc.narg(epoch)::bigint, @interaction_id);

-- name: InteractionNotControlled :many
SELECT * FROM ixn_interaction_notcontrolled(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @resultof);

-- name: InteractionDelete :many
SELECT * FROM ixn_interaction_delete(@session_id, sqlc.narg(epoch)::bigint, @interaction_id);

-- name: InteractionSetProperties :one
SELECT * FROM ixn_interaction_properties(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @properties::jsonb);
