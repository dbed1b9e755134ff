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

CREATE TABLE sessions (
    session_id       ixn_id        PRIMARY KEY,
    tenant_id        ixn_id,
    state            session_state NOT NULL DEFAULT 'active',
    -- Ownership under a lease: the routing node that runs the session, and the fencing epoch
    -- every write of that node must carry (raised by each takeover).
    owner_node       ixn_id,
    lease_epoch      bigint        NOT NULL DEFAULT 1,
    lease_expires_at timestamptz,
    -- The sequence number of the session's last event. Taken under this row's lock, held to
    -- commit, so the numbers of one session are 1, 2, 3, ... in commit order, with no gap.
    last_seq         bigint        NOT NULL DEFAULT 0,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    ended_at         timestamptz
) WITH (fillfactor = 70); -- room on the page for HOT updates: every change updates its session

CREATE INDEX sessions_owner_node_idx ON sessions (owner_node) WHERE state = 'active';

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
    PRIMARY KEY (session_id, interaction_id),
    CHECK (NOT controlled OR state = 'present'),
    CHECK ((state = 'deleted') = (deleted_at IS NOT NULL))
) WITH (fillfactor = 80);

-- An interaction is live in at most one session at a time; a finished one may come back in
-- another session later (a call routed again), which is why the key includes the session.
CREATE UNIQUE INDEX interactions_live_uq ON interactions (interaction_id) WHERE state <> 'deleted';
CREATE INDEX interactions_created_at_idx ON interactions (created_at);

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

CREATE INDEX user_data_key_idx ON user_data (key);

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

-- +goose Down
DROP TABLE outbox;
DROP TABLE user_data;
DROP TABLE parties;
DROP TABLE interactions;
DROP TABLE sessions;
DROP TYPE event_name, session_state, interaction_state, interaction_type, party_state, party_role;
DROP DOMAIN ixn_id, ixn_name, ixn_media;
