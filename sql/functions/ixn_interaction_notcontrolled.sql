CREATE OR REPLACE FUNCTION ixn_interaction_notcontrolled(p_session_id text, p_epoch bigint, p_interaction_id text, p_resultof text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
BEGIN
    IF p_resultof NOT IN ('deletion', 'detach') THEN
        RAISE EXCEPTION 'resultof must be deletion or detach, not %', p_resultof USING ERRCODE = 'IXIV0';
    END IF;
    IF NOT i.controlled THEN
        RAISE EXCEPTION 'interaction % is not controlled by session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXST0';
    END IF;
    UPDATE interactions SET controlled = false, updated_at = now()
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[ixn_ev('interaction.notcontrolled',
        jsonb_build_object('interactionid', p_interaction_id, 'resultof', p_resultof))]);
END $$;
