-- ixn_archive_restore puts archived sessions back: p_rows holds, by table name, the rows of
-- some sessions as the archive wrote them (ixn_archive_rows). A session that is in the
-- database already is left as it is, with every row of it: the database's copy wins, and
-- restoring the same rows twice restores them once. It returns the sessions it restored.
CREATE OR REPLACE FUNCTION ixn_archive_restore(p_rows json)
RETURNS TABLE (session_id text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ids text[];
BEGIN
    WITH put AS (
        INSERT INTO sessions
        SELECT * FROM json_populate_recordset(NULL::sessions, coalesce(p_rows->'sessions', '[]'))
        ON CONFLICT DO NOTHING
        RETURNING sessions.session_id)
    SELECT coalesce(array_agg(put.session_id::text), '{}') INTO ids FROM put;
    INSERT INTO interactions
    SELECT * FROM json_populate_recordset(NULL::interactions, coalesce(p_rows->'interactions', '[]')) r
     WHERE r.session_id = ANY (ids);
    INSERT INTO parties
    SELECT * FROM json_populate_recordset(NULL::parties, coalesce(p_rows->'parties', '[]')) r
     WHERE r.session_id = ANY (ids);
    INSERT INTO user_data
    SELECT * FROM json_populate_recordset(NULL::user_data, coalesce(p_rows->'user_data', '[]')) r
     WHERE r.session_id = ANY (ids);
    INSERT INTO interaction_resources
    SELECT * FROM json_populate_recordset(NULL::interaction_resources, coalesce(p_rows->'interaction_resources', '[]')) r
     WHERE r.session_id = ANY (ids);
    -- Origins have no key to their session: one may be left by a restore that stopped halfway.
    INSERT INTO interaction_origins
    SELECT * FROM json_populate_recordset(NULL::interaction_origins, coalesce(p_rows->'interaction_origins', '[]')) r
     WHERE r.session_id = ANY (ids)
    ON CONFLICT DO NOTHING;
    INSERT INTO action_requests OVERRIDING SYSTEM VALUE
    SELECT * FROM json_populate_recordset(NULL::action_requests, coalesce(p_rows->'action_requests', '[]')) r
     WHERE r.session_id = ANY (ids);
    INSERT INTO session_checkpoints
    SELECT * FROM json_populate_recordset(NULL::session_checkpoints, coalesce(p_rows->'session_checkpoints', '[]')) r
     WHERE r.session_id = ANY (ids);
    INSERT INTO session_checkpoint_history
    SELECT * FROM json_populate_recordset(NULL::session_checkpoint_history,
                                          coalesce(p_rows->'session_checkpoint_history', '[]')) r
     WHERE r.session_id = ANY (ids);
    RETURN QUERY SELECT unnest(ids);
END $$;
