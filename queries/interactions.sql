-- name: InteractionListBySession :many
SELECT * FROM interactions
 WHERE session_id = @session_id AND state <> 'deleted'
 ORDER BY created_at, interaction_id;

-- name: InteractionGet :one
SELECT * FROM interactions WHERE session_id = @session_id AND interaction_id = @interaction_id;

-- name: InteractionAdd :many
SELECT * FROM ixn_interaction_add(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @media, @type,
    sqlc.narg(parent_id), sqlc.narg(tenant_id), @parties::jsonb, @udata::jsonb, @properties::jsonb);

-- name: InteractionPresent :many
SELECT * FROM ixn_interaction_present(@session_id, sqlc.narg(epoch)::bigint, @interaction_id);

-- name: InteractionNotControlled :many
SELECT * FROM ixn_interaction_notcontrolled(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @resultof);

-- name: InteractionDelete :many
SELECT * FROM ixn_interaction_delete(@session_id, sqlc.narg(epoch)::bigint, @interaction_id);

-- name: InteractionSetProperties :one
SELECT * FROM ixn_interaction_properties(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @properties::jsonb);
