-- ixn_party_leave removes a party that left by a divert (interaction.ondivert, prefix
-- diverting) or a single-step transfer (interaction.onsinglesteptransfer, prefix
-- transferring): that event first, then interaction.partydeleted. A party that has already
-- left is refused (ixn_party_leaving).
CREATE OR REPLACE FUNCTION ixn_party_leave(
    p_event event_name, p_prefix text, p_session_id text, p_epoch bigint, p_interaction_id text,
    p_party_id text, p_new_destination text, p_hints jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 2);
    p parties      := ixn_party_leaving(p_session_id, p_interaction_id, p_party_id);
BEGIN
    DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND party_id = p_party_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 2, ARRAY[
        ixn_ev(p_event, jsonb_build_object(
            'interactionid', p_interaction_id,
            p_prefix || 'partyid', p.party_id,
            p_prefix || 'resource', p.resource,
            p_prefix || 'partystate', p.state,
            'newdestination', p_new_destination,
            'hints', coalesce(p_hints, '{}'))),
        ixn_ev('interaction.partydeleted', ixn_party_attrs(p))]);
END $$;
