-- ixn_request_done: the media side did the action. The state change it implies is applied
-- and written after the done event:
--   terminate             every party leaves (partydeleted), the interaction leaves the
--                         session (notcontrolled resultof deletion, deleted)
--   redirect              the alerting party leaves; the party at the destination, when
--                         reported, joins (partyadded)
--   associate             the interaction moves to the target session: deleted then
--                         notcontrolled (resultof detach) here, added then present there
--   pick                  the session controls the interaction (present)
--   accept                the alerting party is established (partystatechanged)
--   clear                 the parties at the resource leave (partydeleted)
--   singlesteptransfer    the transferring party leaves; the reported party joins
--   singlestepconference  the reported party joins
-- The stored state is checked again first: when it no longer allows the action (the
-- interaction was deleted meanwhile, say), the request fails with that error instead.
CREATE OR REPLACE FUNCTION ixn_request_done(p_session_id text, p_request_id text, p_hints jsonb, p_party jsonb)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s         sessions;
    r         action_requests;
    t         sessions;
    i         interactions;
    p         parties;
    added     parties;
    gone      parties;
    refusal   text[];
    hints     jsonb := coalesce(p_hints, '{}');
    v_outcome jsonb := jsonb_build_object('result', 'done', 'hints', coalesce(p_hints, '{}'), 'party', p_party);
    done      jsonb;
    evs       ixn_event[];
    there     ixn_event[];
