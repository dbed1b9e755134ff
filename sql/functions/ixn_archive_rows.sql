-- ixn_archive_rows: every row that belongs to the given sessions, as the archive writes it
-- (archive/, docs/operations.md): one JSON object a row (row_to_json, times in UTC), tagged
-- with its table's number in the archive's order, sorted by session, table and the line's
-- bytes. The archive writes these lines, and ixn_archive_remove compares a digest of them with
-- the archived copy before it removes a session: both sides are this one function, so what is
-- removed is byte for byte what was written.
--
-- Tables, in the order a session's rows are restored (the reverse of removal):
--   1 sessions  2 interactions  3 parties  4 user_data  5 interaction_resources
--   6 interaction_origins  7 action_requests  8 session_checkpoints
--   9 session_checkpoint_history
-- Not here: outbox and publication (the events have their own retention), live_interactions
-- (an archived session has none), idempotency_keys (a retry cache with its own expiry).
CREATE OR REPLACE FUNCTION ixn_archive_rows(p_session_ids text[])
RETURNS TABLE (tab int, session_id text, line text)
LANGUAGE sql STABLE
SET timezone = 'UTC'
AS $$
    SELECT x.tab, x.session_id, x.line
      FROM (SELECT 1 AS tab, t.session_id::text AS session_id, row_to_json(t)::text AS line
              FROM sessions t WHERE t.session_id = ANY (p_session_ids)
            UNION ALL
            SELECT 2, t.session_id, row_to_json(t)::text FROM interactions t WHERE t.session_id = ANY (p_session_ids)
            UNION ALL
            SELECT 3, t.session_id, row_to_json(t)::text FROM parties t WHERE t.session_id = ANY (p_session_ids)
            UNION ALL
            SELECT 4, t.session_id, row_to_json(t)::text FROM user_data t WHERE t.session_id = ANY (p_session_ids)
            UNION ALL
            SELECT 5, t.session_id, row_to_json(t)::text FROM interaction_resources t
             WHERE t.session_id = ANY (p_session_ids)
            UNION ALL
            SELECT 6, t.session_id, row_to_json(t)::text FROM interaction_origins t
             WHERE t.session_id = ANY (p_session_ids)
            UNION ALL
            SELECT 7, t.session_id, row_to_json(t)::text FROM action_requests t WHERE t.session_id = ANY (p_session_ids)
            UNION ALL
            SELECT 8, t.session_id, row_to_json(t)::text FROM session_checkpoints t
             WHERE t.session_id = ANY (p_session_ids)
            UNION ALL
            SELECT 9, t.session_id, row_to_json(t)::text FROM session_checkpoint_history t
             WHERE t.session_id = ANY (p_session_ids)) x
     ORDER BY x.session_id COLLATE "C", x.tab, x.line COLLATE "C"
$$;
