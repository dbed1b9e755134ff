-- ixn_party_get returns a party of a live interaction of the session, in one lookup.
CREATE OR REPLACE FUNCTION ixn_party_get(p_session_id text, p_interaction_id text, p_party_id text) RETURNS parties
LANGUAGE plpgsql AS $$
DECLARE
    p parties;
BEGIN
    SELECT pt.* INTO p
      FROM parties pt
      JOIN interactions i USING (session_id, interaction_id)
     WHERE pt.session_id = p_session_id AND pt.interaction_id = p_interaction_id AND pt.party_id = p_party_id
       AND i.state <> 'deleted';
    IF NOT FOUND THEN
        PERFORM ixn_interaction_live(p_session_id, p_interaction_id); -- raises when that is why
        RAISE EXCEPTION 'party % not found on interaction %', p_party_id, p_interaction_id USING ERRCODE = 'IXNF0';
    END IF;
    RETURN p;
END $$;