BEGIN
    -- An associate changes two sessions. Their rows are locked in one order (by id), the
    -- same for every such change, so that two moves in opposite directions cannot deadlock.
    -- A request's action and parameters never change, so they can be read before the lock.
    SELECT * INTO r FROM action_requests WHERE session_id = p_session_id AND request_id = p_request_id;
    IF FOUND AND r.action = 'associate' THEN
        PERFORM FROM sessions WHERE session_id IN (p_session_id, r.params->>'sessionid')
          ORDER BY session_id FOR UPDATE;
        SELECT * INTO t FROM sessions WHERE session_id = r.params->>'sessionid';
    END IF;
    s := ixn_session_row(p_session_id);
    SELECT * INTO r FROM action_requests WHERE session_id = p_session_id AND request_id = p_request_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'request % not found in session %', p_request_id, p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    IF r.state <> 'pending' THEN
        RETURN QUERY SELECT * FROM ixn_request_replay(r, v_outcome);
        RETURN;
    END IF;
    IF p_party IS NOT NULL AND r.action NOT IN ('redirect', 'singlesteptransfer', 'singlestepconference') THEN
        RAISE EXCEPTION 'the report of a % carries no new party', r.action USING ERRCODE = 'IXIV0';
    END IF;
    refusal := ixn_request_check(p_session_id, r.action, r.interaction_id, r.params);
    IF refusal IS NOT NULL THEN
        RETURN QUERY SELECT * FROM ixn_request_fail(s, r, refusal[1],
            'the media side reported it done, but by now ' || refusal[2], v_outcome);
        RETURN;
    END IF;
    SELECT * INTO i FROM interactions WHERE session_id = p_session_id AND interaction_id = r.interaction_id;
    done := jsonb_build_object('requestid', r.request_id, 'interactionid', r.interaction_id);
    IF r.action = 'accept' THEN
        done := done - 'interactionid';
    ELSIF r.action = 'clear' THEN
        done := done || jsonb_build_object('resource', r.params->>'resource');
    END IF;
    evs := ARRAY[ixn_ev(('interaction.' || r.action || '.done')::event_name, done)];

    CASE r.action
    WHEN 'terminate' THEN
        -- Parties leave in the order they joined, so that the events come in a stable order.
        FOR gone IN SELECT * FROM parties
                     WHERE session_id = p_session_id AND interaction_id = r.interaction_id AND state <> 'released'
                     ORDER BY created_at, party_id LOOP
            evs := evs || ixn_ev('interaction.partydeleted', ixn_party_attrs(gone));
        END LOOP;
        DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = r.interaction_id;
        evs := evs || ixn_interaction_drop(i);
    WHEN 'clear' THEN
        FOR gone IN SELECT * FROM parties
                     WHERE session_id = p_session_id AND interaction_id = r.interaction_id
                       AND resource = r.params->>'resource' AND state <> 'released'
                     ORDER BY created_at, party_id LOOP
            evs := evs || ixn_ev('interaction.partydeleted', ixn_party_attrs(gone));
            DELETE FROM parties
             WHERE session_id = p_session_id AND interaction_id = r.interaction_id AND party_id = gone.party_id;
        END LOOP;
    WHEN 'pick' THEN
        UPDATE interactions SET state = 'present', controlled = true, updated_at = now()
         WHERE session_id = p_session_id AND interaction_id = r.interaction_id;
        evs := evs || ixn_ev('interaction.present', jsonb_build_object('interactionid', r.interaction_id));
    WHEN 'accept' THEN
        p := ixn_request_party(p_session_id, r.interaction_id, r.params->>'resource', ARRAY['alerting']::party_state[]);
        UPDATE parties SET state = 'established', updated_at = now()
         WHERE session_id = p_session_id AND interaction_id = r.interaction_id AND party_id = p.party_id
        RETURNING * INTO p;
        UPDATE interactions SET first_established_at = now()
         WHERE session_id = p_session_id AND interaction_id = r.interaction_id AND first_established_at IS NULL;
        evs := evs || ixn_ev('interaction.partystatechanged', ixn_party_attrs(p) || jsonb_build_object('hints', hints));
    WHEN 'associate' THEN
        UPDATE interactions SET state = 'deleted', controlled = false, moved_to = t.session_id, deleted_at = now(),
               updated_at = now()
         WHERE session_id = p_session_id AND interaction_id = r.interaction_id;
        evs := evs || ixn_ev('interaction.deleted', jsonb_build_object('interactionid', r.interaction_id))
                   || ixn_ev('interaction.notcontrolled',
                             jsonb_build_object('interactionid', r.interaction_id, 'resultof', 'detach'));
        -- Live in the target session now: the one row that says so moves with it.
        UPDATE live_interactions SET session_id = t.session_id
         WHERE interaction_id = i.interaction_id AND session_id = p_session_id;
        INSERT INTO interactions AS n (session_id, interaction_id, media, type, state, controlled, parent_id, tenant_id,
                                       owner_node)
        VALUES (t.session_id, i.interaction_id, i.media, i.type, 'present', true, i.parent_id, i.tenant_id, t.owner_node)
        ON CONFLICT (session_id, interaction_id) DO UPDATE
           SET media = EXCLUDED.media, type = EXCLUDED.type, state = 'present', controlled = true,
               parent_id = EXCLUDED.parent_id, tenant_id = EXCLUDED.tenant_id, merged_into = NULL,
               abandoned_at = NULL, created_at = now(), updated_at = now(), deleted_at = NULL,
               owner_node = EXCLUDED.owner_node, moved_to = NULL, first_established_at = NULL, transfers = 0,
               conferences = 0;
        DELETE FROM interaction_resources WHERE session_id = t.session_id AND interaction_id = i.interaction_id;
        DELETE FROM parties WHERE session_id = t.session_id AND interaction_id = i.interaction_id;
        DELETE FROM user_data WHERE session_id = t.session_id AND interaction_id = i.interaction_id;
        INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
        SELECT t.session_id, interaction_id, party_id, resource, state, role
          FROM parties WHERE session_id = p_session_id AND interaction_id = i.interaction_id;
        INSERT INTO user_data (session_id, interaction_id, key, value)
        SELECT t.session_id, interaction_id, key, value
          FROM user_data WHERE session_id = p_session_id AND interaction_id = i.interaction_id;
        PERFORM ixn_track_parties(t.session_id, i.interaction_id);
        there := ARRAY[ixn_ev('interaction.added', jsonb_build_object('interactionid', r.interaction_id)),
                       ixn_ev('interaction.present', jsonb_build_object('interactionid', r.interaction_id))];
    ELSE -- redirect, singlesteptransfer, singlestepconference
        IF r.action IN ('redirect', 'singlesteptransfer') THEN
            gone := ixn_request_party(p_session_id, r.interaction_id, r.params->>'resource',
                CASE WHEN r.action = 'redirect' THEN ARRAY['alerting']::party_state[]
                     ELSE ARRAY['established', 'held']::party_state[] END);
            DELETE FROM parties
             WHERE session_id = p_session_id AND interaction_id = r.interaction_id AND party_id = gone.party_id;
            evs := evs || ixn_ev('interaction.partydeleted', ixn_party_attrs(gone));
        END IF;
        IF p_party IS NOT NULL THEN
            INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
            SELECT p_session_id, r.interaction_id, x.party_id, coalesce(x.resource, r.params->>'destination'),
                   coalesce(x.state, 'alerting'), coalesce(x.role, 'unknown')
              FROM jsonb_to_record(p_party) AS x(party_id text, resource text, state party_state, role party_role)
            ON CONFLICT DO NOTHING
            RETURNING * INTO added;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'party % is already on interaction %', p_party->>'party_id', r.interaction_id
                    USING ERRCODE = 'IXCF0';
            END IF;
            PERFORM ixn_track_party(added);
            evs := evs || ixn_ev('interaction.partyadded', ixn_party_attrs(added));
        END IF;
    END CASE;

    UPDATE action_requests
       SET state = 'done', outcome = v_outcome, answered_at = now(),
           answer_first_seq = s.last_seq + 1, answer_last_seq = s.last_seq + cardinality(evs)
     WHERE session_id = p_session_id AND request_id = p_request_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, evs);
    IF there IS NOT NULL THEN
        RETURN QUERY SELECT * FROM ixn_publish(t, 0, there);
    END IF;
END $$;
