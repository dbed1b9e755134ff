-- Every state change of a session is one of the functions below, called as one statement:
-- one round trip, one implicit transaction that updates the state tables and writes the
-- events the change causes into the outbox, or raises and writes nothing.
--
-- Each function first locks its session's row (ixn_session_lock). Later statements in a
-- PL/pgSQL function take a fresh snapshot, so a writer that waited for the lock sees what the
-- previous holder committed, and its checks are made against the current state.
--
-- Errors are raised with our own SQLSTATEs, translated to service errors in one place
-- (service/errors.go):
--   IXNF0 not found          IXST0 illegal state transition     IXCF0 already exists
--   IXSE0 session has ended  IXLL0 lease lost (stale epoch)     IXIV0 invalid value

-- +goose Up

CREATE TYPE ixn_event AS (name event_name, attrs jsonb);

-- +goose StatementBegin
CREATE FUNCTION ixn_ev(p_name event_name, p_attrs jsonb) RETURNS ixn_event
LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(p_name, p_attrs)::ixn_event $$;
-- +goose StatementEnd

-- ixn_session_lock locks the session's row until commit and reserves p_reserve sequence
-- numbers in the same update (most changes write exactly one event, and then the session row
-- is updated once). It returns the row with last_seq set to the number before the reserved
-- ones.
-- +goose StatementBegin
CREATE FUNCTION ixn_session_lock(p_session_id text, p_epoch bigint, p_reserve int) RETURNS sessions
LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
BEGIN
    UPDATE sessions SET last_seq = last_seq + p_reserve, updated_at = now()
     WHERE session_id = p_session_id
    RETURNING * INTO s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % not found', p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    IF s.state <> 'active' THEN
        RAISE EXCEPTION 'session % has ended', p_session_id USING ERRCODE = 'IXSE0';
    END IF;
    IF p_epoch IS NOT NULL AND p_epoch <> s.lease_epoch THEN
        RAISE EXCEPTION 'the lease of session % was lost: epoch % is not the current epoch %',
            p_session_id, p_epoch, s.lease_epoch USING ERRCODE = 'IXLL0';
    END IF;
    s.last_seq := s.last_seq - p_reserve;
    RETURN s;
END $$;
-- +goose StatementEnd

-- ixn_publish writes the events into the outbox numbered after s.last_seq, and takes the
-- numbers beyond the p_reserved ones that ixn_session_lock already took.
-- +goose StatementBegin
CREATE FUNCTION ixn_publish(s sessions, p_reserved int, p_events ixn_event[]) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_events), 0);
BEGIN
    IF n < p_reserved THEN
        -- Committing would leave a gap in the session's numbers.
        RAISE EXCEPTION 'internal error: % sequence numbers reserved for % events', p_reserved, n;
    END IF;
    IF n > p_reserved THEN
        UPDATE sessions SET last_seq = last_seq + (n - p_reserved) WHERE session_id = s.session_id;
    END IF;
    RETURN QUERY
    INSERT INTO outbox (session_id, seq, name, attrs, node_id, epoch)
    SELECT s.session_id, s.last_seq + e.ord, e.name, e.attrs, s.owner_node, s.lease_epoch
      FROM unnest(p_events) WITH ORDINALITY AS e(name, attrs, ord)
    RETURNING *;
END $$;
-- +goose StatementEnd

-- ixn_interaction_live returns an interaction of the session that has not been deleted.
-- +goose StatementBegin
CREATE FUNCTION ixn_interaction_live(p_session_id text, p_interaction_id text) RETURNS interactions
LANGUAGE plpgsql AS $$
DECLARE
    i interactions;
BEGIN
    SELECT * INTO i FROM interactions WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'interaction % not found in session %', p_interaction_id, p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    IF i.state = 'deleted' THEN
        RAISE EXCEPTION 'interaction % has been deleted from session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXST0';
    END IF;
    RETURN i;
END $$;
-- +goose StatementEnd

