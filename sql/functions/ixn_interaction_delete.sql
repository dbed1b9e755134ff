CREATE OR REPLACE FUNCTION ixn_interaction_delete(p_session_id text, p_epoch bigint, p_interaction_id text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
BEGIN
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ixn_interaction_drop(i));
END $$;
