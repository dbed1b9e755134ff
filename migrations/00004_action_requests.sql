-- Action requests: a session's routing node asks for something to be done to an interaction
-- (the eight actions of the reference), the media side does it and reports the outcome, and
-- every request ends in exactly one answer event: interaction.<action>.done or
-- error.interaction.<action>, by the media side's report, by a refusal when it is made, by
-- its timeout, or by the end of its session.
--
-- Every change of a request happens under its session's row lock (the same lock every state
-- change of the session takes first), so a report racing the timeout, or two ixnstore
-- instances expiring the same request, are serialised there: the first ends the request, the
-- second finds it ended.
--
-- The error values (the `error` attribute) are the reference's vocabulary plus the few
-- ixnstore adds; api/openapi.yaml lists them all:
--   unknown, remote, timeout, invaliddestination, badtranslation, invalidstate.<state> (null,
--   ringing, hold, routed), and ours: invalidinteraction, notcontrolled, alreadycontrolled,
--   invalidresource, invalidparty.
-- New SQLSTATE: IXRE0 the request has already ended (a late or contradicting report).

-- +goose Up

CREATE TYPE action_name AS ENUM (
    'terminate', 'redirect', 'associate', 'pick', 'accept', 'clear', 'singlesteptransfer', 'singlestepconference'
);
CREATE TYPE request_state AS ENUM ('pending', 'done', 'failed');

CREATE TABLE action_requests (
    session_id      ixn_id        NOT NULL REFERENCES sessions (session_id),
    request_id      ixn_id        NOT NULL,
    action          action_name   NOT NULL,
    interaction_id  ixn_id        NOT NULL,
    -- The interaction's media when the request was made, for adapters that take one medium.
    media           ixn_media,
    -- The action's parameters as asked (resource, destination, sessionid, reason, hints,
    -- timeout): what a repeated request is compared with.
    params          jsonb         NOT NULL,
    state           request_state NOT NULL DEFAULT 'pending',
    -- Refused when it was made: it never reached the media side.
    refused         boolean       NOT NULL DEFAULT false,
    error           text,
    description     text,
    -- The media side's report that ended it, compared with a repeated report.
    outcome         jsonb,
    -- The answer event and the state events that followed it, in the session's order.
    answer_first_seq bigint,
    answer_last_seq  bigint,
    node_id         ixn_id,
    epoch           bigint        NOT NULL,
    timeout_ms      bigint        NOT NULL,
    deadline        timestamptz   NOT NULL,
    -- The creating transaction and a creation number: the adapters' feed reads pending
    -- requests in (txid, id) order below the oldest running transaction, so a request whose
    -- transaction commits late is not skipped (the same rule as the dispatcher's).
    txid            xid8          NOT NULL DEFAULT pg_current_xact_id(),
    id              bigint        NOT NULL GENERATED ALWAYS AS IDENTITY,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    answered_at     timestamptz,
    PRIMARY KEY (session_id, request_id)
);

-- The session an interaction moved to by an associate, for reporting how it left this one.
ALTER TABLE interactions ADD COLUMN moved_to ixn_id;

CREATE INDEX action_requests_deadline_idx ON action_requests (deadline) WHERE state = 'pending';
CREATE INDEX action_requests_feed_idx ON action_requests (txid, id) WHERE state = 'pending';