-- ixn_party_get returns a party of a live interaction of the session, in one lookup.
-- +goose StatementBegin
CREATE FUNCTION ixn_party_get(p_session_id text, p_interaction_id text, p_party_id text) RETURNS parties
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
-- +goose StatementEnd

-- Party attributes as the party events carry them. STABLE (as jsonb_build_object is) so that
-- the planner inlines it: an SQL function that is not inlined is parsed again on each call.
-- +goose StatementBegin
CREATE FUNCTION ixn_party_attrs(p parties) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('interactionid', p.interaction_id, 'focusresource', p.resource,
                              'partyid', p.party_id, 'partystate', p.state)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_session_end(p_session_id text, p_epoch bigint) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s   sessions := ixn_session_lock(p_session_id, p_epoch, 0);
    evs ixn_event[] := '{}';
    i   record;
BEGIN
    -- The session lets go of what it still holds: the interactions go on without it.
    FOR i IN SELECT interaction_id, controlled FROM interactions
              WHERE session_id = p_session_id AND state <> 'deleted'
              ORDER BY created_at, interaction_id LOOP
        IF i.controlled THEN
            evs := evs || ixn_ev('interaction.notcontrolled',
                                 jsonb_build_object('interactionid', i.interaction_id, 'resultof', 'detach'));
        END IF;
        evs := evs || ixn_ev('interaction.deleted', jsonb_build_object('interactionid', i.interaction_id));
    END LOOP;
    UPDATE interactions SET state = 'deleted', controlled = false, deleted_at = now(), updated_at = now()
     WHERE session_id = p_session_id AND state <> 'deleted';
    UPDATE sessions SET state = 'ended', ended_at = now() WHERE session_id = p_session_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, evs);
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_interaction_add(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_media text, p_type interaction_type,
    p_parent_id text, p_tenant_id text, p_parties jsonb, p_udata jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s     sessions := ixn_session_lock(p_session_id, p_epoch, 1);
    other text;
BEGIN
    SELECT session_id INTO other FROM interactions
     WHERE interaction_id = p_interaction_id AND state <> 'deleted' AND session_id <> p_session_id;
    IF FOUND THEN
        RAISE EXCEPTION 'interaction % is live in session %', p_interaction_id, other USING ERRCODE = 'IXCF0';
    END IF;
    -- A deleted interaction that comes back to the same session is added anew.
    INSERT INTO interactions AS i (session_id, interaction_id, media, type, parent_id, tenant_id)
    VALUES (p_session_id, p_interaction_id, p_media, p_type, p_parent_id, coalesce(p_tenant_id, s.tenant_id))
    ON CONFLICT (session_id, interaction_id) DO UPDATE
       SET media = EXCLUDED.media, type = EXCLUDED.type, parent_id = EXCLUDED.parent_id,
           tenant_id = EXCLUDED.tenant_id, state = 'added', controlled = false, merged_into = NULL,
           abandoned_at = NULL, created_at = now(), updated_at = now(), deleted_at = NULL
     WHERE i.state = 'deleted';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'interaction % is already in session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXCF0';
    END IF;
    DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    DELETE FROM user_data WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    -- Parties and user data the interaction had before it was added come with it, without
    -- events of their own (the reference: they are there "from the beginning").
    INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
    SELECT p_session_id, p_interaction_id, p.party_id, p.resource, p.state, coalesce(p.role, 'unknown')
      FROM jsonb_to_recordset(coalesce(p_parties, '[]')) AS p(party_id text, resource text, state party_state, role party_role);
    INSERT INTO user_data (session_id, interaction_id, key, value)
    SELECT p_session_id, p_interaction_id, d.key, d.value
      FROM jsonb_each(coalesce(p_udata, '{}')) AS d
     WHERE jsonb_typeof(d.value) <> 'null';
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[
        ixn_ev('interaction.added', jsonb_build_object('interactionid', p_interaction_id))]);
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_interaction_present(p_session_id text, p_epoch bigint, p_interaction_id text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
BEGIN
    IF i.controlled THEN
        RAISE EXCEPTION 'interaction % is already present and controlled by session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXST0';
    END IF;
    UPDATE interactions SET state = 'present', controlled = true, updated_at = now()
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[
        ixn_ev('interaction.present', jsonb_build_object('interactionid', p_interaction_id))]);
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_interaction_notcontrolled(p_session_id text, p_epoch bigint, p_interaction_id text, p_resultof text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
BEGIN
    IF p_resultof NOT IN ('deletion', 'detach') THEN
        RAISE EXCEPTION 'resultof must be deletion or detach, not %', p_resultof USING ERRCODE = 'IXIV0';
    END IF;
    IF NOT i.controlled THEN
        RAISE EXCEPTION 'interaction % is not controlled by session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXST0';
    END IF;
    UPDATE interactions SET controlled = false, updated_at = now()
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[ixn_ev('interaction.notcontrolled',
        jsonb_build_object('interactionid', p_interaction_id, 'resultof', p_resultof))]);
