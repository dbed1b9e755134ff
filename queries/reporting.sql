-- Reports over interactions (reporting/): lists, one interaction's timeline, aggregates.
-- The reporting pool plans every statement for its own parameters (plan_cache_mode =
-- force_custom_plan), so each "parameter IS NULL OR ..." below folds away when the filter
-- is not given, and the indexes of the filters that are given can be used.

-- name: ReportListInteractions :many
-- Interactions in (created_at, session_id, interaction_id) order after a keyset cursor.
SELECT i.session_id, i.interaction_id, i.media, i.type, i.state, i.controlled, s.owner_node, i.tenant_id,
       i.parent_id, i.created_at, i.deleted_at, i.abandoned_at, i.merged_into, i.moved_to,
       i.first_established_at, i.transfers, i.conferences
  FROM interactions i
  JOIN sessions s ON s.session_id = i.session_id
 WHERE (sqlc.narg(state)::interaction_state IS NULL OR i.state = sqlc.narg(state)::interaction_state)
   AND (sqlc.narg(live)::boolean IS NULL OR (i.state <> 'deleted') = sqlc.narg(live)::boolean)
   AND (sqlc.narg(media)::text IS NULL OR i.media = sqlc.narg(media)::text)
   AND (sqlc.narg(session_id)::text IS NULL OR i.session_id = sqlc.narg(session_id)::text)
   AND (sqlc.narg(node_id)::text IS NULL OR s.owner_node = sqlc.narg(node_id)::text)
   AND (sqlc.narg(resource)::text IS NULL OR EXISTS (
        SELECT 1 FROM interaction_resources r
         WHERE r.resource = sqlc.narg(resource)::text
           AND r.session_id = i.session_id AND r.interaction_id = i.interaction_id))
   AND (sqlc.narg(udata_key)::text IS NULL OR EXISTS (
        SELECT 1 FROM user_data u
         WHERE u.key = sqlc.narg(udata_key)::text
           AND (sqlc.narg(udata_value)::jsonb IS NULL OR u.value = sqlc.narg(udata_value)::jsonb)
           AND u.session_id = i.session_id AND u.interaction_id = i.interaction_id))
   AND (sqlc.narg(created_from)::timestamptz IS NULL OR i.created_at >= sqlc.narg(created_from)::timestamptz)
   AND (sqlc.narg(created_to)::timestamptz IS NULL OR i.created_at < sqlc.narg(created_to)::timestamptz)
   AND (sqlc.narg(ended_from)::timestamptz IS NULL OR i.deleted_at >= sqlc.narg(ended_from)::timestamptz)
   AND (sqlc.narg(ended_to)::timestamptz IS NULL OR i.deleted_at < sqlc.narg(ended_to)::timestamptz)
   AND (sqlc.narg(after_created_at)::timestamptz IS NULL
        OR (i.created_at, i.session_id, i.interaction_id)
           > (sqlc.narg(after_created_at)::timestamptz, @after_session_id::text, @after_interaction_id::text))
 ORDER BY i.created_at, i.session_id, i.interaction_id
 LIMIT @max_rows;

-- name: ReportInteractionRows :many
-- Every stay of an interaction in a session, oldest first.
SELECT i.session_id, i.interaction_id, i.media, i.type, i.state, i.controlled, s.owner_node, i.tenant_id,
       i.parent_id, i.created_at, i.deleted_at, i.abandoned_at, i.merged_into, i.moved_to,
       i.first_established_at, i.transfers, i.conferences
  FROM interactions i
  JOIN sessions s ON s.session_id = i.session_id
 WHERE i.interaction_id = @interaction_id
 ORDER BY i.created_at, i.session_id;

-- name: ReportInteractionTimeline :many
-- The events of an interaction in the sessions it was in: its own, the merges it was part
-- of, and the answers to action requests on it. Each session's events are read by the
-- primary key and filtered.
SELECT o.id, o.session_id, o.seq, o.name, o.attrs, o.node_id, o.epoch, o.txid, o.created_at
  FROM outbox o
 WHERE o.session_id = ANY (@session_ids::text[])
   AND (o.attrs->>'interactionid' = @interaction_id::text
        OR o.attrs->>'frominteractionid' = @interaction_id::text
        OR o.attrs->>'tointeractionid' = @interaction_id::text
        OR o.attrs->>'requestid' IN (SELECT a.request_id FROM action_requests a
                                      WHERE a.session_id = o.session_id AND a.interaction_id = @interaction_id::text))
 ORDER BY o.created_at, o.session_id, o.seq;

-- name: ReportPartiesOf :many
SELECT session_id, interaction_id, party_id, resource, state, role, created_at, updated_at
  FROM parties
 WHERE session_id = ANY (@session_ids::text[]) AND interaction_id = @interaction_id
 ORDER BY session_id, created_at, party_id;

-- name: ReportUserDataOf :many
SELECT session_id, key, value FROM user_data
 WHERE session_id = ANY (@session_ids::text[]) AND interaction_id = @interaction_id
 ORDER BY session_id, key;

-- name: ReportAggregate :many
-- Interactions created in [from, to), grouped by media, by the owning node of their session,
-- or by every resource (agent, device) that was ever one of their parties (an interaction
-- counts once for each of its resources): how they ended, how long they took, how long
-- until a party was connected, and how many transfers and conferences they had.
SELECT (CASE @group_by::text WHEN 'node' THEN coalesce(s.owner_node, '')
                             WHEN 'resource' THEN r.resource
                             ELSE i.media END)::text AS group_key,
       count(*) AS total,
       count(*) FILTER (WHERE i.state <> 'deleted' AND i.abandoned_at IS NULL) AS live,
       count(*) FILTER (WHERE i.state = 'deleted' AND i.abandoned_at IS NULL AND i.merged_into IS NULL
                          AND i.moved_to IS NULL) AS completed,
       count(*) FILTER (WHERE i.abandoned_at IS NOT NULL) AS abandoned,
       count(*) FILTER (WHERE i.merged_into IS NOT NULL) AS merged,
       count(*) FILTER (WHERE i.moved_to IS NOT NULL) AS moved,
       coalesce(avg(extract(epoch FROM i.deleted_at - i.created_at)), 0)::float8 AS handle_avg,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.deleted_at - i.created_at)), 0)::float8 AS handle_p50,
       coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM i.deleted_at - i.created_at)), 0)::float8 AS handle_p90,
       count(i.first_established_at) AS connected,
       coalesce(avg(extract(epoch FROM i.first_established_at - i.created_at)), 0)::float8 AS connect_avg,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.first_established_at - i.created_at)), 0)::float8 AS connect_p50,
       coalesce(sum(i.transfers), 0)::bigint AS transfers,
       coalesce(sum(i.conferences), 0)::bigint AS conferences
  FROM interactions i
  JOIN sessions s ON s.session_id = i.session_id
  -- Joined only when grouping by resource: otherwise the condition is false when planned.
  LEFT JOIN interaction_resources r
         ON @group_by::text = 'resource' AND r.session_id = i.session_id AND r.interaction_id = i.interaction_id
 WHERE i.created_at >= @created_from AND i.created_at < @created_to
   AND (@group_by::text <> 'resource' OR r.resource IS NOT NULL)
 GROUP BY 1
 ORDER BY 1;
