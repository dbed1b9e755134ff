-- +goose Up
-- session_checkpoints: what a routing node needs, beyond the interactions ixnstore already
-- keeps, to continue an SCXML session on another node (ORS's persisted session): the data
-- model, the active state configuration and the scheduled timers (delayed <send>s). One row a
-- version; the highest version is the current checkpoint, the few before it are kept for audit
-- (the writer prunes to the number the service is configured with).
CREATE TABLE session_checkpoints (
    session_id    ixn_id      NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
    version       bigint      NOT NULL CHECK (version > 0),
    datamodel     jsonb       NOT NULL CHECK (jsonb_typeof(datamodel) = 'object'),
    configuration text[]      NOT NULL DEFAULT '{}',
    -- Each timer an object {sendid, event, target, data, due_at}; due_at is in the database's
    -- time (a delay given by the node is turned into due_at by the database's clock), so a
    -- claim on another node computes the time left without trusting either node's clock.
    timers        jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(timers) = 'array'),
    epoch         bigint      NOT NULL,
    node_id       text,
    written_at    timestamptz NOT NULL DEFAULT now(),
    size_bytes    integer     NOT NULL CHECK (size_bytes >= 0),
    PRIMARY KEY (session_id, version)
);

-- Data models are JSON of some kilobytes, mostly text: lz4 compresses them about as well as
-- pglz at a fraction of the CPU (the server must be built with lz4, as PostgreSQL 15 of the
-- distributions is).
ALTER TABLE session_checkpoints ALTER COLUMN datamodel SET COMPRESSION lz4;
ALTER TABLE session_checkpoints ALTER COLUMN timers SET COMPRESSION lz4;

-- +goose Down
DROP FUNCTION IF EXISTS ixn_checkpoint_write(text, bigint, bigint, jsonb, text[], jsonb, integer, integer);
DROP TABLE session_checkpoints;