END $$;
-- +goose StatementEnd

-- ixn_interaction_drop marks an interaction deleted from its session and returns the events
-- that says so: interaction.notcontrolled (resultof deletion) first when the session
-- controlled it, then interaction.deleted.
-- +goose StatementBegin
CREATE FUNCTION ixn_interaction_drop(i interactions) RETURNS ixn_event[]
LANGUAGE plpgsql AS $$
DECLARE
    evs ixn_event[] := '{}';
BEGIN
    IF i.controlled THEN
        evs := evs || ixn_ev('interaction.notcontrolled',
                             jsonb_build_object('interactionid', i.interaction_id, 'resultof', 'deletion'));
    END IF;
    UPDATE interactions SET state = 'deleted', controlled = false, deleted_at = now(), updated_at = now()
     WHERE session_id = i.session_id AND interaction_id = i.interaction_id;
    RETURN evs || ixn_ev('interaction.deleted', jsonb_build_object('interactionid', i.interaction_id));
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_interaction_delete(p_session_id text, p_epoch bigint, p_interaction_id text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
BEGIN
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ixn_interaction_drop(i));
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_party_add(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_resource text,
    p_state party_state, p_role party_role
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
    p parties;
BEGIN
    INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
    VALUES (p_session_id, p_interaction_id, p_party_id, p_resource, p_state, coalesce(p_role, 'unknown'))
    ON CONFLICT DO NOTHING
    RETURNING * INTO p;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'party % is already on interaction %', p_party_id, p_interaction_id USING ERRCODE = 'IXCF0';
    END IF;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[ixn_ev('interaction.partyadded', ixn_party_attrs(p))]);
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_party_delete(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    p parties      := ixn_party_get(p_session_id, p_interaction_id, p_party_id);
BEGIN
    DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND party_id = p_party_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[ixn_ev('interaction.partydeleted', ixn_party_attrs(p))]);
END $$;
-- +goose StatementEnd

-- The party states and the moves between them; released is final.
-- +goose StatementBegin
CREATE FUNCTION ixn_party_transition_allowed(p_from party_state, p_to party_state) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_from, p_to) IN (('alerting', 'established'), ('alerting', 'held'), ('alerting', 'released'),
                              ('established', 'held'), ('established', 'released'),
                              ('held', 'established'), ('held', 'released'))
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_party_state_change(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_state party_state, p_hints jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    p parties      := ixn_party_get(p_session_id, p_interaction_id, p_party_id);
BEGIN
    IF NOT ixn_party_transition_allowed(p.state, p_state) THEN
        RAISE EXCEPTION 'party % of interaction % cannot go from % to %', p_party_id, p_interaction_id, p.state, p_state
            USING ERRCODE = 'IXST0';
    END IF;
    UPDATE parties SET state = p_state, updated_at = now()
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND party_id = p_party_id
    RETURNING * INTO p;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[ixn_ev('interaction.partystatechanged',
        ixn_party_attrs(p) || jsonb_build_object('hints', coalesce(p_hints, '{}')))]);
