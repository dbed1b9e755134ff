CREATE OR REPLACE FUNCTION ixn_party_add(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_resource text,
    p_state party_state, p_role party_role
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
    p parties;
BEGIN
    INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
    VALUES (p_session_id, p_interaction_id, p_party_id, p_resource, p_state, coalesce(p_role, 'unknown'))
    ON CONFLICT DO NOTHING
    RETURNING * INTO p;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'party % is already on interaction %', p_party_id, p_interaction_id USING ERRCODE = 'IXCF0';
    END IF;
    PERFORM ixn_track_party(p);
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[ixn_ev('interaction.partyadded', ixn_party_attrs(p))]);
END $$;
