--
-- PostgreSQL database dump
--

--
-- Name: action_name; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE action_name AS ENUM (
    'terminate',
    'redirect',
    'associate',
    'pick',
    'accept',
    'clear',
    'singlesteptransfer',
    'singlestepconference'
);

--
-- Name: event_name; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE event_name AS ENUM (
    'interaction.terminate.done',
    'error.interaction.terminate',
    'interaction.redirect.done',
    'error.interaction.redirect',
    'interaction.associate.done',
    'error.interaction.associate',
    'interaction.pick.done',
    'error.interaction.pick',
    'interaction.accept.done',
    'error.interaction.accept',
    'interaction.clear.done',
    'error.interaction.clear',
    'interaction.singlesteptransfer.done',
    'error.interaction.singlesteptransfer',
    'interaction.singlestepconference.done',
    'error.interaction.singlestepconference',
    'interaction.added',
    'interaction.deleted',
    'interaction.present',
    'interaction.notcontrolled',
    'interaction.partyadded',
    'interaction.partydeleted',
    'interaction.partystatechanged',
    'interaction.udata.changed',
    'interaction.ondivert',
    'interaction.onsinglesteptransfer',
    'interaction.onsinglestepconference',
    'interaction.onmerge',
    'interaction.abandoned',
    'interaction.restored'
);

--
-- Name: interaction_state; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE interaction_state AS ENUM (
    'added',
    'present',
    'deleted'
);

--
-- Name: interaction_type; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE interaction_type AS ENUM (
    'inbound',
    'outbound',
    'internal',
    'consult',
    'callback'
);

--
-- Name: ixn_event; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE ixn_event AS (
	name event_name,
	attrs jsonb
);

--
-- Name: ixn_id; Type: DOMAIN; Schema: public; Owner: -
--

CREATE DOMAIN ixn_id AS text COLLATE pg_catalog."C"
	CONSTRAINT ixn_id_check CHECK (((VALUE ~ '^[A-Za-z0-9._:@-]+$'::text) AND (length(VALUE) <= 128)));

--
-- Name: ixn_media; Type: DOMAIN; Schema: public; Owner: -
--

CREATE DOMAIN ixn_media AS text
	CONSTRAINT ixn_media_check CHECK (((VALUE ~ '^[a-z][a-z0-9_-]*$'::text) AND (length(VALUE) <= 32)));

--
-- Name: ixn_name; Type: DOMAIN; Schema: public; Owner: -
--

CREATE DOMAIN ixn_name AS text
	CONSTRAINT ixn_name_check CHECK (((length(VALUE) >= 1) AND (length(VALUE) <= 256)));

--
-- Name: party_role; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE party_role AS ENUM (
    'customer',
    'agent',
    'supervisor',
    'device',
    'external',
    'unknown'
);

--
-- Name: party_state; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE party_state AS ENUM (
    'alerting',
    'established',
    'held',
    'released'
);

--
-- Name: request_state; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE request_state AS ENUM (
    'pending',
    'done',
    'failed'
);

--
-- Name: session_state; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE session_state AS ENUM (
    'active',
    'ended'
);

--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE outbox (
    id bigint NOT NULL,
    session_id ixn_id NOT NULL,
    seq bigint NOT NULL,
    name event_name NOT NULL,
    attrs jsonb NOT NULL,
    node_id ixn_id,
    epoch bigint NOT NULL,
    txid xid8 DEFAULT pg_current_xact_id() NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL
);

