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

-- +goose Up

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

-- +goose Down
DROP TABLE dispatcher_state;
DROP TABLE publication;
DROP INDEX outbox_txid_id_idx;
