CREATE OR REPLACE FUNCTION ixn_interaction_present(p_session_id text, p_epoch bigint, p_interaction_id text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
BEGIN
    IF i.controlled THEN
        RAISE EXCEPTION 'interaction % is already present and controlled by session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXST0';
    END IF;
    UPDATE interactions SET state = 'present', controlled = true, updated_at = now()
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[
        ixn_ev('interaction.present', jsonb_build_object('interactionid', p_interaction_id))]);
END $$;