END $$;
-- +goose StatementEnd

-- ixn_udata_write replaces (p_replace) or merges the interaction's user data with p_data; in a
-- merge a key whose value is null is removed. interaction.udata.changed is written only when
-- the change comes from the media side (p_from_media): the session knows its own changes.
-- +goose StatementBegin
CREATE FUNCTION ixn_udata_write(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_data jsonb, p_replace boolean, p_from_media boolean
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    n int          := CASE WHEN p_from_media THEN 1 ELSE 0 END;
    s sessions     := ixn_session_lock(p_session_id, p_epoch, n);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
BEGIN
    IF jsonb_typeof(p_data) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'user data must be a JSON object' USING ERRCODE = 'IXIV0';
    END IF;
    IF p_replace THEN
        DELETE FROM user_data WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    ELSE
        DELETE FROM user_data
         WHERE session_id = p_session_id AND interaction_id = p_interaction_id
           AND key IN (SELECT d.key FROM jsonb_each(p_data) AS d WHERE jsonb_typeof(d.value) = 'null');
    END IF;
    INSERT INTO user_data (session_id, interaction_id, key, value)
    SELECT p_session_id, p_interaction_id, d.key, d.value
      FROM jsonb_each(p_data) AS d
     WHERE jsonb_typeof(d.value) <> 'null'
    ON CONFLICT (session_id, interaction_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();
    IF p_from_media THEN
        RETURN QUERY SELECT * FROM ixn_publish(s, n, ARRAY[
            ixn_ev('interaction.udata.changed', jsonb_build_object('interactionid', p_interaction_id))]);
    END IF;
END $$;
-- +goose StatementEnd

-- ixn_party_leave removes a party that left by a divert (interaction.ondivert, prefix
-- diverting) or a single-step transfer (interaction.onsinglesteptransfer, prefix
-- transferring): that event first, then interaction.partydeleted.
-- +goose StatementBegin
CREATE FUNCTION ixn_party_leave(
    p_event event_name, p_prefix text, p_session_id text, p_epoch bigint, p_interaction_id text,
    p_party_id text, p_new_destination text, p_hints jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 2);
    p parties      := ixn_party_get(p_session_id, p_interaction_id, p_party_id);
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
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ixn_single_step_conference(
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
    RETURN QUERY SELECT * FROM ixn_publish(s, 2, ARRAY[
        ixn_ev('interaction.onsinglestepconference', jsonb_build_object(
            'interactionid', p_interaction_id,
            'conferencingpartyid', c.party_id, 'conferencingresource', c.resource, 'conferencingpartystate', c.state,
            'addedpartyid', a.party_id, 'addedresource', a.resource, 'addedpartystate', a.state,
            'hints', coalesce(p_hints, '{}'))),
        ixn_ev('interaction.partyadded', ixn_party_attrs(a))]);
END $$;
-- +goose StatementEnd

-- ixn_merge completes a consultation: the consult interaction (from) merges into the primary
-- (to). Parties of the consult interaction that are not on the primary move to it
-- (interaction.partyadded), and the consult interaction leaves the session.
-- +goose StatementBegin
CREATE FUNCTION ixn_merge(
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
-- +goose StatementEnd

-- ixn_abandon records that the customer left: interaction.abandoned, then
-- interaction.partydeleted for the parties at the abandoning resource.
-- +goose StatementBegin
CREATE FUNCTION ixn_abandon(
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
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION ixn_abandon, ixn_merge, ixn_single_step_conference, ixn_party_leave, ixn_udata_write, ixn_party_state_change, ixn_party_transition_allowed, ixn_party_delete,
    ixn_party_add, ixn_interaction_delete, ixn_interaction_drop, ixn_interaction_notcontrolled,
    ixn_interaction_present, ixn_interaction_add, ixn_session_end, ixn_party_attrs, ixn_party_get,
    ixn_interaction_live, ixn_publish, ixn_session_lock, ixn_ev;
DROP TYPE ixn_event;
