-- The baseline: the tables, types and indexes of ixnstore as they stood when the history of
-- migrations was squashed (nothing had been released). The functions, triggers and views are
-- not migrations: they are the files of sql/, applied after the migrations whenever they
-- changed (migrations.go).
--
-- The state of SCXML sessions and their interactions, and the outbox of the interaction
-- events those states cause. Every state table carries session_id so that the schema can be
-- distributed by session (Citus: session_id is the distribution column).

-- +goose Up

-- The interaction events of the Genesys 8.1 SCXML reference (service/catalog/events.tsv).
-- An enum keeps the outbox honest: a misspelt event name cannot be written.
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

-- Values are typed by enums and domains rather than by CHECK constraints on the tables:
-- PostgreSQL re-reads and re-plans a table's CHECK expressions for every statement that
-- writes the table, and sessions, interactions and parties are written by every state change,
-- while an enum or a domain is checked where a value is written, from cached definitions.
-- Identifiers of sessions, interactions, parties, nodes and tenants. Collation "C": they are
-- compared byte by byte, which is what an identifier means and several times cheaper in the
-- indexes every change and every publication walks than a language's collation.
CREATE DOMAIN ixn_id AS text COLLATE "C" CHECK (VALUE ~ '^[A-Za-z0-9._:@-]+$' AND length(VALUE) <= 128);
-- Free text that names something (a device, a destination, a user data key):
CREATE DOMAIN ixn_name AS text CHECK (length(VALUE) BETWEEN 1 AND 256);
-- voice, chat, email, sms, ...:
CREATE DOMAIN ixn_media AS text CHECK (VALUE ~ '^[a-z][a-z0-9_-]*$' AND length(VALUE) <= 32);

CREATE TYPE session_state AS ENUM ('active', 'ended');
-- added: in the session, not yet presented; present: presented to the session;
-- deleted: no longer in the session (finished, moved to another session, merged).
CREATE TYPE interaction_state AS ENUM ('added', 'present', 'deleted');
CREATE TYPE interaction_type AS ENUM ('inbound', 'outbound', 'internal', 'consult', 'callback');
CREATE TYPE party_state AS ENUM ('alerting', 'established', 'held', 'released');
CREATE TYPE party_role AS ENUM ('customer', 'agent', 'supervisor', 'device', 'external', 'unknown');

-- An event as the state-change functions of sql/functions pass it to ixn_publish.
CREATE TYPE ixn_event AS (name event_name, attrs jsonb);

CREATE TABLE sessions (
    session_id       ixn_id        PRIMARY KEY,
    tenant_id        ixn_id,
    state            session_state NOT NULL DEFAULT 'active',
    -- Ownership under a lease: the routing node that runs the session, and the fencing epoch
    -- every write of that node must carry (raised by each takeover). A session's lease is its
    -- owner's (nodes.lease_expires_at): there is no lease time per session.
    owner_node       ixn_id,
    lease_epoch      bigint        NOT NULL DEFAULT 1,
    -- The sequence number of the session's last event. Taken under this row's lock, held to
    -- commit, so the numbers of one session are 1, 2, 3, ... in commit order, with no gap.
    last_seq         bigint        NOT NULL DEFAULT 0,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    ended_at         timestamptz
) WITH (fillfactor = 70); -- room on the page for HOT updates: every change updates its session

-- A node's sessions whether active or not (reporting).
CREATE INDEX sessions_owner_node_idx ON sessions (owner_node);
-- Unowned active sessions, found without scanning the owned ones.
CREATE INDEX sessions_unowned_idx ON sessions (session_id) WHERE state = 'active' AND owner_node IS NULL;

CREATE TABLE interactions (
    session_id     ixn_id            NOT NULL REFERENCES sessions (session_id),
    interaction_id ixn_id            NOT NULL,
    media          ixn_media         NOT NULL,
    type           interaction_type  NOT NULL,
    state          interaction_state NOT NULL DEFAULT 'added',
    -- Whether the session may act on the interaction: from interaction.present until
    -- interaction.notcontrolled.
    controlled     boolean           NOT NULL DEFAULT false,
    parent_id      ixn_id,
    merged_into    ixn_id,
    tenant_id      ixn_id,
    abandoned_at   timestamptz,
    created_at     timestamptz       NOT NULL DEFAULT now(),
    updated_at     timestamptz       NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    -- The session an interaction moved to by an associate, for reporting how it left this one.
    moved_to       ixn_id,
    -- The node that owns an interaction's session while the interaction is live, kept when it
    -- ends: the node that handled it, for reports by node without reading every session.
    owner_node     ixn_id,
    -- Reporting facts (see interaction_resources below): when a party was first connected,
    -- and the transfers and conferences the events told of.
    first_established_at timestamptz,
    transfers      int               NOT NULL DEFAULT 0,
    conferences    int               NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, interaction_id),
    CHECK (NOT controlled OR state = 'present'),
    CHECK ((state = 'deleted') = (deleted_at IS NOT NULL))
) WITH (fillfactor = 80);

