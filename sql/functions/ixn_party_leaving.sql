-- ixn_party_leaving returns the party of a live interaction that a report says is leaving it
-- (a divert, a single-step transfer). A party that has already left (released, deleted,
-- diverted or transferred away: its interaction.partydeleted is among the session's events)
-- is refused with IXPL0, so that a late or repeated report writes nothing; a party the
-- interaction never had is not found (IXNF0). The events are read only when the party is not
-- there, so a report on a party that is there pays nothing for this.
CREATE OR REPLACE FUNCTION ixn_party_leaving(p_session_id text, p_interaction_id text, p_party_id text) RETURNS parties
LANGUAGE plpgsql AS $$
DECLARE
    p parties;
BEGIN
    SELECT pt.* INTO p
      FROM parties pt
      JOIN interactions i USING (session_id, interaction_id)
     WHERE pt.session_id = p_session_id AND pt.interaction_id = p_interaction_id AND pt.party_id = p_party_id
       AND i.state <> 'deleted';
    IF FOUND THEN
        RETURN p;
    END IF;
    PERFORM ixn_interaction_live(p_session_id, p_interaction_id); -- raises when that is why
    IF EXISTS (SELECT 1 FROM events o
                WHERE o.session_id = p_session_id AND o.name = 'interaction.partydeleted'
                  AND o.attrs->>'interactionid' = p_interaction_id AND o.attrs->>'partyid' = p_party_id) THEN
        RAISE EXCEPTION 'party % has already left interaction %', p_party_id, p_interaction_id USING ERRCODE = 'IXPL0';
    END IF;
    RAISE EXCEPTION 'party % not found on interaction %', p_party_id, p_interaction_id USING ERRCODE = 'IXNF0';
END $$;
