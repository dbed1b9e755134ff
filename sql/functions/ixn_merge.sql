-- ixn_merge completes a consultation: the consult interaction (from) merges into the primary
-- (to). Parties of the consult interaction that are not on the primary move to it
-- (interaction.partyadded), and the consult interaction leaves the session.
CREATE OR REPLACE FUNCTION ixn_merge(
    p_session_id text, p_epoch bigint, p_from_id text, p_to_id text,
    p_active_party_id text, p_held_party_id text, p_hints jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s      sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    f      interactions := ixn_interaction_live(p_session_id, p_from_id);
    t      interactions := ixn_interaction_live(p_session_id, p_to_id);
    active parties;
    held   parties;
    moved  parties;
    evs    ixn_event[];
BEGIN
    IF p_from_id = p_to_id THEN
        RAISE EXCEPTION 'an interaction cannot merge into itself' USING ERRCODE = 'IXIV0';
    END IF;
    SELECT * INTO active FROM parties
     WHERE session_id = p_session_id AND interaction_id IN (p_to_id, p_from_id) AND party_id = p_active_party_id
     ORDER BY interaction_id = p_to_id DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'active party % is on neither interaction % nor %', p_active_party_id, p_from_id, p_to_id
            USING ERRCODE = 'IXNF0';
    END IF;
    SELECT * INTO held FROM parties
     WHERE session_id = p_session_id AND interaction_id IN (p_to_id, p_from_id) AND party_id = p_held_party_id
     ORDER BY interaction_id = p_to_id DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'held party % is on neither interaction % nor %', p_held_party_id, p_from_id, p_to_id
            USING ERRCODE = 'IXNF0';
    END IF;
    evs := ARRAY[ixn_ev('interaction.onmerge', jsonb_build_object(
        'frominteractionid', p_from_id, 'tointeractionid', p_to_id,
        'activeresource', active.resource, 'activepartyid', active.party_id, 'activepartystate', active.state,
        'heldresource', held.resource, 'heldpartyid', held.party_id, 'heldpartystate', held.state,
        'hints', coalesce(p_hints, '{}')))];
    FOR moved IN
        UPDATE parties AS m SET interaction_id = p_to_id, updated_at = now()
         WHERE m.session_id = p_session_id AND m.interaction_id = p_from_id
           AND NOT EXISTS (SELECT 1 FROM parties o
                            WHERE o.session_id = p_session_id AND o.interaction_id = p_to_id AND o.party_id = m.party_id)
        RETURNING m.*
    LOOP
        evs := evs || ixn_ev('interaction.partyadded', ixn_party_attrs(moved));
    END LOOP;
    UPDATE interactions SET merged_into = p_to_id WHERE session_id = p_session_id AND interaction_id = p_from_id;
    evs := evs || ixn_interaction_drop(f);
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, evs);
END $$;
