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
    'released',
    'routing',
    'queued',
    'treatment',
    'dialing'
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
)
WITH (autovacuum_vacuum_scale_factor='0', autovacuum_vacuum_threshold='20000');

--
-- Name: ixn_abandon(text, bigint, text, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_abandon(p_session_id text, p_epoch bigint, p_interaction_id text, p_focus_resource text, p_reason text, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_abandon.sql $$;

--
-- Name: ixn_archive_remove(text[], bytea[], timestamptz, timestamptz); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_archive_remove(p_session_ids text[], p_digests bytea[], p_ended_from timestamptz, p_ended_before timestamptz) RETURNS TABLE(session_id text, interactions bigint)
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_archive_remove.sql $$;

--
-- Name: ixn_archive_restore(json); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_archive_restore(p_rows json) RETURNS TABLE(session_id text)
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_archive_restore.sql $$;

--
-- Name: ixn_archive_rows(text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_archive_rows(p_session_ids text[]) RETURNS TABLE(tab integer, session_id text, line text)
    LANGUAGE sql STABLE
    SET "TimeZone" TO 'UTC'
    AS $$ -- the body: sql/functions/ixn_archive_rows.sql $$;

--
-- Name: session_checkpoints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE session_checkpoints (
    session_id ixn_id NOT NULL,
    version bigint NOT NULL,
    datamodel jsonb NOT NULL,
    configuration text[] DEFAULT '{}'::text[] NOT NULL,
    timers jsonb DEFAULT '[]'::jsonb NOT NULL,
    epoch bigint NOT NULL,
    node_id text,
    written_at timestamptz DEFAULT now() NOT NULL,
    size_bytes integer NOT NULL,
    CONSTRAINT session_checkpoints_datamodel_check CHECK ((jsonb_typeof(datamodel) = 'object'::text)),
    CONSTRAINT session_checkpoints_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT session_checkpoints_timers_check CHECK ((jsonb_typeof(timers) = 'array'::text)),
    CONSTRAINT session_checkpoints_version_check CHECK ((version > 0))
)
WITH (fillfactor='50');
ALTER TABLE ONLY session_checkpoints ALTER COLUMN datamodel SET COMPRESSION lz4;
ALTER TABLE ONLY session_checkpoints ALTER COLUMN timers SET COMPRESSION lz4;

--
-- Name: ixn_checkpoint_write(text, bigint, bigint, jsonb, text[], jsonb, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_checkpoint_write(p_session_id text, p_epoch bigint, p_expected_version bigint, p_datamodel jsonb, p_configuration text[], p_timers jsonb, p_keep integer, p_size integer) RETURNS session_checkpoints
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_checkpoint_write.sql $$;

--
-- Name: ixn_duration_bucket(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_duration_bucket(p_us bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ -- the body: sql/functions/ixn_duration_bucket.sql $$;

--
-- Name: ixn_duration_text(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_duration_text(p_ms bigint) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ -- the body: sql/functions/ixn_duration_text.sql $$;

--
-- Name: ixn_ev(event_name, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_ev(p_name event_name, p_attrs jsonb) RETURNS ixn_event
    LANGUAGE sql IMMUTABLE
    AS $$ -- the body: sql/functions/ixn_ev.sql $$;

--
-- Name: ixn_histogram_entries(bytea); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_histogram_entries(p_hist bytea) RETURNS TABLE(bucket integer, n bigint)
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ -- the body: sql/functions/ixn_histogram_entries.sql $$;

--
-- Name: idempotency_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE idempotency_keys (
    session_id ixn_id NOT NULL,
    key text NOT NULL COLLATE pg_catalog."C",
    request_hash bytea NOT NULL,
    status smallint,
    body bytea,
    created_at timestamptz DEFAULT now() NOT NULL,
    expires_at timestamptz NOT NULL
);

--
-- Name: ixn_idempotency_begin(text, text, bytea, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_idempotency_begin(p_session_id text, p_key text, p_hash bytea, p_ttl_ms bigint) RETURNS SETOF idempotency_keys
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_idempotency_begin.sql $$;

--
-- Name: ixn_interaction_add(text, bigint, text, text, interaction_type, text, text, jsonb, jsonb, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_add(p_session_id text, p_epoch bigint, p_interaction_id text, p_media text, p_type interaction_type, p_parent_id text, p_tenant_id text, p_parties jsonb, p_udata jsonb, p_properties jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_interaction_add.sql $$;

--
-- Name: ixn_interaction_condition(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_condition(p_session_id text, p_interaction_id text) RETURNS text
    LANGUAGE sql STABLE
    AS $$ -- the body: sql/functions/ixn_interaction_condition.sql $$;

--
-- Name: ixn_interaction_delete(text, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_delete(p_session_id text, p_epoch bigint, p_interaction_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_interaction_delete.sql $$;

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
    properties jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT interactions_check CHECK (((NOT controlled) OR (state = 'present'::interaction_state))),
    CONSTRAINT interactions_check1 CHECK (((state = 'deleted'::interaction_state) = (deleted_at IS NOT NULL))),
    CONSTRAINT interactions_properties_object CHECK ((jsonb_typeof(properties) = 'object'::text))
)
WITH (fillfactor='80');

--
-- Name: ixn_interaction_drop(interactions); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_drop(i interactions) RETURNS ixn_event[]
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_interaction_drop.sql $$;

--
-- Name: ixn_interaction_live(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_live(p_session_id text, p_interaction_id text) RETURNS interactions
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_interaction_live.sql $$;

--
-- Name: ixn_interaction_notcontrolled(text, bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_notcontrolled(p_session_id text, p_epoch bigint, p_interaction_id text, p_resultof text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_interaction_notcontrolled.sql $$;

--
-- Name: ixn_interaction_outcome(interaction_state, timestamptz, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_outcome(p_state interaction_state, p_abandoned_at timestamptz, p_merged_into text, p_moved_to text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ -- the body: sql/views/report_interactions.sql $$;

--
-- Name: ixn_interaction_present(text, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_present(p_session_id text, p_epoch bigint, p_interaction_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_interaction_present.sql $$;

--
-- Name: ixn_interaction_properties(text, bigint, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_interaction_properties(p_session_id text, p_epoch bigint, p_interaction_id text, p_properties jsonb) RETURNS interactions
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_interaction_properties.sql $$;

--
-- Name: ixn_live_enter(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_live_enter(p_session_id text, p_interaction_id text) RETURNS void
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_live_enter.sql $$;

--
-- Name: ixn_merge(text, bigint, text, text, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_merge(p_session_id text, p_epoch bigint, p_from_id text, p_to_id text, p_active_party_id text, p_held_party_id text, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_merge.sql $$;

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
    AS $$ -- the body: sql/functions/ixn_node_alive.sql $$;

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
    AS $$ -- the body: sql/functions/ixn_node_leave.sql $$;

--
-- Name: ixn_node_live(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_node_live(p_node_id text) RETURNS nodes
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_node_live.sql $$;

--
-- Name: ixn_party_add(text, bigint, text, text, text, party_state, party_role); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_add(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_resource text, p_state party_state, p_role party_role) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_party_add.sql $$;

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
    AS $$ -- the body: sql/functions/ixn_party_attrs.sql $$;

--
-- Name: ixn_party_delete(text, bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_delete(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_party_delete.sql $$;

--
-- Name: ixn_party_get(text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_get(p_session_id text, p_interaction_id text, p_party_id text) RETURNS parties
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_party_get.sql $$;

--
-- Name: ixn_party_leave(event_name, text, text, bigint, text, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_leave(p_event event_name, p_prefix text, p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_new_destination text, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_party_leave.sql $$;

--
-- Name: ixn_party_leaving(text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_leaving(p_session_id text, p_interaction_id text, p_party_id text) RETURNS parties
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_party_leaving.sql $$;

--
-- Name: ixn_party_state_change(text, bigint, text, text, party_state, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_state_change(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_state party_state, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_party_state_change.sql $$;

--
-- Name: ixn_party_state_changes(text[], bigint[], text[], text[], text[], jsonb[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_state_changes(p_session_ids text[], p_epochs bigint[], p_interaction_ids text[], p_party_ids text[], p_states text[], p_hints jsonb[]) RETURNS TABLE(item integer, err_code text, err_message text, err_constraint text, ev outbox)
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_party_state_changes.sql $$;

--
-- Name: ixn_party_transition_allowed(party_state, party_state); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_party_transition_allowed(p_from party_state, p_to party_state) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ -- the body: sql/functions/ixn_party_transition_allowed.sql $$;

--
-- Name: ixn_publication_days(timestamptz, timestamptz); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_publication_days(p_from timestamptz, p_to timestamptz) RETURNS integer
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_publication_days.sql $$;

--
-- Name: ixn_publication_days_kept(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_publication_days_kept() RETURNS TABLE(day date, relname text, events_about bigint, bytes bigint)
    LANGUAGE sql STABLE
    AS $$ -- the body: sql/functions/ixn_publication_days_kept.sql $$;

--
-- Name: ixn_publication_drop(timestamptz, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_publication_drop(p_before timestamptz, p_max integer) RETURNS TABLE(day date, events_about bigint)
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_publication_drop.sql $$;

--
-- Name: ixn_publication_move(bigint, bigint, xid8, bigint, text, bigint[], bigint[], bigint[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_publication_move(p_previous_pub_seq bigint, p_last_pub_seq bigint, p_cursor_txid xid8, p_cursor_id bigint, p_leader text, p_pub_seqs bigint[], p_txids bigint[], p_ids bigint[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_publication_move.sql $$;

--
-- Name: ixn_publish(sessions, integer, ixn_event[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_publish(s sessions, p_reserved integer, p_events ixn_event[]) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_publish.sql $$;

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
    ixn_interaction_outcome(i.state, i.abandoned_at, (i.merged_into)::text, (i.moved_to)::text) AS outcome,
    i.properties
   FROM interactions i;

--
-- Name: ixn_report_interactions(interaction_state, boolean, text, text, text, text, text, jsonb, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_report_interactions(p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text, p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz, p_ended_from timestamptz, p_ended_to timestamptz, p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows integer) RETURNS SETOF report_interactions
    LANGUAGE plpgsql STABLE
    AS $$ -- the body: sql/views/report_interactions.sql $$;

--
-- Name: ixn_report_interactions_plan(interaction_state, boolean, text, text, text, text, text, jsonb, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_report_interactions_plan(p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text, p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz, p_ended_from timestamptz, p_ended_to timestamptz, p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows integer) RETURNS json
    LANGUAGE plpgsql
    AS $$ -- the body: sql/views/report_interactions.sql $$;

--
-- Name: ixn_report_interactions_sql(interaction_state, boolean, text, text, text, text, text, jsonb, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_report_interactions_sql(p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text, p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz, p_ended_from timestamptz, p_ended_to timestamptz, p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$ -- the body: sql/views/report_interactions.sql $$;

--
-- Name: ixn_request_check(text, action_name, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_check(p_session_id text, p_action action_name, p_interaction_id text, p_params jsonb) RETURNS text[]
    LANGUAGE plpgsql STABLE
    AS $$ -- the body: sql/functions/ixn_request_check.sql $$;

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
    AS $$ -- the body: sql/functions/ixn_request_create.sql $$;

--
-- Name: ixn_request_done(text, text, jsonb, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_done(p_session_id text, p_request_id text, p_hints jsonb, p_party jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_request_done.sql $$;

--
-- Name: ixn_request_error_event(action_name, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_error_event(p_action action_name, p_request_id text, p_error text, p_description text) RETURNS ixn_event
    LANGUAGE sql IMMUTABLE
    AS $$ -- the body: sql/functions/ixn_request_error_event.sql $$;

--
-- Name: ixn_request_expire(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_expire(p_session_id text, p_request_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_request_expire.sql $$;

--
-- Name: ixn_request_fail(sessions, action_requests, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_fail(s sessions, r action_requests, p_error text, p_description text, p_outcome jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_request_fail.sql $$;

--
-- Name: ixn_request_fail_report(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_fail_report(p_session_id text, p_request_id text, p_error text, p_description text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_request_fail_report.sql $$;

--
-- Name: ixn_request_party(text, text, text, party_state[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_party(p_session_id text, p_interaction_id text, p_resource text, p_states party_state[]) RETURNS parties
    LANGUAGE sql STABLE
    AS $$ -- the body: sql/functions/ixn_request_party.sql $$;

--
-- Name: ixn_request_replay(action_requests, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_request_replay(r action_requests, p_outcome jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_request_replay.sql $$;

--
-- Name: ixn_session_claim(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_claim(p_session_id text, p_node_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_session_claim.sql $$;

--
-- Name: ixn_session_end(text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_end(p_session_id text, p_epoch bigint) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_session_end.sql $$;

--
-- Name: ixn_session_lock(text, bigint, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_lock(p_session_id text, p_epoch bigint, p_reserve integer) RETURNS sessions
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_session_lock.sql $$;

--
-- Name: ixn_session_release(text, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_release(p_session_id text, p_epoch bigint, p_to_node text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_session_release.sql $$;

--
-- Name: ixn_session_row(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_row(p_session_id text) RETURNS sessions
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_session_row.sql $$;

--
-- Name: ixn_session_take(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_session_take(p_session_id text, p_node_id text) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_session_take.sql $$;

--
-- Name: ixn_sessions_assign(text[], text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_sessions_assign(p_session_ids text[], p_node_ids text[]) RETURNS TABLE(session_id text, node_id text)
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_sessions_assign.sql $$;

--
-- Name: ixn_single_step_conference(text, bigint, text, text, text, text, party_state, party_role, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_single_step_conference(p_session_id text, p_epoch bigint, p_interaction_id text, p_party_id text, p_added_party_id text, p_added_resource text, p_added_state party_state, p_added_role party_role, p_hints jsonb) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_single_step_conference.sql $$;

--
-- Name: ixn_track_event(text, bigint, ixn_event); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_track_event(p_session_id text, p_seq bigint, e ixn_event) RETURNS void
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_track_event.sql $$;

--
-- Name: ixn_track_parties(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_track_parties(p_session_id text, p_interaction_id text) RETURNS void
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_track_parties.sql $$;

--
-- Name: ixn_track_party(parties); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_track_party(p parties) RETURNS void
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_track_party.sql $$;

--
-- Name: ixn_udata_write(text, bigint, text, jsonb, boolean, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION ixn_udata_write(p_session_id text, p_epoch bigint, p_interaction_id text, p_data jsonb, p_replace boolean, p_from_media boolean) RETURNS SETOF outbox
    LANGUAGE plpgsql
    AS $$ -- the body: sql/functions/ixn_udata_write.sql $$;

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
-- Name: api_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE api_tokens (
    id bigint NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    node_id ixn_id,
    secret_hash bytea NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT api_tokens_check CHECK (((role = 'node'::text) = (node_id IS NOT NULL))),
    CONSTRAINT api_tokens_name_check CHECK (((name <> ''::text) AND (length(name) <= 200))),
    CONSTRAINT api_tokens_role_check CHECK ((role = ANY (ARRAY['node'::text, 'adapter'::text, 'reporting'::text, 'admin'::text]))),
    CONSTRAINT api_tokens_secret_hash_check CHECK ((length(secret_hash) = 32))
);

--
-- Name: api_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE api_tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME api_tokens_id_seq
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
-- Name: publication; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE publication (
    pub_seq bigint NOT NULL,
    published_at timestamptz NOT NULL,
    id bigint NOT NULL,
    session_id ixn_id NOT NULL,
    seq bigint NOT NULL,
    name event_name NOT NULL,
    attrs jsonb NOT NULL,
    node_id ixn_id,
    epoch bigint NOT NULL,
    txid xid8 NOT NULL,
    created_at timestamptz NOT NULL
)
PARTITION BY RANGE (published_at);

--
-- Name: events; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW events AS
 SELECT p.id,
    p.session_id,
    p.seq,
    p.name,
    p.attrs,
    p.node_id,
    p.epoch,
    p.txid,
    p.created_at
   FROM publication p
UNION ALL
 SELECT o.id,
    o.session_id,
    o.seq,
    o.name,
    o.attrs,
    o.node_id,
    o.epoch,
    o.txid,
    o.created_at
   FROM outbox o;

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
-- Name: live_interactions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE live_interactions (
    interaction_id ixn_id NOT NULL,
    session_id ixn_id NOT NULL
);

--
-- Name: nats_bridge_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE nats_bridge_state (
    stream text NOT NULL,
    last_pub_seq bigint DEFAULT 0 NOT NULL,
    leader text,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT nats_bridge_state_last_pub_seq_check CHECK ((last_pub_seq >= 0)),
    CONSTRAINT nats_bridge_state_stream_check CHECK (((stream <> ''::text) AND (length(stream) <= 255)))
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
-- Name: report_interaction_facts; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW report_interaction_facts AS
 SELECT i.session_id,
    i.interaction_id,
    i.created_at,
    date_trunc('hour'::text, i.created_at, 'UTC'::text) AS hour,
    (i.media)::text AS media,
    COALESCE((i.owner_node)::text, ''::text) AS node,
    ixn_interaction_outcome(i.state, i.abandoned_at, (i.merged_into)::text, (i.moved_to)::text) AS outcome,
    (i.state = 'deleted'::interaction_state) AS ended,
    i.deleted_at,
    ((EXTRACT(epoch FROM (i.deleted_at - i.created_at)) * (1000000)::numeric))::bigint AS handle_us,
    ((EXTRACT(epoch FROM (i.first_established_at - i.created_at)) * (1000000)::numeric))::bigint AS connect_us,
    i.transfers,
    i.conferences,
    ARRAY( SELECT (r.resource)::text AS resource
           FROM interaction_resources r
          WHERE (((r.session_id)::text = (i.session_id)::text) AND ((r.interaction_id)::text = (i.interaction_id)::text) AND (r.role <> 'customer'::party_role) AND (r.interaction_created_at = i.created_at))
          ORDER BY r.resource) AS resources
   FROM interactions i;

--
-- Name: report_rollup_counted; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE report_rollup_counted (
    session_id ixn_id NOT NULL,
    interaction_id ixn_id NOT NULL,
    hour timestamptz NOT NULL,
    media text NOT NULL,
    node text NOT NULL,
    resources text[] NOT NULL,
    outcome text NOT NULL,
    handle_us bigint,
    connect_us bigint,
    transfers integer NOT NULL,
    conferences integer NOT NULL,
    created_at timestamptz,
    handle_bucket integer,
    connect_bucket integer
);

--
-- Name: report_rollup_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE report_rollup_state (
    name text NOT NULL,
    last_pub_seq bigint DEFAULT 0 NOT NULL,
    settled_before timestamptz DEFAULT '1970-01-01 00:00:00+00'::timestamptz NOT NULL,
    leader text,
    updated_at timestamptz DEFAULT now() NOT NULL,
    counts_live boolean DEFAULT false NOT NULL,
    CONSTRAINT report_rollup_state_last_pub_seq_check CHECK ((last_pub_seq >= 0)),
    CONSTRAINT report_rollup_state_name_check CHECK (((name <> ''::text) AND (length(name) <= 255)))
);

--
-- Name: report_rollups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE report_rollups (
    dim text NOT NULL,
    hour timestamptz NOT NULL,
    key text NOT NULL,
    total bigint NOT NULL,
    completed bigint NOT NULL,
    abandoned bigint NOT NULL,
    merged bigint NOT NULL,
    moved bigint NOT NULL,
    handle_sum_us bigint NOT NULL,
    connected bigint NOT NULL,
    connect_sum_us bigint NOT NULL,
    transfers bigint NOT NULL,
    conferences bigint NOT NULL,
    live bigint DEFAULT 0 NOT NULL,
    hours integer DEFAULT 1 NOT NULL,
    handle_hist bytea NOT NULL,
    connect_hist bytea NOT NULL,
    CONSTRAINT report_rollups_aligned CHECK ((hour = date_bin(make_interval(hours => hours), hour, '2000-01-01 00:00:00+00'::timestamptz))),
    CONSTRAINT report_rollups_dim_check CHECK ((dim = ANY (ARRAY['media'::text, 'node'::text, 'resource'::text]))),
    CONSTRAINT report_rollups_hours_check CHECK ((hours = ANY (ARRAY[1, 2, 4, 8, 24])))
);

--
-- Name: session_checkpoint_history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE session_checkpoint_history (
    session_id ixn_id NOT NULL,
    version bigint NOT NULL,
    datamodel jsonb NOT NULL,
    configuration text[] DEFAULT '{}'::text[] NOT NULL,
    timers jsonb DEFAULT '[]'::jsonb NOT NULL,
    epoch bigint NOT NULL,
    node_id text,
    written_at timestamptz DEFAULT now() NOT NULL,
    size_bytes integer NOT NULL,
    CONSTRAINT session_checkpoints_datamodel_check CHECK ((jsonb_typeof(datamodel) = 'object'::text)),
    CONSTRAINT session_checkpoints_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT session_checkpoints_timers_check CHECK ((jsonb_typeof(timers) = 'array'::text)),
    CONSTRAINT session_checkpoints_version_check CHECK ((version > 0))
);
ALTER TABLE ONLY session_checkpoint_history ALTER COLUMN datamodel SET COMPRESSION lz4;
ALTER TABLE ONLY session_checkpoint_history ALTER COLUMN timers SET COMPRESSION lz4;

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
-- Name: api_tokens api_tokens_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY api_tokens
    ADD CONSTRAINT api_tokens_name_key UNIQUE (name);

--
-- Name: api_tokens api_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

--
-- Name: api_tokens api_tokens_secret_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY api_tokens
    ADD CONSTRAINT api_tokens_secret_hash_key UNIQUE (secret_hash);

--
-- Name: dispatcher_state dispatcher_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY dispatcher_state
    ADD CONSTRAINT dispatcher_state_pkey PRIMARY KEY (singleton);

--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (session_id, key);

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
-- Name: live_interactions live_interactions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY live_interactions
    ADD CONSTRAINT live_interactions_pkey PRIMARY KEY (interaction_id);

--
-- Name: nats_bridge_state nats_bridge_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY nats_bridge_state
    ADD CONSTRAINT nats_bridge_state_pkey PRIMARY KEY (stream);

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
-- Name: report_rollup_counted report_rollup_counted_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY report_rollup_counted
    ADD CONSTRAINT report_rollup_counted_pkey PRIMARY KEY (session_id, interaction_id);

--
-- Name: report_rollup_state report_rollup_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY report_rollup_state
    ADD CONSTRAINT report_rollup_state_pkey PRIMARY KEY (name);

--
-- Name: report_rollups report_rollups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY report_rollups
    ADD CONSTRAINT report_rollups_pkey PRIMARY KEY (dim, hours, hour, key);

--
-- Name: session_checkpoint_history session_checkpoint_history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY session_checkpoint_history
    ADD CONSTRAINT session_checkpoint_history_pkey PRIMARY KEY (session_id, version);

--
-- Name: session_checkpoints session_checkpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY session_checkpoints
    ADD CONSTRAINT session_checkpoints_pkey PRIMARY KEY (session_id);

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
-- Name: idempotency_keys_expires_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys USING btree (expires_at);

--
-- Name: interaction_origins_created_at_brin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interaction_origins_created_at_brin ON interaction_origins USING brin (created_at);

--
-- Name: interaction_resources_created_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interaction_resources_created_idx ON interaction_resources USING btree (interaction_created_at) INCLUDE (session_id, interaction_id, resource) WHERE (role <> 'customer'::party_role);

--
-- Name: interaction_resources_list_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interaction_resources_list_idx ON interaction_resources USING btree (resource, interaction_created_at, session_id, interaction_id);

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
-- Name: interactions_live_media_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interactions_live_media_idx ON interactions USING btree (media, state) WHERE (state <> 'deleted'::interaction_state);

--
-- Name: interactions_owner_node_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX interactions_owner_node_idx ON interactions USING btree (owner_node, created_at);

--
-- Name: outbox_txid_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_txid_id_idx ON outbox USING btree (txid, id);

--
-- Name: parties_resource_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX parties_resource_idx ON parties USING btree (resource);

--
-- Name: publication_pub_seq_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX publication_pub_seq_idx ON ONLY publication USING btree (pub_seq);

--
-- Name: publication_session_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX publication_session_idx ON ONLY publication USING btree (session_id);

--
-- Name: report_rollup_counted_created_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX report_rollup_counted_created_idx ON report_rollup_counted USING btree (created_at);

--
-- Name: sessions_active_owner_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_active_owner_idx ON sessions USING btree (owner_node) WHERE (state = 'active'::session_state);

--
-- Name: sessions_ended_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_ended_at_idx ON sessions USING btree (ended_at, session_id) WHERE (state = 'ended'::session_state);

--
-- Name: sessions_owner_node_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_owner_node_idx ON sessions USING btree (owner_node, session_id);

--
-- Name: sessions_unowned_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_unowned_idx ON sessions USING btree (session_id) WHERE ((state = 'active'::session_state) AND (owner_node IS NULL));

--
-- Name: user_data_key_value_hash_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX user_data_key_value_hash_idx ON user_data USING btree (key, jsonb_hash_extended(value, (0)::bigint));

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
-- Name: session_checkpoint_history session_checkpoint_history_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY session_checkpoint_history
    ADD CONSTRAINT session_checkpoint_history_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions(session_id) ON DELETE CASCADE;

--
-- Name: session_checkpoints session_checkpoints_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY session_checkpoints
    ADD CONSTRAINT session_checkpoints_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions(session_id) ON DELETE CASCADE;

--
-- Name: user_data user_data_session_id_interaction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY user_data
    ADD CONSTRAINT user_data_session_id_interaction_id_fkey FOREIGN KEY (session_id, interaction_id) REFERENCES interactions(session_id, interaction_id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
