-- Routing nodes (sql/functions/ixn_node_*.sql, ixn_session_*.sql): registration,
-- heartbeats, and the ownership of sessions under leases.

-- name: NodeRegister :one
INSERT INTO nodes (node_id, address, capacity, lease_ms, lease_expires_at)
VALUES (@node_id, sqlc.narg(address), @capacity, @lease_ms, now() + make_interval(secs => @lease_secs::float8))
ON CONFLICT (node_id) DO UPDATE
   SET address = EXCLUDED.address, capacity = EXCLUDED.capacity, lease_ms = EXCLUDED.lease_ms,
       lease_expires_at = EXCLUDED.lease_expires_at, live = true, heartbeat_at = now()
RETURNING *;

-- name: NodeHeartbeat :one
UPDATE nodes SET lease_expires_at = now() + lease_ms * interval '1 millisecond', heartbeat_at = now(), live = true
 WHERE node_id = @node_id
RETURNING *;

-- NodeList lists the nodes with whether each is alive and how many active sessions it owns.
-- name: NodeList :many
SELECT n.*, ixn_node_alive(n)::boolean AS alive,
       (SELECT count(*) FROM sessions s WHERE s.owner_node = n.node_id AND s.state = 'active')::bigint AS owned
  FROM nodes n
 ORDER BY n.node_id;

-- name: NodeLeave :many
SELECT * FROM ixn_node_leave(@node_id, sqlc.narg(to_node));

-- SessionsAssign gives orphaned sessions to live nodes in one statement (@session_ids[i] to
-- @node_ids[i]), passing over those that may no longer be given; see ixn_sessions_assign.
-- name: SessionsAssign :many
SELECT session_id::text AS session_id, node_id::text AS node_id
  FROM ixn_sessions_assign(@session_ids::text[], @node_ids::text[]);

-- name: SessionClaim :many
SELECT * FROM ixn_session_claim(@session_id, @node_id);

-- name: SessionRelease :many
SELECT * FROM ixn_session_release(@session_id, sqlc.narg(epoch)::bigint, sqlc.narg(to_node));

-- SessionListOrphaned lists active sessions whose owner is gone: none, not registered, left,
-- or its lease lapsed, by session id after @after (keyset paging: '' is the start). The owned
-- ones are found by owner through sessions_owner_node_idx, for the few nodes that are not
-- alive, rather than by reading every session.
-- name: SessionListOrphaned :many
SELECT s.* FROM sessions s
 WHERE s.state = 'active' AND s.owner_node IS NULL AND s.session_id > @after::text
UNION ALL
SELECT s.* FROM sessions s
 WHERE s.state = 'active' AND s.owner_node IS NOT NULL AND s.session_id > @after::text
   AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = s.owner_node AND ixn_node_alive(n))
ORDER BY session_id
LIMIT @max_rows;

-- RestoredSpan: how many interaction.restored events a node received and when the first and
-- the last were written (for the failover bench).
-- name: RestoredSpan :one
SELECT count(*) AS restored, coalesce(min(created_at), now())::timestamptz AS first_at,
       coalesce(max(created_at), now())::timestamptz AS last_at
  FROM events
 WHERE name = 'interaction.restored' AND node_id = @node_id;
