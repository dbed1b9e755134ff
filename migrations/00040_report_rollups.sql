-- +goose Up
-- Hourly rollups of the aggregates report (docs/reporting.md, "Rollups"), kept off the write
-- path by one worker that follows the publication order (rollup/).
--
-- An interaction counts in the hour it was created, once it has ended (state deleted): what
-- it ended as, how long it took, how long until a party was connected, its transfers and
-- conferences. Live interactions are never in the rollups; the report reads them from the rows.
--
-- Where the worker stands: the last publication number it applied (the rollups hold the
-- effect of every event up to it), and settled_before: every interaction that ended before it
-- is counted as it is now, so a report reads only the interactions that ended since from the
-- rows. One row per worker name; the worker holds an advisory lock of its own, as the NATS
-- bridge does.
CREATE TABLE report_rollup_state (
    name           text        PRIMARY KEY CHECK (name <> '' AND length(name) <= 255),
    last_pub_seq   bigint      NOT NULL DEFAULT 0 CHECK (last_pub_seq >= 0),
    -- (The epoch, not -infinity, which Go cannot hold: nothing is settled yet.)
    settled_before timestamptz NOT NULL DEFAULT '1970-01-01 00:00:00+00',
    -- The instance that moved the position last, for operators and tests.
    leader         text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- What each ended interaction (one stay in a session) added to the rollups, so that a change
-- the worker sees again, or an interaction added anew to its session, takes back exactly what
-- was added: applying an event twice changes nothing.
CREATE TABLE report_rollup_counted (
    session_id     ixn_id      NOT NULL,
    interaction_id ixn_id      NOT NULL,
    -- The hour of its creation, and its groups: media, owner node ('' for none), and the
    -- resources other than a customer's among its parties.
    hour           timestamptz NOT NULL,
    media          text        NOT NULL,
    node           text        NOT NULL,
    resources      text[]      NOT NULL,
    outcome        text        NOT NULL,
    -- Microseconds from added to deleted, and to the first connected party (NULL: never).
    handle_us      bigint      NOT NULL,
    connect_us     bigint,
    transfers      int         NOT NULL,
    conferences    int         NOT NULL,
    PRIMARY KEY (session_id, interaction_id)
);

-- One hour of one group (dim: media, node or resource; key: its value). Histograms are sparse:
-- bucket numbers ascending (rollup/histogram.go says which durations each holds) and the count
-- of each.
CREATE TABLE report_rollups (
    dim            text        NOT NULL CHECK (dim IN ('media', 'node', 'resource')),
    hour           timestamptz NOT NULL,
    key            text        NOT NULL,
    total          bigint      NOT NULL,
    completed      bigint      NOT NULL,
    abandoned      bigint      NOT NULL,
    merged         bigint      NOT NULL,
    moved          bigint      NOT NULL,
    handle_sum_us  bigint      NOT NULL,
    handle_buckets int[]       NOT NULL,
    handle_counts  bigint[]    NOT NULL,
    connected      bigint      NOT NULL,
    connect_sum_us bigint      NOT NULL,
    connect_buckets int[]      NOT NULL,
    connect_counts bigint[]    NOT NULL,
    transfers      bigint      NOT NULL,
    conferences    bigint      NOT NULL,
    PRIMARY KEY (dim, hour, key)
);

-- An agent's list (the reports' list filtered by a resource) in its order: the resource's
-- interactions by creation time, session and interaction, read along the index and stopped
-- at the page's end instead of sorting every interaction the agent ever had.
CREATE INDEX interaction_resources_list_idx
    ON interaction_resources (resource, interaction_created_at, session_id, interaction_id);

-- +goose Down
DROP INDEX interaction_resources_list_idx;
DROP TABLE report_rollups;
DROP TABLE report_rollup_counted;
DROP TABLE report_rollup_state;
