-- The console's overview (service/overview.go): one cheap statement per part, each reading
-- an index of the live rows only (migrations/00013), so that it stays fast with thousands of
-- live sessions and a history of millions of ended ones.

-- OverviewInteractions counts the live interactions by media and state
-- (interactions_live_media_idx).
-- name: OverviewInteractions :many
SELECT media::text AS media, state, count(*)::bigint AS interactions
  FROM interactions
 WHERE state <> 'deleted'
 GROUP BY media, state
 ORDER BY media, state;

-- OverviewNodes lists the registered nodes with whether each is alive and how many active
-- sessions it owns, counted once by owner (sessions_active_owner_idx) rather than per node.
-- name: OverviewNodes :many
WITH owned AS (
    SELECT owner_node, count(*) AS sessions FROM sessions WHERE state = 'active' GROUP BY owner_node
)
SELECT n.node_id, n.address, n.capacity, n.lease_ms, n.lease_expires_at, n.live, n.registered_at, n.heartbeat_at,
       ixn_node_alive(n)::boolean AS alive, coalesce(o.sessions, 0)::bigint AS owned
  FROM nodes n
  LEFT JOIN owned o ON o.owner_node = n.node_id
 ORDER BY n.node_id;

-- OverviewSessions counts the active sessions and the orphaned ones among them: owned by
-- nobody, by a node never registered, or by one not alive (as GET /v1/sessions/orphaned).
-- name: OverviewSessions :one
WITH owned AS (
    SELECT owner_node, count(*) AS sessions FROM sessions WHERE state = 'active' GROUP BY owner_node
)
SELECT coalesce(sum(o.sessions), 0)::bigint AS active,
       coalesce(sum(o.sessions) FILTER (WHERE n.node_id IS NULL OR NOT ixn_node_alive(n)), 0)::bigint AS orphaned
  FROM owned o
  LEFT JOIN nodes n ON n.node_id = o.owner_node;

-- OverviewRequests counts the pending action requests and gives the nearest deadline
-- (action_requests_deadline_idx holds only the pending ones); next_deadline means nothing
-- without any_pending.
-- name: OverviewRequests :one
SELECT count(*)::bigint AS pending, count(*) > 0 AS any_pending,
       coalesce(min(deadline), now())::timestamptz AS next_deadline
  FROM action_requests
 WHERE state = 'pending';

-- OverviewPublication: where publication stands and how far behind the outbox it is. The
-- events not yet published are those after the dispatcher's cursor (outbox_txid_id_idx),
-- counted up to @max_count so that a dispatcher far behind does not make the count a scan;
-- lag_ms is how long the oldest of them has waited. last_published_at means nothing
-- without any_published.
-- name: OverviewPublication :one
SELECT d.last_pub_seq, d.updated_at AS dispatcher_at, now()::timestamptz AS now,
       (SELECT count(*) FROM (SELECT 1 FROM outbox o
                               WHERE (o.txid, o.id) > (d.cursor_txid, d.cursor_id)
                               LIMIT @max_count) u)::bigint AS unpublished,
       coalesce((SELECT (extract(epoch FROM now() - o.created_at) * 1000)::bigint FROM outbox o
                  WHERE (o.txid, o.id) > (d.cursor_txid, d.cursor_id)
                  ORDER BY o.txid, o.id LIMIT 1), 0)::bigint AS lag_ms,
       EXISTS (SELECT 1 FROM publication) AS any_published,
       coalesce((SELECT p.published_at FROM publication p ORDER BY p.pub_seq DESC LIMIT 1), now())::timestamptz AS last_published_at
  FROM dispatcher_state d;
