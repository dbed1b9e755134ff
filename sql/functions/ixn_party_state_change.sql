-- ixn_party_state_change moves a party to another state (interaction.partystatechanged, with
-- the hints). A party that reaches released leaves the interaction: the row is deleted and
-- interaction.partydeleted follows, so that a session's parties are those still on the call
-- and every reader (the session's state, the reports, the rebuild) sees it gone the same way.
CREATE OR REPLACE FUNCTION ixn_party_state_change(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_state party_state, p_hints jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    p parties      := ixn_party_get(p_session_id, p_interaction_id, p_party_id);
    evs ixn_event[];
BEGIN
    IF NOT ixn_party_transition_allowed(p.state, p_state) THEN
        RAISE EXCEPTION 'party % of interaction % cannot go from % to %', p_party_id, p_interaction_id, p.state, p_state
            USING ERRCODE = 'IXST0';
    END IF;
    IF p_state = 'released' THEN
        DELETE FROM parties
         WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND party_id = p_party_id;
        p.state := 'released';
        evs := ARRAY[ixn_ev('interaction.partystatechanged',
                            ixn_party_attrs(p) || jsonb_build_object('hints', coalesce(p_hints, '{}'))),
                     ixn_ev('interaction.partydeleted', ixn_party_attrs(p))];
    ELSE
        -- A ringing party first connected: the interaction's first connection, for the
        -- reports. Only this move pays for it, not a party between established and held.
        IF p.state = 'alerting' AND p_state = 'established' THEN
            UPDATE interactions SET first_established_at = now()
             WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND first_established_at IS NULL;
        END IF;
        UPDATE parties SET state = p_state, updated_at = now()
         WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND party_id = p_party_id
        RETURNING * INTO p;
        evs := ARRAY[ixn_ev('interaction.partystatechanged',
                            ixn_party_attrs(p) || jsonb_build_object('hints', coalesce(p_hints, '{}')))];
    END IF;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, evs);
END $$;
