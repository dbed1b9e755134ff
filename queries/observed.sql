-- name: ObservedState :one
-- What the metrics show that only the database knows, in one statement per scrape: the
-- publication backlog and the age of its oldest event, the nodes by state, the active
-- sessions with a live owner and without one, the pending action requests.
WITH d AS (SELECT cursor_txid, cursor_id FROM dispatcher_state),
backlog AS (
  SELECT count(*) AS events, min(o.created_at) AS oldest
    FROM outbox o, d
   WHERE (o.txid, o.id) > (d.cursor_txid, d.cursor_id)
),
node_states AS (
  SELECT count(*) FILTER (WHERE ixn_node_alive(n)) AS live,
         count(*) FILTER (WHERE n.live AND NOT ixn_node_alive(n)) AS lapsed,
         count(*) FILTER (WHERE NOT n.live) AS left_cluster
    FROM nodes n
),
owned AS (
  SELECT count(*) FILTER (WHERE n.node_id IS NOT NULL AND ixn_node_alive(n)) AS owned,
         count(*) FILTER (WHERE n.node_id IS NULL OR NOT ixn_node_alive(n)) AS orphaned
    FROM sessions s LEFT JOIN nodes n ON n.node_id = s.owner_node
   WHERE s.state = 'active'
)
SELECT backlog.events::bigint AS backlog,
       coalesce(extract(epoch FROM clock_timestamp() - backlog.oldest), 0)::float8 AS oldest_unpublished_seconds,
       node_states.live::bigint AS nodes_live,
       node_states.lapsed::bigint AS nodes_lapsed,
       node_states.left_cluster::bigint AS nodes_left,
       owned.owned::bigint AS sessions_owned,
       owned.orphaned::bigint AS sessions_orphaned,
       (SELECT count(*) FROM action_requests WHERE state = 'pending')::bigint AS requests_pending
  FROM backlog, node_states, owned;
