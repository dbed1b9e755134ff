-- What each interaction (one stay in a session) gives the aggregates report, in the form the
-- rollups keep (docs/reporting.md, "Rollups"): the hour it was created in (UTC), its groups,
-- how it ended, its durations in microseconds (NULL where there is none: a live interaction's
-- handle time, a never connected one's time to connect) and its counts. The worker and the
-- rebuild read ended interactions from it, the report the live and recent ones: one
-- definition for both sides of the sum. resources is computed only where it is read.
CREATE OR REPLACE VIEW report_interaction_facts AS
SELECT i.session_id, i.interaction_id, i.created_at,
       date_trunc('hour', i.created_at, 'UTC') AS hour,
       i.media::text AS media,
       coalesce(i.owner_node, '')::text AS node,
       ixn_interaction_outcome(i.state, i.abandoned_at, i.merged_into, i.moved_to) AS outcome,
       i.state = 'deleted' AS ended,
       i.deleted_at,
       (extract(epoch FROM i.deleted_at - i.created_at) * 1000000)::bigint AS handle_us,
       (extract(epoch FROM i.first_established_at - i.created_at) * 1000000)::bigint AS connect_us,
       i.transfers, i.conferences,
       ARRAY(SELECT r.resource::text FROM interaction_resources r
              WHERE r.session_id = i.session_id AND r.interaction_id = i.interaction_id
                AND r.role <> 'customer' AND r.interaction_created_at = i.created_at
              ORDER BY r.resource) AS resources
  FROM interactions i;
