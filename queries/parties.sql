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

-- PartyStateChanges applies several party state changes in one statement and one commit, each
-- with its own outcome (see ixn_party_state_changes): a row per event written, or one row with
-- the refusal of a change that was refused (err_code not empty; the event's columns zero).
-- name: PartyStateChanges :many
SELECT c.item::int AS item,
       coalesce(c.err_code, '')::text AS err_code, coalesce(c.err_message, '')::text AS err_message,
       coalesce(c.err_constraint, '')::text AS err_constraint,
       coalesce((c.ev).id, 0)::bigint AS id, coalesce((c.ev).session_id, '')::text AS session_id,
       coalesce((c.ev).seq, 0)::bigint AS seq, coalesce((c.ev).name::text, '')::text AS name,
       coalesce((c.ev).attrs, 'null')::jsonb AS attrs, coalesce((c.ev).node_id, '')::text AS node_id,
       coalesce((c.ev).epoch, 0)::bigint AS epoch, coalesce((c.ev).txid, '0')::xid8 AS txid,
       coalesce((c.ev).created_at, 'epoch')::timestamptz AS created_at
  FROM ixn_party_state_changes(@session_ids::text[], @epochs::bigint[], @interaction_ids::text[],
    @party_ids::text[], @states::text[], @hints::jsonb[]) AS c;
