-- Reports over interactions (reporting/): lists, one interaction's timeline, aggregates.
-- The reporting pool plans every statement for its own parameters (plan_cache_mode =
-- force_custom_plan): a report's parameters decide its plan.

-- name: ReportListInteractions :many
-- Interactions in (created_at, session_id, interaction_id) order after a keyset cursor, with
-- the filters given (sql/views/report_interactions.sql writes the query for them).
SELECT * FROM ixn_report_interactions(
    sqlc.narg(state)::interaction_state, sqlc.narg(live)::boolean, sqlc.narg(media)::text, sqlc.narg(session_id)::text,
    sqlc.narg(node_id)::text, sqlc.narg(resource)::text, sqlc.narg(udata_key)::text, sqlc.narg(udata_value)::jsonb,
    sqlc.narg(created_from)::timestamptz, sqlc.narg(created_to)::timestamptz,
    sqlc.narg(ended_from)::timestamptz, sqlc.narg(ended_to)::timestamptz,
    sqlc.narg(after_created_at)::timestamptz, @after_session_id::text, @after_interaction_id::text, @max_rows::int);

-- name: ReportListInteractionsPlan :one
-- The plan of ReportListInteractions for the same parameters (EXPLAIN, JSON).
SELECT ixn_report_interactions_plan(
    sqlc.narg(state)::interaction_state, sqlc.narg(live)::boolean, sqlc.narg(media)::text, sqlc.narg(session_id)::text,
    sqlc.narg(node_id)::text, sqlc.narg(resource)::text, sqlc.narg(udata_key)::text, sqlc.narg(udata_value)::jsonb,
    sqlc.narg(created_from)::timestamptz, sqlc.narg(created_to)::timestamptz,
    sqlc.narg(ended_from)::timestamptz, sqlc.narg(ended_to)::timestamptz,
    sqlc.narg(after_created_at)::timestamptz, @after_session_id::text, @after_interaction_id::text,
    @max_rows::int)::text AS plan;

-- name: ReportInteractionRows :many
-- Every stay of an interaction in a session, oldest first.
SELECT * FROM report_interactions
 WHERE interaction_id = @interaction_id
 ORDER BY created_at, session_id;

-- name: ReportInteractionTimeline :many
-- The events of an interaction in the sessions it was in: its own, the merges it was part
-- of, and the answers to action requests on it. Each session's events are read by the
-- primary key and filtered.
SELECT o.*
  FROM events o
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
-- Interactions created in [from, to), grouped by media, by the node that owned them, or by
-- every resource other than a customer's that was ever one of their parties (agents,
-- devices; an interaction counts once for each): how they ended, how long they took, how long
-- until a party was connected, and how many transfers and conferences they had. The
-- resources are found by their interaction's creation time; for the other groupings the
-- join is false when planned, and costs nothing.
SELECT (CASE @group_by::text WHEN 'node' THEN coalesce(i.owner_node, '')
                             WHEN 'resource' THEN r.resource
                             ELSE i.media END)::text AS group_key,
       count(*) AS total,
       count(*) FILTER (WHERE o.outcome = 'live') AS live,
       count(*) FILTER (WHERE o.outcome = 'completed') AS completed,
       count(*) FILTER (WHERE o.outcome = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE o.outcome = 'merged') AS merged,
       count(*) FILTER (WHERE o.outcome = 'moved') AS moved,
       coalesce(avg(extract(epoch FROM i.deleted_at - i.created_at)), 0)::float8 AS handle_avg,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.deleted_at - i.created_at)), 0)::float8 AS handle_p50,
       coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM i.deleted_at - i.created_at)), 0)::float8 AS handle_p90,
       count(i.first_established_at) AS connected,
       coalesce(avg(extract(epoch FROM i.first_established_at - i.created_at)), 0)::float8 AS connect_avg,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.first_established_at - i.created_at)), 0)::float8 AS connect_p50,
       coalesce(sum(i.transfers), 0)::bigint AS transfers,
       coalesce(sum(i.conferences), 0)::bigint AS conferences
  FROM interactions i
  LEFT JOIN interaction_resources r
         ON @group_by::text = 'resource' AND r.session_id = i.session_id AND r.interaction_id = i.interaction_id
 CROSS JOIN LATERAL (SELECT ixn_interaction_outcome(i.state, i.abandoned_at, i.merged_into, i.moved_to) AS outcome) o
 WHERE i.created_at >= @created_from AND i.created_at < @created_to
   AND (@group_by::text <> 'resource'
        OR (r.interaction_created_at >= @created_from AND r.interaction_created_at < @created_to
            AND r.role <> 'customer'))
 GROUP BY 1
 ORDER BY 1;
