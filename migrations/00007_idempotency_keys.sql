-- +goose Up
-- The answers to writes sent with an Idempotency-Key, kept with the session they wrote to, so
-- that a retry of the same request gets the first answer and writes nothing
-- (sql/functions/ixn_idempotency_begin.sql). No foreign key to sessions: a session's creation
-- records its key before the session's row exists, in the same transaction; sessions are
-- never deleted, and every key is removed once it expires (upkeep).
CREATE TABLE idempotency_keys (
    session_id   ixn_id NOT NULL,
    key          text COLLATE "C" NOT NULL,
    -- sha256 of what makes the request (method, path, query, lease epoch, body).
    request_hash bytea NOT NULL,
    -- The first answer, as sent; NULL only inside the transaction that writes it.
    status       smallint,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (session_id, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- A node's sessions are listed in pages by session id (GET /v1/sessions?owner_node=): the
-- owner's index carries the id, so a page is read in order, not sorted from all of them.
DROP INDEX sessions_owner_node_idx;
CREATE INDEX sessions_owner_node_idx ON sessions (owner_node, session_id);

-- +goose Down
DROP INDEX sessions_owner_node_idx;
CREATE INDEX sessions_owner_node_idx ON sessions (owner_node);
DROP TABLE idempotency_keys;