-- An interaction is live in at most one session at a time; a finished one may come back in
-- another session later (a call routed again), which is why the key includes the session.
CREATE UNIQUE INDEX interactions_live_uq ON interactions (interaction_id) WHERE state <> 'deleted';
-- Indexes for the reporting queries: keyset order of the interaction list, the end time, an
-- interaction in any session, a node's interactions.
CREATE INDEX interactions_created_at_idx ON interactions (created_at, session_id, interaction_id);
CREATE INDEX interactions_deleted_at_idx ON interactions (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX interactions_interaction_id_idx ON interactions (interaction_id);
CREATE INDEX interactions_owner_node_idx ON interactions (owner_node, created_at);

CREATE TABLE parties (
    session_id     ixn_id      NOT NULL,
    interaction_id ixn_id      NOT NULL,
    party_id       ixn_id      NOT NULL,
    -- The device id of the party: focusresource in the events.
    resource       ixn_name    NOT NULL,
    state          party_state NOT NULL,
    role           party_role  NOT NULL DEFAULT 'unknown',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, interaction_id, party_id),
    FOREIGN KEY (session_id, interaction_id) REFERENCES interactions (session_id, interaction_id) ON DELETE CASCADE
) WITH (fillfactor = 80);

CREATE INDEX parties_resource_idx ON parties (resource);

CREATE TABLE user_data (
    session_id     ixn_id      NOT NULL,
    interaction_id ixn_id      NOT NULL,
    key            ixn_name    NOT NULL,
    value          jsonb       NOT NULL CHECK (jsonb_typeof(value) <> 'null'),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, interaction_id, key),
    FOREIGN KEY (session_id, interaction_id) REFERENCES interactions (session_id, interaction_id) ON DELETE CASCADE
);

-- User data by key and value (reporting).
CREATE INDEX user_data_key_value_idx ON user_data (key, value);

-- One row per interaction event, written in the transaction of the state change that caused
-- it. (session_id, seq) is the event's place in its session's order and the key; id is the
-- event's stable identity, the same on every delivery of it, unique because only the
-- identity sequence assigns it (GENERATED ALWAYS), so no second index is paid for on every
-- write. No foreign key to sessions: events outlive purged sessions.
CREATE TABLE outbox (
    id         bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    session_id ixn_id      NOT NULL,
    seq        bigint      NOT NULL,
    name       event_name  NOT NULL,
    attrs      jsonb       NOT NULL, -- an object, written only by ixn_publish
    -- The session's owner and lease epoch when the event was written.
    node_id    ixn_id,
    epoch      bigint      NOT NULL,
    -- The writing transaction: its id (for commit-order reading) and its start time.
    txid       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, seq)
);

-- Rows arrive in time order, so a BRIN index finds a time range (retention, reporting) for
-- almost nothing on the write path, where a btree would add a third index insert per event.
CREATE INDEX outbox_created_at_brin ON outbox USING brin (created_at);