--
-- Name: ixn_abandon(text, bigint, text, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_abandon(p_session_id text, p_epoch bigint, p_interaction_id text, p_focus_resource text, p_reason text, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_ev(event_name, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_ev(p_name event_name, p_attrs jsonb) RETURNS ixn_event
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT ROW(p_name, p_attrs)::ixn_event $$;

--
-- Name: ixn_interaction_add(text, bigint, text, text, interaction_type, text, text, jsonb, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_add(p_session_id text, p_epoch bigint, p_interaction_id text, p_media text, p_type interaction_type, p_parent_id text, p_tenant_id text, p_parties jsonb, p_udata jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_interaction_condition(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_condition(p_session_id text, p_interaction_id text) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE
        WHEN bool_or(state = 'established') THEN 'routed'
        WHEN bool_or(state = 'alerting') THEN 'ringing'
        WHEN bool_or(state = 'held') THEN 'hold'
        ELSE 'null' END
      FROM parties
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state <> 'released'
$$;

--
-- Name: ixn_interaction_delete(text, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_delete(p_session_id text, p_epoch bigint, p_interaction_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    i interactions := ixn_interaction_live(p_session_id, p_interaction_id);
BEGIN
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ixn_interaction_drop(i));
END $$;

--
-- Name: interactions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE interactions (
    session_id ixn_id NOT NULL,
    interaction_id ixn_id NOT NULL,
    media ixn_media NOT NULL,
    type interaction_type NOT NULL,
    state interaction_state DEFAULT 'added'::interaction_state NOT NULL,
    controlled boolean DEFAULT false NOT NULL,
    parent_id ixn_id,
    merged_into ixn_id,
    tenant_id ixn_id,
    abandoned_at timestamptz,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    deleted_at timestamptz,
    moved_to ixn_id,
    owner_node ixn_id,
    first_established_at timestamptz,
    transfers integer DEFAULT 0 NOT NULL,
    conferences integer DEFAULT 0 NOT NULL,
    CONSTRAINT interactions_check CHECK (((NOT controlled) OR (state = 'present'::interaction_state))),
    CONSTRAINT interactions_check1 CHECK (((state = 'deleted'::interaction_state) = (deleted_at IS NOT NULL)))
)
WITH (fillfactor='80');

--
-- Name: ixn_interaction_drop(interactions); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_drop(i interactions) RETURNS ixn_event[]
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_interaction_live(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_live(p_session_id text, p_interaction_id text) RETURNS interactions
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_interaction_notcontrolled(text, bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_notcontrolled(p_session_id text, p_epoch bigint, p_interaction_id text, p_resultof text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_interaction_outcome(interaction_state, timestamptz, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_outcome(p_state interaction_state, p_abandoned_at timestamptz, p_merged_into text, p_moved_to text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN p_abandoned_at IS NOT NULL THEN 'abandoned'
                WHEN p_state <> 'deleted' THEN 'live'
                WHEN p_merged_into IS NOT NULL THEN 'merged'
                WHEN p_moved_to IS NOT NULL THEN 'moved'
                ELSE 'completed' END
$$;

--
-- Name: ixn_interaction_owner(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_owner() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.owner_node := (SELECT owner_node FROM sessions WHERE session_id = NEW.session_id);
    RETURN NEW;
END $$;

--
-- Name: ixn_interaction_present(text, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_present(p_session_id text, p_epoch bigint, p_interaction_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_merge(text, bigint, text, text, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_merge(p_session_id text, p_epoch bigint, p_from_id text, p_to_id text, p_active_party_id text, p_held_party_id text, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: nodes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE nodes (
    node_id ixn_id NOT NULL,
    address text,
    capacity integer NOT NULL,
    lease_ms bigint NOT NULL,
    lease_expires_at timestamptz NOT NULL,
    live boolean DEFAULT true NOT NULL,
    registered_at timestamptz DEFAULT now() NOT NULL,
    heartbeat_at timestamptz DEFAULT now() NOT NULL
);

--
-- Name: ixn_node_alive(nodes); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_node_alive(n nodes) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT n.live AND n.lease_expires_at > now() $$;

--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE sessions (
    session_id ixn_id NOT NULL,
    tenant_id ixn_id,
    state session_state DEFAULT 'active'::session_state NOT NULL,
    owner_node ixn_id,
    lease_epoch bigint DEFAULT 1 NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    ended_at timestamptz
)
WITH (fillfactor='70');

--
-- Name: ixn_node_leave(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_node_leave(p_node_id text, p_to_node text) RETURNS SETOF sessions
    LANGUAGE plpgsql
    AS $$
DECLARE
    sid      text;
    released text[] := '{}';
BEGIN
    IF p_to_node = p_node_id THEN
        RAISE EXCEPTION 'a node cannot hand its sessions to itself' USING ERRCODE = 'IXIV0';
    END IF;
    UPDATE nodes SET live = false, lease_expires_at = now() WHERE node_id = p_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', p_node_id USING ERRCODE = 'IXNF0';
    END IF;
    IF p_to_node IS NOT NULL THEN
        PERFORM ixn_node_live(p_to_node);
    END IF;
    -- Sessions in id order: the same lock order as every other multi-session change.
    FOR sid IN SELECT session_id FROM sessions WHERE owner_node = p_node_id AND state = 'active'
                ORDER BY session_id LOOP
        PERFORM ixn_session_release(sid, NULL, p_to_node);
        released := released || sid;
    END LOOP;
    RETURN QUERY SELECT * FROM sessions WHERE session_id = ANY (released) ORDER BY session_id;
END $$;

--
-- Name: ixn_node_live(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_node_live(p_node_id text) RETURNS nodes
    LANGUAGE plpgsql
    AS $$
DECLARE
    n nodes;
BEGIN
    SELECT * INTO n FROM nodes WHERE node_id = p_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', p_node_id USING ERRCODE = 'IXNF0';
    END IF;
    IF NOT ixn_node_alive(n) THEN
        RAISE EXCEPTION 'node % is not live: %', p_node_id,
            CASE WHEN n.live THEN 'its lease lapsed at ' || n.lease_expires_at ELSE 'it has left' END
            USING ERRCODE = 'IXNL0';
    END IF;
    RETURN n;
END $$;

--
-- Name: ixn_party_add(text, bigint, text, text, text, party_state, party_role); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_add(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_resource text, p_state party_state, p_role party_role) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: parties; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE parties (
    session_id ixn_id NOT NULL,
    interaction_id ixn_id NOT NULL,
    party_id ixn_id NOT NULL,
    resource ixn_name NOT NULL,
    state party_state NOT NULL,
    role party_role DEFAULT 'unknown'::party_role NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL
)
WITH (fillfactor='80');

--
-- Name: ixn_party_attrs(parties); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_attrs(p parties) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('interactionid', p.interaction_id, 'focusresource', p.resource,
                              'partyid', p.party_id, 'partystate', p.state)
$$;

--
-- Name: ixn_party_delete(text, bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_delete(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
DECLARE
    s sessions     := ixn_session_lock(p_session_id, p_epoch, 1);
    p parties      := ixn_party_get(p_session_id, p_interaction_id, p_party_id);
BEGIN
    DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND party_id = p_party_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[ixn_ev('interaction.partydeleted', ixn_party_attrs(p))]);
END $$;

--
-- Name: ixn_party_get(text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_get(p_session_id text, p_interaction_id text, p_party_id text) RETURNS parties
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_party_leave(event_name, text, text, bigint, text, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_leave(p_event event_name, p_prefix text, p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_new_destination text, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_party_state_change(text, bigint, text, text, party_state, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_state_change(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_state party_state, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_party_transition_allowed(party_state, party_state); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_transition_allowed(p_from party_state, p_to party_state) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT (p_from, p_to) IN (('alerting', 'established'), ('alerting', 'held'), ('alerting', 'released'),
                              ('established', 'held'), ('established', 'released'),
                              ('held', 'established'), ('held', 'released'))
$$;

--
-- Name: ixn_publish(sessions, integer, ixn_event[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_publish(s sessions, p_reserved integer, p_events ixn_event[]) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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
    FOR k IN 1 .. n LOOP
        IF (p_events[k]).name IN ('interaction.added', 'interaction.onsinglesteptransfer',
                                  'interaction.singlesteptransfer.done', 'interaction.onsinglestepconference',
                                  'interaction.singlestepconference.done') THEN
            PERFORM ixn_track_event(s.session_id, s.last_seq + k, p_events[k]);
        END IF;
    END LOOP;
    RETURN QUERY
    INSERT INTO outbox (session_id, seq, name, attrs, node_id, epoch)
    SELECT s.session_id, s.last_seq + e.ord, e.name, e.attrs, s.owner_node, s.lease_epoch
      FROM unnest(p_events) WITH ORDINALITY AS e(name, attrs, ord)
    RETURNING *;
END $$;

--
-- Name: report_interactions; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW report_interactions AS
 SELECT i.session_id,
    i.interaction_id,
    i.media,
    i.type,
    i.state,
    i.controlled,
    i.owner_node,
    i.tenant_id,
    i.parent_id,
    i.created_at,
    i.deleted_at,
    i.abandoned_at,
    i.merged_into,
    i.moved_to,
    i.first_established_at,
    i.transfers,
    i.conferences,
    ixn_interaction_outcome(i.state, i.abandoned_at, (i.merged_into)::text, (i.moved_to)::text) AS outcome
   FROM interactions i;

--
-- Name: ixn_report_interactions(interaction_state, boolean, text, text, text, text, text, jsonb, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_report_interactions(p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text, p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz, p_ended_from timestamptz, p_ended_to timestamptz, p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows integer) RETURNS SETOF report_interactions
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN QUERY EXECUTE ixn_report_interactions_sql(p_state, p_live, p_media, p_session_id, p_node_id, p_resource,
        p_udata_key, p_udata_value, p_created_from, p_created_to, p_ended_from, p_ended_to,
        p_after_created_at, p_after_session_id, p_after_interaction_id, p_max_rows)
    USING p_state, p_live, p_media, p_session_id, p_node_id, p_resource, p_udata_key, p_udata_value,
          p_created_from, p_created_to, p_ended_from, p_ended_to,
          p_after_created_at, p_after_session_id, p_after_interaction_id, p_max_rows;
END $$;

--
-- Name: ixn_report_interactions_plan(interaction_state, boolean, text, text, text, text, text, jsonb, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_report_interactions_plan(p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text, p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz, p_ended_from timestamptz, p_ended_to timestamptz, p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows integer) RETURNS json
    LANGUAGE plpgsql
    AS $$ -- EXPLAIN may not run in a STABLE function
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || ixn_report_interactions_sql(p_state, p_live, p_media, p_session_id, p_node_id, p_resource,
        p_udata_key, p_udata_value, p_created_from, p_created_to, p_ended_from, p_ended_to,
        p_after_created_at, p_after_session_id, p_after_interaction_id, p_max_rows)
    INTO plan
    USING p_state, p_live, p_media, p_session_id, p_node_id, p_resource, p_udata_key, p_udata_value,
          p_created_from, p_created_to, p_ended_from, p_ended_to,
          p_after_created_at, p_after_session_id, p_after_interaction_id, p_max_rows;
    RETURN plan;
END $$;

--
-- Name: ixn_report_interactions_sql(interaction_state, boolean, text, text, text, text, text, jsonb, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_report_interactions_sql(p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text, p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz, p_ended_from timestamptz, p_ended_to timestamptz, p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $_$
DECLARE
    source text := 'interactions i';
    conds  text[] := '{}';
BEGIN
    -- Two filters find few rows that the planner expects to meet soon along the creation-time
    -- index, and it would walk that index (to its far end, for a recent end time or a quiet
    -- agent): their rows are found by their own index first, then sorted (OFFSET 0 keeps the
    -- subquery whole).
    IF p_resource IS NOT NULL THEN
        source := '(SELECT i.* FROM interaction_resources r JOIN interactions i'
               || ' ON i.session_id = r.session_id AND i.interaction_id = r.interaction_id'
               || ' WHERE r.resource = $6 OFFSET 0) i';
    ELSIF p_ended_from IS NOT NULL OR p_ended_to IS NOT NULL THEN
        source := '(SELECT * FROM interactions WHERE deleted_at >= coalesce($11, ''-infinity'')'
               || ' AND deleted_at < coalesce($12, ''infinity'') OFFSET 0) i';
    END IF;
    IF p_resource IS NOT NULL AND (p_ended_from IS NOT NULL OR p_ended_to IS NOT NULL) THEN
        conds := conds || 'i.deleted_at >= coalesce($11, ''-infinity'') AND i.deleted_at < coalesce($12, ''infinity'')'::text;
    END IF;
    IF p_state IS NOT NULL THEN conds := conds || 'i.state = $1'::text; END IF;
    IF p_live IS NOT NULL THEN conds := conds || '(i.state <> ''deleted'') = $2'::text; END IF;
    IF p_media IS NOT NULL THEN conds := conds || 'i.media = $3'::text; END IF;
    IF p_session_id IS NOT NULL THEN conds := conds || 'i.session_id = $4'::text; END IF;
    IF p_node_id IS NOT NULL THEN conds := conds || 'i.owner_node = $5'::text; END IF;
    IF p_udata_key IS NOT NULL THEN
        conds := conds || ('EXISTS (SELECT 1 FROM user_data u WHERE u.key = $7'
                           || CASE WHEN p_udata_value IS NOT NULL THEN ' AND u.value = $8' ELSE '' END
                           || ' AND u.session_id = i.session_id AND u.interaction_id = i.interaction_id)');
    END IF;
    IF p_created_from IS NOT NULL THEN conds := conds || 'i.created_at >= $9'::text; END IF;
    IF p_created_to IS NOT NULL THEN conds := conds || 'i.created_at < $10'::text; END IF;
    IF p_after_created_at IS NOT NULL THEN
        conds := conds || '(i.created_at, i.session_id, i.interaction_id) > ($13, $14, $15)'::text;
    END IF;
    -- The columns of report_interactions, in its order; $1..$16 are the parameters, in order.
    RETURN
        'SELECT i.session_id, i.interaction_id, i.media, i.type, i.state, i.controlled, i.owner_node, i.tenant_id,'
        || ' i.parent_id, i.created_at, i.deleted_at, i.abandoned_at, i.merged_into, i.moved_to,'
        || ' i.first_established_at, i.transfers, i.conferences,'
        || ' ixn_interaction_outcome(i.state, i.abandoned_at, i.merged_into, i.moved_to)'
        || ' FROM ' || source
        || ' WHERE ' || coalesce(nullif(array_to_string(conds, ' AND '), ''), 'true')
        || ' ORDER BY i.created_at, i.session_id, i.interaction_id LIMIT $16';
END $_$;

--
-- Name: ixn_request_check(text, action_name, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_check(p_session_id text, p_action action_name, p_interaction_id text, p_params jsonb) RETURNS text[]
    LANGUAGE plpgsql STABLE
    AS $$
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

--
-- Name: action_requests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE action_requests (
    session_id ixn_id NOT NULL,
    request_id ixn_id NOT NULL,
    action action_name NOT NULL,
    interaction_id ixn_id NOT NULL,
    media ixn_media,
    params jsonb NOT NULL,
    state request_state DEFAULT 'pending'::request_state NOT NULL,
    refused boolean DEFAULT false NOT NULL,
    error text,
    description text,
    outcome jsonb,
    answer_first_seq bigint,
    answer_last_seq bigint,
    node_id ixn_id,
    epoch bigint NOT NULL,
    timeout_ms bigint NOT NULL,
    deadline timestamptz NOT NULL,
    txid xid8 DEFAULT pg_current_xact_id() NOT NULL,
    id bigint NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    answered_at timestamptz
);

--
-- Name: ixn_request_create(text, bigint, text, action_name, text, jsonb, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_create(p_session_id text, p_epoch bigint, p_request_id text, p_action action_name, p_interaction_id text, p_params jsonb, p_timeout_ms bigint) RETURNS action_requests
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_request_done(text, text, jsonb, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_done(p_session_id text, p_request_id text, p_hints jsonb, p_party jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_request_error_event(action_name, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_error_event(p_action action_name, p_request_id text, p_error text, p_description text) RETURNS ixn_event
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT ixn_ev(('error.interaction.' || p_action)::event_name,
                  jsonb_build_object('requestid', p_request_id, 'error', p_error, 'description', p_description))
$$;

--
-- Name: ixn_request_expire(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_expire(p_session_id text, p_request_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_request_fail(sessions, action_requests, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_fail(s sessions, r action_requests, p_error text, p_description text, p_outcome jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE action_requests
       SET state = 'failed', error = p_error, description = p_description, outcome = p_outcome,
           answer_first_seq = s.last_seq + 1, answer_last_seq = s.last_seq + 1, answered_at = now()
     WHERE session_id = r.session_id AND request_id = r.request_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, ARRAY[
        ixn_request_error_event(r.action, r.request_id, p_error, p_description)]);
END $$;

--
-- Name: ixn_request_fail_report(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_fail_report(p_session_id text, p_request_id text, p_error text, p_description text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_request_party(text, text, text, party_state[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_party(p_session_id text, p_interaction_id text, p_resource text, p_states party_state[]) RETURNS parties
    LANGUAGE sql STABLE
    AS $$
    SELECT * FROM parties
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state <> 'released'
       AND (resource = p_resource OR (p_resource IS NULL AND state = ANY (p_states)))
     ORDER BY state = ANY (p_states) DESC, created_at, party_id
     LIMIT 1
$$;

--
-- Name: ixn_request_replay(action_requests, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_replay(r action_requests, p_outcome jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_session_claim(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_claim(p_session_id text, p_node_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
DECLARE
    s     sessions := ixn_session_row(p_session_id);
    owner nodes;
BEGIN
    IF s.state <> 'active' THEN
        RAISE EXCEPTION 'session % has ended', p_session_id USING ERRCODE = 'IXSE0';
    END IF;
    PERFORM ixn_node_live(p_node_id);
    IF s.owner_node IS DISTINCT FROM p_node_id THEN
        SELECT * INTO owner FROM nodes WHERE node_id = s.owner_node;
        IF FOUND AND ixn_node_alive(owner) THEN
            RAISE EXCEPTION 'session % is held by live node % (lease until %)', p_session_id, owner.node_id,
                owner.lease_expires_at USING ERRCODE = 'IXLH0';
        END IF;
    END IF;
    RETURN QUERY SELECT * FROM ixn_session_take(p_session_id, p_node_id);
END $$;

--
-- Name: ixn_session_end(text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_end(p_session_id text, p_epoch bigint) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_session_lock(text, bigint, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_lock(p_session_id text, p_epoch bigint, p_reserve integer) RETURNS sessions
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_session_release(text, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_release(p_session_id text, p_epoch bigint, p_to_node text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
DECLARE
    s sessions := ixn_session_lock(p_session_id, p_epoch, 0);
BEGIN
    IF p_to_node IS NOT NULL THEN
        PERFORM ixn_node_live(p_to_node);
        RETURN QUERY SELECT * FROM ixn_session_take(p_session_id, p_to_node);
        RETURN;
    END IF;
    UPDATE sessions SET owner_node = NULL, lease_epoch = lease_epoch + 1 WHERE session_id = p_session_id;
    UPDATE interactions SET owner_node = NULL WHERE session_id = p_session_id AND state <> 'deleted';
END $$;

--
-- Name: ixn_session_row(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_row(p_session_id text) RETURNS sessions
    LANGUAGE plpgsql
    AS $$
DECLARE
    s sessions;
BEGIN
    SELECT * INTO s FROM sessions WHERE session_id = p_session_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % not found', p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    RETURN s;
END $$;

--
-- Name: ixn_session_take(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_take(p_session_id text, p_node_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
DECLARE
    s sessions;
BEGIN
    UPDATE sessions SET owner_node = p_node_id, lease_epoch = lease_epoch + 1, updated_at = now()
     WHERE session_id = p_session_id
    RETURNING * INTO s;
    UPDATE interactions SET owner_node = p_node_id WHERE session_id = p_session_id AND state <> 'deleted';
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, ARRAY(
        SELECT ixn_ev('interaction.restored', jsonb_build_object('interactionid', interaction_id))
          FROM interactions
         WHERE session_id = p_session_id AND state <> 'deleted'
         ORDER BY created_at, interaction_id));
END $$;

--
-- Name: ixn_single_step_conference(text, bigint, text, text, text, text, party_state, party_role, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_single_step_conference(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_added_party_id text, p_added_resource text, p_added_state party_state, p_added_role party_role, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: ixn_track_connect(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_track_connect() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE interactions SET first_established_at = now()
     WHERE session_id = NEW.session_id AND interaction_id = NEW.interaction_id AND first_established_at IS NULL;
    RETURN NULL;
END $$;

--
-- Name: ixn_track_event(text, bigint, ixn_event); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_track_event(p_session_id text, p_seq bigint, e ixn_event) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF e.name = 'interaction.added' THEN
        INSERT INTO interaction_origins (session_id, interaction_id, seq, parties)
        SELECT p_session_id, e.attrs->>'interactionid', p_seq,
               coalesce(jsonb_agg(jsonb_build_object('party_id', party_id, 'resource', resource, 'state', state)
                                  ORDER BY created_at, party_id), '[]')
          FROM parties
         WHERE session_id = p_session_id AND interaction_id = e.attrs->>'interactionid';
    ELSIF e.name IN ('interaction.onsinglesteptransfer', 'interaction.singlesteptransfer.done') THEN
        UPDATE interactions SET transfers = transfers + 1
         WHERE session_id = p_session_id AND interaction_id = e.attrs->>'interactionid';
    ELSE
        UPDATE interactions SET conferences = conferences + 1
         WHERE session_id = p_session_id AND interaction_id = e.attrs->>'interactionid';
    END IF;
END $$;

--
-- Name: ixn_track_party_insert(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_track_party_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
    SELECT DISTINCT ON (a.session_id, a.interaction_id, a.resource) a.session_id, a.interaction_id, a.resource,
           a.party_id, a.role, i.created_at
      FROM added a
      JOIN interactions i ON i.session_id = a.session_id AND i.interaction_id = a.interaction_id
     ORDER BY a.session_id, a.interaction_id, a.resource, a.party_id
    ON CONFLICT DO NOTHING;
    UPDATE interactions i SET first_established_at = now()
      FROM (SELECT DISTINCT session_id, interaction_id FROM added WHERE state = 'established') a
     WHERE i.session_id = a.session_id AND i.interaction_id = a.interaction_id AND i.first_established_at IS NULL;
    RETURN NULL;
END $$;

--
-- Name: ixn_track_party_move(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_track_party_move() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
    SELECT NEW.session_id, NEW.interaction_id, NEW.resource, NEW.party_id, NEW.role, i.created_at
      FROM interactions i
     WHERE i.session_id = NEW.session_id AND i.interaction_id = NEW.interaction_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

--
-- Name: ixn_track_readd(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_track_readd() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.moved_to := NULL;
    NEW.first_established_at := NULL;
    NEW.transfers := 0;
    NEW.conferences := 0;
    DELETE FROM interaction_resources WHERE session_id = NEW.session_id AND interaction_id = NEW.interaction_id;
    RETURN NEW;
END $$;

--
-- Name: ixn_udata_write(text, bigint, text, jsonb, boolean, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_udata_write(p_session_id text, p_epoch bigint, p_interaction_id text, p_data jsonb, p_replace boolean, p_from_media boolean) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: action_requests_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE action_requests ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME action_requests_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: dispatcher_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE dispatcher_state (
    singleton boolean DEFAULT true NOT NULL,
    cursor_txid xid8 DEFAULT '0'::xid8 NOT NULL,
    cursor_id bigint DEFAULT 0 NOT NULL,
    last_pub_seq bigint DEFAULT 0 NOT NULL,
    leader text,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT dispatcher_state_singleton_check CHECK (singleton)
);

--
-- Name: interaction_origins; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE interaction_origins (
    session_id ixn_id NOT NULL,
    interaction_id ixn_id NOT NULL,
    seq bigint NOT NULL,
    parties jsonb NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL
);

--
-- Name: interaction_resources; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE interaction_resources (
    session_id ixn_id NOT NULL,
    interaction_id ixn_id NOT NULL,
    resource ixn_name NOT NULL,
    party_id ixn_id NOT NULL,
    role party_role NOT NULL,
    joined_at timestamptz DEFAULT now() NOT NULL,
    interaction_created_at timestamptz NOT NULL
);

--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: publication; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE publication (
    pub_seq bigint NOT NULL,
    txid xid8 NOT NULL,
    outbox_id bigint NOT NULL,
    session_id text NOT NULL COLLATE pg_catalog."C",
    seq bigint NOT NULL,
    node_id text COLLATE pg_catalog."C",
    published_at timestamptz DEFAULT now() NOT NULL
);

--
-- Name: user_data; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE user_data (
    session_id ixn_id NOT NULL,
    interaction_id ixn_id NOT NULL,
    key ixn_name NOT NULL,
    value jsonb NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT user_data_value_check CHECK ((jsonb_typeof(value) <> 'null'::text))
);

--
-- Name: action_requests action_requests_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY action_requests
    ADD CONSTRAINT action_requests_pkey PRIMARY KEY (session_id, request_id);

--
-- Name: dispatcher_state dispatcher_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY dispatcher_state
    ADD CONSTRAINT dispatcher_state_pkey PRIMARY KEY (singleton);

--
-- Name: interaction_origins interaction_origins_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY interaction_origins
    ADD CONSTRAINT interaction_origins_pkey PRIMARY KEY (session_id, interaction_id, seq);

--
-- Name: interaction_resources interaction_resources_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY interaction_resources
    ADD CONSTRAINT interaction_resources_pkey PRIMARY KEY (session_id, interaction_id, resource);

--
-- Name: interactions interactions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY interactions
    ADD CONSTRAINT interactions_pkey PRIMARY KEY (session_id, interaction_id);

--
-- Name: nodes nodes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY nodes
    ADD CONSTRAINT nodes_pkey PRIMARY KEY (node_id);

--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (session_id, seq);

--
-- Name: parties parties_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY parties
    ADD CONSTRAINT parties_pkey PRIMARY KEY (session_id, interaction_id, party_id);

--
-- Name: publication publication_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY publication
    ADD CONSTRAINT publication_pkey PRIMARY KEY (pub_seq);

--
-- Name: publication publication_session_id_seq_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY publication
    ADD CONSTRAINT publication_session_id_seq_key UNIQUE (session_id, seq);

--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (session_id);

--
-- Name: user_data user_data_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY user_data
    ADD CONSTRAINT user_data_pkey PRIMARY KEY (session_id, interaction_id, key);

--
-- Name: action_requests_deadline_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX action_requests_deadline_idx ON action_requests USING btree (deadline) WHERE (state = 'pending'::request_state);

--
-- Name: action_requests_feed_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX action_requests_feed_idx ON action_requests USING btree (txid, id) WHERE (state = 'pending'::request_state);

--
-- Name: interaction_origins_created_at_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interaction_origins_created_at_brin ON interaction_origins USING brin (created_at);

--
-- Name: interaction_resources_created_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interaction_resources_created_idx ON interaction_resources USING btree (interaction_created_at) INCLUDE (session_id, interaction_id, resource) WHERE (role <> 'customer'::party_role);

--
-- Name: interaction_resources_resource_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interaction_resources_resource_idx ON interaction_resources USING btree (resource, joined_at);

--
-- Name: interactions_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interactions_created_at_idx ON interactions USING btree (created_at, session_id, interaction_id);

--
-- Name: interactions_deleted_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interactions_deleted_at_idx ON interactions USING btree (deleted_at) WHERE (deleted_at IS NOT NULL);

--
-- Name: interactions_interaction_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interactions_interaction_id_idx ON interactions USING btree (interaction_id);

--
-- Name: interactions_live_uq; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX interactions_live_uq ON interactions USING btree (interaction_id) WHERE (state <> 'deleted'::interaction_state);

--
-- Name: interactions_owner_node_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interactions_owner_node_idx ON interactions USING btree (owner_node, created_at);

--
-- Name: outbox_created_at_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_created_at_brin ON outbox USING brin (created_at);

--
-- Name: outbox_txid_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_txid_id_idx ON outbox USING btree (txid, id);

--
-- Name: parties_resource_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX parties_resource_idx ON parties USING btree (resource);

--
-- Name: publication_node_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX publication_node_idx ON publication USING btree (node_id, pub_seq);

--
-- Name: sessions_owner_node_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_owner_node_idx ON sessions USING btree (owner_node);

--
-- Name: sessions_unowned_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_unowned_idx ON sessions USING btree (session_id) WHERE ((state = 'active'::session_state) AND (owner_node IS NULL));

--
-- Name: user_data_key_value_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX user_data_key_value_idx ON user_data USING btree (key, value);

--
-- Name: interactions interactions_owner_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER interactions_owner_insert BEFORE INSERT ON interactions FOR EACH ROW WHEN ((new.owner_node IS NULL)) EXECUTE FUNCTION ixn_interaction_owner();

--
-- Name: interactions interactions_owner_readd; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER interactions_owner_readd BEFORE UPDATE OF state ON interactions FOR EACH ROW WHEN (((old.state = 'deleted'::interaction_state) AND (new.state <> 'deleted'::interaction_state))) EXECUTE FUNCTION ixn_interaction_owner();

--
-- Name: interactions interactions_track_readd; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER interactions_track_readd BEFORE UPDATE OF state ON interactions FOR EACH ROW WHEN (((old.state = 'deleted'::interaction_state) AND (new.state <> 'deleted'::interaction_state))) EXECUTE FUNCTION ixn_track_readd();

--
-- Name: parties parties_track_connect; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER parties_track_connect AFTER UPDATE OF state ON parties FOR EACH ROW WHEN (((old.state = 'alerting'::party_state) AND (new.state = 'established'::party_state))) EXECUTE FUNCTION ixn_track_connect();

--
-- Name: parties parties_track_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER parties_track_insert AFTER INSERT ON parties REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ixn_track_party_insert();

--
-- Name: parties parties_track_move; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER parties_track_move AFTER UPDATE OF interaction_id ON parties FOR EACH ROW WHEN (((old.interaction_id)::text IS DISTINCT FROM (new.interaction_id)::text)) EXECUTE FUNCTION ixn_track_party_move();

--
-- Name: action_requests action_requests_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY action_requests
    ADD CONSTRAINT action_requests_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions(session_id);

--
-- Name: interaction_resources interaction_resources_session_id_interaction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY interaction_resources
    ADD CONSTRAINT interaction_resources_session_id_interaction_id_fkey FOREIGN KEY (session_id, interaction_id) REFERENCES interactions(session_id, interaction_id) ON DELETE CASCADE;

--
-- Name: interactions interactions_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY interactions
    ADD CONSTRAINT interactions_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions(session_id);

--
-- Name: parties parties_session_id_interaction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY parties
    ADD CONSTRAINT parties_session_id_interaction_id_fkey FOREIGN KEY (session_id, interaction_id) REFERENCES interactions(session_id, interaction_id) ON DELETE CASCADE;

--
-- Name: user_data user_data_session_id_interaction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY user_data
    ADD CONSTRAINT user_data_session_id_interaction_id_fkey FOREIGN KEY (session_id, interaction_id) REFERENCES interactions(session_id, interaction_id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
