-- ixn_abandon records that the customer left: interaction.abandoned, then
-- interaction.partydeleted for the parties at the abandoning resource. A resource with no
-- party on the interaction is refused and nothing is written: IXPL0 when a party was there and
-- has left (interaction_resources keeps every resource ever on the interaction), IXNF0 when
-- none ever was.
CREATE OR REPLACE FUNCTION ixn_abandon(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_focus_resource text, p_reason text, p_hints jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s    sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i    interactions := ixn_interaction_live(p_session_id, p_interaction_id);
    gone parties;
    evs  ixn_event[];
BEGIN
    IF i.abandoned_at IS NOT NULL THEN
        RAISE EXCEPTION 'interaction % was already abandoned', p_interaction_id USING ERRCODE = 'IXST0';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM parties
                    WHERE session_id = p_session_id AND interaction_id = p_interaction_id
                      AND resource = p_focus_resource) THEN
        IF EXISTS (SELECT 1 FROM interaction_resources
                    WHERE session_id = p_session_id AND interaction_id = p_interaction_id
                      AND resource = p_focus_resource) THEN
            RAISE EXCEPTION 'the party at resource % has already left interaction %', p_focus_resource, p_interaction_id
                USING ERRCODE = 'IXPL0';
        END IF;
        RAISE EXCEPTION 'no party of interaction % is at resource %', p_interaction_id, p_focus_resource
            USING ERRCODE = 'IXNF0';
    END IF;
    UPDATE interactions SET abandoned_at = now(), updated_at = now()
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    evs := ARRAY[ixn_ev('interaction.abandoned', jsonb_build_object(
        'interactionid', p_interaction_id, 'focusresource', p_focus_resource,
        'reason', p_reason, 'hints', coalesce(p_hints, '{}')))];
    FOR gone IN
        DELETE FROM parties
         WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND resource = p_focus_resource
        RETURNING *
    LOOP
        evs := evs || ixn_ev('interaction.partydeleted', ixn_party_attrs(gone));
    END LOOP;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, evs);
END $$;
