-- ixn_merge completes a consultation: the consult interaction (from) merges into the primary
-- (to). The reference says the hints of interaction.onmerge tell whether the merge completes a
-- transfer or a conference; ours is hints.merge, "transfer" or "conference":
--   conference  (also when hints.merge is absent) everyone stays: the parties of the
--               consultation not on the primary move to it (interaction.partyadded).
--   transfer    the transferring party leaves the primary (interaction.partydeleted, after
--               the moves). It is the consultation's initiator: the party at the one
--               resource that is on both interactions other than the active party's (the
--               agent who put the primary on hold to consult). The consultation's parties at
--               that resource do not move; when there is no such resource, or more than one,
--               the merge is refused (IXIV0): which party leaves is not a guess to make.
-- Conference is the default because it is the safe side: a party wrongly kept is corrected by
-- the next partydeleted or release the media side reports, a party wrongly removed is lost to
-- the session. The consult interaction then leaves the session.
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
    gone   parties;
    kind   text := coalesce(p_hints->>'merge', 'conference');
    xfer   text[];
    evs    ixn_event[];
BEGIN
    IF p_from_id = p_to_id THEN
        RAISE EXCEPTION 'an interaction cannot merge into itself' USING ERRCODE = 'IXIV0';
    END IF;
    IF kind NOT IN ('transfer', 'conference') THEN
        RAISE EXCEPTION 'hints.merge must be transfer or conference, not %', kind USING ERRCODE = 'IXIV0';
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
    IF kind = 'transfer' THEN
        SELECT array_agg(DISTINCT c.resource) INTO xfer
          FROM parties c
          JOIN parties o ON o.session_id = p_session_id AND o.interaction_id = p_to_id AND o.resource = c.resource
         WHERE c.session_id = p_session_id AND c.interaction_id = p_from_id AND c.resource <> active.resource;
        IF coalesce(cardinality(xfer), 0) <> 1 THEN
            RAISE EXCEPTION 'merge of % into % as a transfer: % resources other than the active party''s are on both (%), so the transferring party is not known',
                p_from_id, p_to_id, coalesce(cardinality(xfer), 0), coalesce(array_to_string(xfer, ', '), 'none')
                USING ERRCODE = 'IXIV0';
        END IF;
    END IF;
    FOR moved IN
        UPDATE parties AS m SET interaction_id = p_to_id, updated_at = now()
         WHERE m.session_id = p_session_id AND m.interaction_id = p_from_id
           AND NOT EXISTS (SELECT 1 FROM parties o
                            WHERE o.session_id = p_session_id AND o.interaction_id = p_to_id AND o.party_id = m.party_id)
           AND (xfer IS NULL OR m.resource <> ALL (xfer))
        RETURNING m.*
    LOOP
        -- Its resource joins the primary's (but not its first connection: the primary's is
        -- its own).
        INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
        VALUES (moved.session_id, moved.interaction_id, moved.resource, moved.party_id, moved.role, t.created_at)
        ON CONFLICT DO NOTHING;
        evs := evs || ixn_ev('interaction.partyadded', ixn_party_attrs(moved));
    END LOOP;
    -- A transfer: the transferring party leaves the primary, in the order the parties joined.
    FOR gone IN
        SELECT * FROM parties
         WHERE session_id = p_session_id AND interaction_id = p_to_id AND resource = ANY (xfer)
         ORDER BY created_at, party_id
    LOOP
        DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = p_to_id AND party_id = gone.party_id;
        evs := evs || ixn_ev('interaction.partydeleted', ixn_party_attrs(gone));
    END LOOP;
    UPDATE interactions SET merged_into = p_to_id WHERE session_id = p_session_id AND interaction_id = p_from_id;
    evs := evs || ixn_interaction_drop(f);
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, evs);
END $$;
