-- name: SessionCreate :one
INSERT INTO sessions (session_id, tenant_id, owner_node)
VALUES (@session_id, sqlc.narg(tenant_id), sqlc.narg(owner_node))
RETURNING *;

-- SessionListByOwner lists a node's sessions by session id after @after (keyset paging: ''
-- is the start), of one state when given, through sessions_owner_node_idx (owner, id).
-- name: SessionListByOwner :many
SELECT * FROM sessions
 WHERE owner_node = @owner_node AND session_id > @after::text
   AND (sqlc.narg(state)::session_state IS NULL OR state = sqlc.narg(state)::session_state)
 ORDER BY session_id
 LIMIT @max_rows;

-- name: SessionGet :one
SELECT * FROM sessions WHERE session_id = @session_id;

-- name: SessionEnd :many
SELECT * FROM ixn_session_end(@session_id, sqlc.narg(epoch)::bigint);

-- SessionOwnerHistory is who owned the session at each lease epoch, as its events recorded
-- it: the node and epoch every event carries, with the first event written under each.
-- name: SessionOwnerHistory :many
SELECT epoch, node_id, min(seq)::bigint AS first_seq, min(created_at)::timestamptz AS since,
       count(*)::bigint AS events
  FROM events
 WHERE session_id = @session_id
 GROUP BY epoch, node_id
 ORDER BY epoch, min(seq);