-- Publication: the dispatcher reads the outbox in commit order and gives each event its place
-- in one total order, the publication sequence (pub_seq), which subscribers resume from.
--
-- Reading in commit order without skipping a late commit: an outbox row is taken only once
-- its transaction id is below the oldest transaction still running
-- (pg_snapshot_xmin(pg_current_snapshot())): every transaction below that has ended, so no
-- row below it can still appear. Rows are taken in (txid, id) order from a stored cursor.
-- Within one session, a later event can have the smaller transaction id (it got its id before
-- it waited for the session's lock); the dispatcher then publishes the session's missing
-- earlier events first, so a session's events are always published in seq order.
CREATE INDEX outbox_txid_id_idx ON outbox (txid, id);

CREATE TABLE publication (
    pub_seq      bigint      PRIMARY KEY,
    -- The event's outbox row, by the key of outbox_txid_id_idx: integers, and in nearly the
    -- order of publication, so that a stream's reads walk that index instead of jumping
    -- about the primary key.
    txid         xid8        NOT NULL,
    outbox_id    bigint      NOT NULL,
    -- Copied from the outbox, already checked there: plain text in the identifiers' collation,
    -- not the domain, whose check would be paid again for every event published.
    session_id   text        COLLATE "C" NOT NULL,
    seq          bigint      NOT NULL,
    -- The session's owner when the event was written: what a node's stream filters on.
    node_id      text        COLLATE "C",
    published_at timestamptz NOT NULL DEFAULT now(),
    -- An event is published once.
    UNIQUE (session_id, seq)
);

CREATE INDEX publication_node_idx ON publication (node_id, pub_seq);

-- The dispatcher's position, one row. Only the dispatcher holding the advisory lock writes it.
CREATE TABLE dispatcher_state (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    -- The last outbox row taken, in (txid, id) order.
    cursor_txid  xid8        NOT NULL DEFAULT '0',
    cursor_id    bigint      NOT NULL DEFAULT 0,
    last_pub_seq bigint      NOT NULL DEFAULT 0,
    leader       text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO dispatcher_state DEFAULT VALUES;

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

CREATE INDEX action_requests_deadline_idx ON action_requests (deadline) WHERE state = 'pending';
CREATE INDEX action_requests_feed_idx ON action_requests (txid, id) WHERE state = 'pending';

-- Routing nodes and session ownership. A node registers and heartbeats; each heartbeat
-- renews the node's lease, and with it the lease of every session the node owns. A session
-- whose owner's lease has lapsed (or that has no owner) is orphaned: another node may claim
-- it. A claim, a release and a handover each raise the session's lease_epoch, the fencing
-- number every write of the owner carries (X-Lease-Epoch): a write with an older epoch is
-- refused by ixn_session_lock, inside the write's own transaction, under the session's lock.
--
-- Time is the database's (now()), never a node's clock.
CREATE TABLE nodes (
    node_id          ixn_id      PRIMARY KEY,
    address          text,
    -- How many sessions the node takes; orphans are assigned by spare capacity.
    capacity         int         NOT NULL,
    lease_ms         bigint      NOT NULL,
    lease_expires_at timestamptz NOT NULL,
    -- false once the node has left in order (it released its sessions).
    live             boolean     NOT NULL DEFAULT true,
    registered_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at     timestamptz NOT NULL DEFAULT now()
);

-- Reporting: what supervisors and reporting jobs ask of the interactions, answered from
-- indexes without slowing the writers.
--
-- Facts the state changes do not keep by themselves are derived where they happen, by
-- triggers (sql/triggers), so that every path that causes them is covered:
--   interaction_resources   every resource (device) that was ever a party of an interaction:
--                           parties rows are deleted when parties leave, and "the calls agent
--                           7001 handled" must still find them
--   interaction_origins     the parties an interaction had when it was added (they come
--                           without events, "from the beginning"), from which its state at any
--                           past event can be rebuilt
--   first_established_at    when a party was first connected (alerting → established, or
--                           added established)
--   transfers, conferences  counted from the events that say so
-- The triggers fire on inserts of parties and on the rare party update that connects a
-- ringing party: the hot path, a party's state changing between established and held, pays
-- nothing. What the events themselves say (an interaction added, a transfer, a conference) is
-- taken where every event is written, in ixn_publish: a row trigger on the outbox, even one
-- whose WHEN is false, cost every change about 5% (its WHEN is prepared again for every
-- statement), where a test of the event names in ixn_publish costs nothing measurable.
CREATE TABLE interaction_resources (
    session_id     ixn_id      NOT NULL,
    interaction_id ixn_id      NOT NULL,
    resource       ixn_name    NOT NULL,
    -- The first party at the resource, its role, and when it joined.
    party_id       ixn_id      NOT NULL,
    role           party_role  NOT NULL,
    joined_at      timestamptz NOT NULL DEFAULT now(),
    -- The interaction's, so that a window of interactions finds its resources by index.
    interaction_created_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, interaction_id, resource),
    FOREIGN KEY (session_id, interaction_id) REFERENCES interactions (session_id, interaction_id) ON DELETE CASCADE
);
CREATE INDEX interaction_resources_resource_idx ON interaction_resources (resource, joined_at);
-- A window's agents and devices, read from the index alone: the aggregates by resource.
CREATE INDEX interaction_resources_created_idx ON interaction_resources (interaction_created_at)
    INCLUDE (session_id, interaction_id, resource) WHERE role <> 'customer';

CREATE TABLE interaction_origins (
    session_id     ixn_id      NOT NULL,
    interaction_id ixn_id      NOT NULL,
    -- The seq of its interaction.added in the session.
    seq            bigint      NOT NULL,
    -- [{party_id, resource, state}] as it was added.
    parties        jsonb       NOT NULL,
    -- Pruned with the events (retention): a rebuild needs both.
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, interaction_id, seq)
);
CREATE INDEX interaction_origins_created_at_brin ON interaction_origins USING brin (created_at);

-- The files of sql/ last applied, by their content's hash: a file is executed again when its
-- hash differs from the one recorded here, or when the migration version it was applied at
-- is not the database's (a migration may have dropped or changed what it made).
CREATE TABLE schema_code (
    file              text        PRIMARY KEY,
    sha256            text        NOT NULL,
    migration_version bigint      NOT NULL,
    applied_at        timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
-- The code of sql/ is built on these tables and types. Its functions go first: some take only
-- text and would outlive the tables; CASCADE takes the triggers and the view with them.
-- +goose StatementBegin
DO $$
DECLARE
    fns text;
BEGIN
    SELECT string_agg(p.oid::regprocedure::text, ', ') INTO fns
      FROM pg_proc p
     WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'ixn\_%';
    IF fns IS NOT NULL THEN
        EXECUTE 'DROP FUNCTION ' || fns || ' CASCADE';
    END IF;
END $$;
-- +goose StatementEnd
DROP TABLE schema_code;
DROP TABLE interaction_origins, interaction_resources;
DROP TABLE nodes;
DROP TABLE action_requests;
DROP TABLE dispatcher_state;
DROP TABLE publication;
DROP TABLE outbox;
DROP TABLE user_data;
DROP TABLE parties;
DROP TABLE interactions;
DROP TABLE sessions;
DROP TYPE ixn_event;
DROP TYPE event_name, session_state, interaction_state, interaction_type, party_state, party_role,
    action_name, request_state;
DROP DOMAIN ixn_id, ixn_name, ixn_media;
