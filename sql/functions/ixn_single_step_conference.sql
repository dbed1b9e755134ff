CREATE OR REPLACE FUNCTION ixn_single_step_conference(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text,
    p_added_party_id text, p_added_resource text, p_added_state party_state, p_added_role party_role, p_hints jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 2);
    c parties      := ixn_party_get(p_session_id, p_interaction_id, p_party_id);
    a parties;
BEGIN
    INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
    VALUES (p_session_id, p_interaction_id, p_added_party_id, p_added_resource, p_added_state,
            coalesce(p_added_role, 'unknown'))
    ON CONFLICT DO NOTHING
    RETURNING * INTO a;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'party % is already on interaction %', p_added_party_id, p_interaction_id
            USING ERRCODE = 'IXCF0';
    END IF;
    PERFORM ixn_track_party(a);
    RETURN QUERY SELECT * FROM ixn_publish(s, 2, ARRAY[
        ixn_ev('interaction.onsinglestepconference', jsonb_build_object(
            'interactionid', p_interaction_id,
            'conferencingpartyid', c.party_id, 'conferencingresource', c.resource, 'conferencingpartystate', c.state,
            'addedpartyid', a.party_id, 'addedresource', a.resource, 'addedpartystate', a.state,
            'hints', coalesce(p_hints, '{}'))),
        ixn_ev('interaction.partyadded', ixn_party_attrs(a))]);
END $$;
