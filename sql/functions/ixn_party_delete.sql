CREATE OR REPLACE FUNCTION ixn_party_delete(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    p parties      := ixn_party_get(p_session_id, p_interaction_id, p_party_id);
BEGIN
    DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND party_id = p_party_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[ixn_ev('interaction.partydeleted', ixn_party_attrs(p))]);
END $$;
