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

CREATE TABLE sessions (
    session_id       text        PRIMARY KEY CHECK (session_id ~ '^[A-Za-z0-9._:@-]{1,128}$'),
    tenant_id        text        CHECK (length(tenant_id) BETWEEN 1 AND 128),
    state            text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'ended')),
    -- Ownership under a lease: the routing node that runs the session, and the fencing epoch
    -- every write of that node must carry (raised by each takeover).
    owner_node       text        CHECK (length(owner_node) BETWEEN 1 AND 128),
    lease_epoch      bigint      NOT NULL DEFAULT 1 CHECK (lease_epoch > 0),
    lease_expires_at timestamptz,
    -- The sequence number of the session's last event. Taken under this row's lock, held to
    -- commit, so the numbers of one session are 1, 2, 3, ... in commit order, with no gap.
    last_seq         bigint      NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    CHECK ((state = 'ended') = (ended_at IS NOT NULL))
) WITH (fillfactor = 70);

CREATE INDEX sessions_owner_node_idx ON sessions (owner_node) WHERE state = 'active';

CREATE TABLE interactions (
    session_id     text        NOT NULL REFERENCES sessions (session_id),
    interaction_id text        NOT NULL CHECK (interaction_id ~ '^[A-Za-z0-9._:@-]{1,128}$'),
    media          text        NOT NULL CHECK (media ~ '^[a-z][a-z0-9_-]{0,31}$'),
    type           text        NOT NULL CHECK (type IN ('inbound', 'outbound', 'internal', 'consult', 'callback')),
    -- added: in the session, not yet presented; present: presented to the session;
    -- deleted: no longer in the session (finished, moved to another session, merged).
    state          text        NOT NULL DEFAULT 'added' CHECK (state IN ('added', 'present', 'deleted')),
    -- Whether the session may act on the interaction: from interaction.present until
    -- interaction.notcontrolled.
    controlled     boolean     NOT NULL DEFAULT false,
    parent_id      text        CHECK (length(parent_id) BETWEEN 1 AND 128),
    merged_into    text,
    tenant_id      text        CHECK (length(tenant_id) BETWEEN 1 AND 128),
    abandoned_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    PRIMARY KEY (session_id, interaction_id),
    CHECK (NOT controlled OR state = 'present'),
    CHECK ((state = 'deleted') = (deleted_at IS NOT NULL)),
    CHECK (parent_id IS DISTINCT FROM interaction_id)
) WITH (fillfactor = 80);

-- An interaction is live in at most one session at a time; a finished one may come back in
-- another session later (a call routed again), which is why the key includes the session.
CREATE UNIQUE INDEX interactions_live_uq ON interactions (interaction_id) WHERE state <> 'deleted';
CREATE INDEX interactions_created_at_idx ON interactions (created_at);

CREATE TABLE parties (
    session_id     text        NOT NULL,
    interaction_id text        NOT NULL,
    party_id       text        NOT NULL CHECK (party_id ~ '^[A-Za-z0-9._:@-]{1,128}$'),
    -- The device id of the party: focusresource in the events.
    resource       text        NOT NULL CHECK (length(resource) BETWEEN 1 AND 256),
    state          text        NOT NULL CHECK (state IN ('alerting', 'established', 'held', 'released')),
    role           text        NOT NULL DEFAULT 'unknown'
                               CHECK (role IN ('customer', 'agent', 'supervisor', 'device', 'external', 'unknown')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, interaction_id, party_id),
    FOREIGN KEY (session_id, interaction_id) REFERENCES interactions (session_id, interaction_id) ON DELETE CASCADE
) WITH (fillfactor = 80);

CREATE INDEX parties_resource_idx ON parties (resource);

CREATE TABLE user_data (
    session_id     text        NOT NULL,
    interaction_id text        NOT NULL,
    key            text        NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
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
    session_id text        NOT NULL,
    seq        bigint      NOT NULL CHECK (seq > 0),
    name       event_name  NOT NULL,
    attrs      jsonb       NOT NULL CHECK (jsonb_typeof(attrs) = 'object'),
    -- The session's owner and lease epoch when the event was written.
    node_id    text,
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
DROP TYPE event_name;
