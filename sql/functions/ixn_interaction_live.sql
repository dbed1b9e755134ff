-- ixn_interaction_live returns an interaction of the session that has not been deleted.
CREATE OR REPLACE FUNCTION ixn_interaction_live(p_session_id text, p_interaction_id text) RETURNS interactions
LANGUAGE plpgsql AS $$
DECLARE
    i interactions;
BEGIN
    SELECT * INTO i FROM interactions WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'interaction % not found in session %', p_interaction_id, p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    IF i.state = 'deleted' THEN
        RAISE EXCEPTION 'interaction % has been deleted from session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXST0';
    END IF;
    RETURN i;
END $$;
