-- ixn_live_enter records that an interaction is now live in the session, and refuses it when
-- it is live in a session already (this one or another). live_interactions is the one place
-- that knows, across sessions, where an interaction is live: a table keyed by the
-- interaction, so that on a database sharded by session it is one row on one shard
-- (docs/scale-out.md). A concurrent entry of the same interaction waits on the first one's
-- uncommitted row, as a unique index would make it wait.
CREATE OR REPLACE FUNCTION ixn_live_enter(p_session_id text, p_interaction_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    other text;
BEGIN
    LOOP
        INSERT INTO live_interactions (interaction_id, session_id) VALUES (p_interaction_id, p_session_id)
        ON CONFLICT (interaction_id) DO NOTHING;
        IF FOUND THEN
            RETURN;
        END IF;
        SELECT session_id INTO other FROM live_interactions WHERE interaction_id = p_interaction_id;
        IF other = p_session_id THEN
            RAISE EXCEPTION 'interaction % is already in session %', p_interaction_id, p_session_id
                USING ERRCODE = 'IXCF0';
        ELSIF other IS NOT NULL THEN
            RAISE EXCEPTION 'interaction % is live in session %', p_interaction_id, other USING ERRCODE = 'IXCF0';
        END IF;
        -- It left its session between the two statements: try again.
    END LOOP;
END $$;