-- ixn_interaction_condition names the state of an interaction as the reference's
-- invalidstate.<state> values do: null (no party on it), ringing (a party alerting, none
-- established), hold (a party held, none established), routed (a party established).
-- +goose StatementBegin
CREATE FUNCTION ixn_interaction_condition(p_session_id text, p_interaction_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN bool_or(state = 'established') THEN 'routed'
        WHEN bool_or(state = 'alerting') THEN 'ringing'
        WHEN bool_or(state = 'held') THEN 'hold'
        ELSE 'null' END
      FROM parties
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state <> 'released'
$$;
-- +goose StatementEnd

-- ixn_request_party picks the party an action works on: the one at p_resource when one is
-- named, else the first of the interaction's parties in one of p_states. NULL when none.
-- +goose StatementBegin
CREATE FUNCTION ixn_request_party(p_session_id text, p_interaction_id text, p_resource text, p_states party_state[])
RETURNS parties
LANGUAGE sql STABLE AS $$
    SELECT * FROM parties
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state <> 'released'
       AND (resource = p_resource OR (p_resource IS NULL AND state = ANY (p_states)))
     ORDER BY state = ANY (p_states) DESC, created_at, party_id
     LIMIT 1
$$;
-- +goose StatementEnd

-- ixn_request_check decides whether the action can be done now, against the stored state. It
-- returns NULL when it can, else the error value and a description.
-- +goose StatementBegin
CREATE FUNCTION ixn_request_check(p_session_id text, p_action action_name, p_interaction_id text, p_params jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    i        interactions;
    p        parties;
    v_resource text := p_params->>'resource';
    target   sessions;
    cond     text;
    need     party_state[];
BEGIN
    SELECT * INTO i FROM interactions
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state <> 'deleted';
    IF NOT FOUND THEN
        RETURN ARRAY['invalidinteraction',
            format('interaction %s is not in session %s', p_interaction_id, p_session_id)];
    END IF;
    IF p_action = 'pick' THEN
        IF i.controlled THEN
            RETURN ARRAY['alreadycontrolled',
                format('interaction %s is already controlled by session %s', p_interaction_id, p_session_id)];
        END IF;
        RETURN NULL;
    END IF;
    IF NOT i.controlled THEN
        RETURN ARRAY['notcontrolled',
            format('interaction %s is in session %s but not controlled by it (%s)', p_interaction_id,
                   p_session_id, CASE WHEN i.state = 'added' THEN 'not present yet' ELSE 'control was released' END)];
    END IF;
    IF p_action = 'associate' THEN
        SELECT * INTO target FROM sessions WHERE session_id = p_params->>'sessionid';
        IF NOT FOUND OR target.state <> 'active' OR target.session_id = p_session_id THEN
            RETURN ARRAY['invaliddestination', format('session %s %s', p_params->>'sessionid',
                CASE WHEN NOT FOUND THEN 'does not exist'
                     WHEN target.session_id = p_session_id THEN 'already holds the interaction'
                     ELSE 'has ended' END)];
        END IF;
        RETURN NULL;
    END IF;
    -- The party the action works on, and the states it must be in.
    need := CASE p_action
        WHEN 'redirect' THEN ARRAY['alerting']::party_state[]
        WHEN 'accept' THEN ARRAY['alerting']::party_state[]
        WHEN 'singlesteptransfer' THEN ARRAY['established', 'held']::party_state[]
        WHEN 'singlestepconference' THEN ARRAY['established']::party_state[]
        ELSE NULL END;
    IF v_resource IS NOT NULL THEN
        p := ixn_request_party(p_session_id, p_interaction_id, v_resource, need);
        IF p.party_id IS NULL THEN
            RETURN ARRAY['invalidresource',
                format('no party of interaction %s is at resource %s', p_interaction_id, v_resource)];
        END IF;
    END IF;
    IF need IS NULL THEN
        RETURN NULL; -- terminate, clear
    END IF;
    IF v_resource IS NULL THEN
        p := ixn_request_party(p_session_id, p_interaction_id, NULL, need);
    END IF;
    IF p.party_id IS NULL OR NOT p.state = ANY (need) THEN
        cond := CASE WHEN p.party_id IS NULL THEN ixn_interaction_condition(p_session_id, p_interaction_id)
                     WHEN p.state = 'alerting' THEN 'ringing'
                     WHEN p.state = 'held' THEN 'hold'
                     ELSE 'routed' END;
        RETURN ARRAY['invalidstate.' || cond,
            format('%s needs a party %s on interaction %s%s, which is %s', p_action, array_to_string(need, ' or '),
                   p_interaction_id, coalesce(' at ' || v_resource, ''), cond)];
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- ixn_request_error_event is the error event that ends a request.
-- +goose StatementBegin
CREATE FUNCTION ixn_request_error_event(p_action action_name, p_request_id text, p_error text, p_description text)
RETURNS ixn_event
LANGUAGE sql IMMUTABLE AS $$
    SELECT ixn_ev(('error.interaction.' || p_action)::event_name,
                  jsonb_build_object('requestid', p_request_id, 'error', p_error, 'description', p_description))
$$;
-- +goose StatementEnd

-- ixn_request_fail ends a pending request with its error event; the session row is locked.
-- +goose StatementBegin
CREATE FUNCTION ixn_request_fail(s sessions, r action_requests, p_error text, p_description text, p_outcome jsonb)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE action_requests
       SET state = 'failed', error = p_error, description = p_description, outcome = p_outcome,
           answer_first_seq = s.last_seq + 1, answer_last_seq = s.last_seq + 1, answered_at = now()
     WHERE session_id = r.session_id AND request_id = r.request_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, ARRAY[
        ixn_request_error_event(r.action, r.request_id, p_error, p_description)]);
END $$;
-- +goose StatementEnd

-- ixn_request_create makes a request. A request whose requestid the session already used is
-- answered by the stored one when it asks for the same thing, and refused (IXCF0) when not.
-- A request the stored state does not allow is refused at once: stored as failed, with its
-- error event. Otherwise it is stored as pending, for the media side; no event yet.
-- +goose StatementBegin
CREATE FUNCTION ixn_request_create(
    p_session_id text, p_epoch bigint, p_request_id text, p_action action_name, p_interaction_id text,
    p_params jsonb, p_timeout_ms bigint
) RETURNS action_requests
LANGUAGE plpgsql AS $$
DECLARE
    s       sessions := ixn_session_lock(p_session_id, p_epoch, 0);
    r       action_requests;
    refusal text[];
BEGIN
    SELECT * INTO r FROM action_requests WHERE session_id = p_session_id AND request_id = p_request_id;
    IF FOUND THEN
        IF r.action <> p_action OR r.interaction_id <> p_interaction_id OR r.params <> p_params THEN
            RAISE EXCEPTION 'request % of session % was already made, for % of interaction %, with other parameters',
                p_request_id, p_session_id, r.action, r.interaction_id USING ERRCODE = 'IXCF0';
        END IF;
        RETURN r;
    END IF;
    refusal := ixn_request_check(p_session_id, p_action, p_interaction_id, p_params);
    INSERT INTO action_requests (session_id, request_id, action, interaction_id, media, params, refused,
                                 node_id, epoch, timeout_ms, deadline)
    VALUES (p_session_id, p_request_id, p_action, p_interaction_id,
            (SELECT media FROM interactions WHERE session_id = p_session_id AND interaction_id = p_interaction_id),
            p_params, refusal IS NOT NULL, s.owner_node, s.lease_epoch, p_timeout_ms,
            now() + p_timeout_ms * interval '1 millisecond')
    RETURNING * INTO r;
    IF refusal IS NOT NULL THEN
        PERFORM ixn_request_fail(s, r, refusal[1], refusal[2], NULL);
        SELECT * INTO r FROM action_requests WHERE session_id = p_session_id AND request_id = p_request_id;
    END IF;
    RETURN r;
END $$;
-- +goose StatementEnd

-- ixn_request_replay answers a report on a request that has already ended: the same report
-- again gets the events it wrote the first time; any other report is refused (IXRE0).
-- +goose StatementBegin
CREATE FUNCTION ixn_request_replay(r action_requests, p_outcome jsonb) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
BEGIN
    IF r.outcome IS DISTINCT FROM p_outcome THEN
        RAISE EXCEPTION 'request % of session % has already ended: %', r.request_id, r.session_id,
            CASE WHEN r.state = 'done' THEN 'done' ELSE r.error || ' (' || r.description || ')' END
            USING ERRCODE = 'IXRE0';
    END IF;
    RETURN QUERY SELECT * FROM outbox
                  WHERE session_id = r.session_id AND seq BETWEEN r.answer_first_seq AND r.answer_last_seq
                  ORDER BY seq;
END $$;
-- +goose StatementEnd

-- ixn_session_row locks a session's row for a change made by the media side or by ixnstore
-- itself: no epoch to check, and an ended session is the caller's to judge.
-- +goose StatementBegin
CREATE FUNCTION ixn_session_row(p_session_id text) RETURNS sessions
LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
BEGIN
    SELECT * INTO s FROM sessions WHERE session_id = p_session_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % not found', p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    RETURN s;
END $$;
-- +goose StatementEnd

-- ixn_request_fail_report: the media side could not do the action.
-- +goose StatementBegin
CREATE FUNCTION ixn_request_fail_report(p_session_id text, p_request_id text, p_error text, p_description text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s         sessions := ixn_session_row(p_session_id);
    r         action_requests;
    v_outcome jsonb := jsonb_build_object('result', 'failed', 'error', p_error, 'description', p_description);
BEGIN
    SELECT * INTO r FROM action_requests WHERE session_id = p_session_id AND request_id = p_request_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'request % not found in session %', p_request_id, p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    IF r.state <> 'pending' THEN
        RETURN QUERY SELECT * FROM ixn_request_replay(r, v_outcome);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM ixn_request_fail(s, r, p_error, p_description, v_outcome);
END $$;
-- +goose StatementEnd

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
-- +goose StatementBegin
CREATE FUNCTION ixn_request_done(p_session_id text, p_request_id text, p_hints jsonb, p_party jsonb)
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
        evs := evs || ixn_ev('interaction.partystatechanged', ixn_party_attrs(p) || jsonb_build_object('hints', hints));
    WHEN 'associate' THEN
        UPDATE interactions SET state = 'deleted', controlled = false, moved_to = t.session_id, deleted_at = now(),
               updated_at = now()
         WHERE session_id = p_session_id AND interaction_id = r.interaction_id;
        evs := evs || ixn_ev('interaction.deleted', jsonb_build_object('interactionid', r.interaction_id))
                   || ixn_ev('interaction.notcontrolled',
                             jsonb_build_object('interactionid', r.interaction_id, 'resultof', 'detach'));
        INSERT INTO interactions AS n (session_id, interaction_id, media, type, state, controlled, parent_id, tenant_id)
        VALUES (t.session_id, i.interaction_id, i.media, i.type, 'present', true, i.parent_id, i.tenant_id)
        ON CONFLICT (session_id, interaction_id) DO UPDATE
           SET media = EXCLUDED.media, type = EXCLUDED.type, state = 'present', controlled = true,
               parent_id = EXCLUDED.parent_id, tenant_id = EXCLUDED.tenant_id, merged_into = NULL,
               abandoned_at = NULL, created_at = now(), updated_at = now(), deleted_at = NULL;
        DELETE FROM parties WHERE session_id = t.session_id AND interaction_id = i.interaction_id;
        DELETE FROM user_data WHERE session_id = t.session_id AND interaction_id = i.interaction_id;
        INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
        SELECT t.session_id, interaction_id, party_id, resource, state, role
          FROM parties WHERE session_id = p_session_id AND interaction_id = i.interaction_id;
        INSERT INTO user_data (session_id, interaction_id, key, value)
        SELECT t.session_id, interaction_id, key, value
          FROM user_data WHERE session_id = p_session_id AND interaction_id = i.interaction_id;
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
-- +goose StatementEnd

-- ixn_request_expire ends a request whose deadline has passed with error timeout. It does
-- nothing when the request ended meanwhile (answered, or expired by another instance).
-- +goose StatementBegin
CREATE FUNCTION ixn_request_expire(p_session_id text, p_request_id text) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions := ixn_session_row(p_session_id);
    r action_requests;
BEGIN
    SELECT * INTO r FROM action_requests
     WHERE session_id = p_session_id AND request_id = p_request_id AND state = 'pending' AND deadline <= now();
    IF FOUND THEN
        RETURN QUERY SELECT * FROM ixn_request_fail(s, r, 'timeout',
            format('the media side did not answer within %s', r.timeout_ms * interval '1 millisecond'),
            NULL);
    END IF;
END $$;
-- +goose StatementEnd

-- Ending a session now first ends its pending requests (error unknown): every request ends
-- in an answer, and none can be written once the session has ended.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ixn_session_end(p_session_id text, p_epoch bigint) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s   sessions := ixn_session_lock(p_session_id, p_epoch, 0);
    evs ixn_event[] := '{}';
    i   record;
    r   action_requests;
BEGIN
    FOR r IN SELECT * FROM action_requests WHERE session_id = p_session_id AND state = 'pending' ORDER BY id LOOP
        evs := evs || ixn_request_error_event(r.action, r.request_id, 'unknown',
                                              'the session ended before the request was answered');
        UPDATE action_requests
           SET state = 'failed', error = 'unknown', description = 'the session ended before the request was answered',
               answered_at = now(), answer_first_seq = s.last_seq + cardinality(evs), answer_last_seq = s.last_seq + cardinality(evs)
         WHERE session_id = r.session_id AND request_id = r.request_id;
    END LOOP;
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ixn_session_end(p_session_id text, p_epoch bigint) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s   sessions := ixn_session_lock(p_session_id, p_epoch, 0);
    evs ixn_event[] := '{}';
    i   record;
BEGIN
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
DROP FUNCTION ixn_request_expire, ixn_request_done, ixn_request_fail_report, ixn_session_row, ixn_request_replay,
    ixn_request_create, ixn_request_fail, ixn_request_error_event, ixn_request_check, ixn_request_party,
    ixn_interaction_condition;
DROP TABLE action_requests;
DROP TYPE action_name, request_state;
ALTER TABLE interactions DROP COLUMN moved_to;
