-- +goose Up
-- Where each NATS JetStream bridge stands: the last publication number JetStream acknowledged
-- for the stream (every event up to it is stored there). One row per stream name, so pointing
-- the bridge at a new stream starts that stream from the beginning of what is kept.
CREATE TABLE nats_bridge_state (
    stream       text        PRIMARY KEY CHECK (stream <> '' AND length(stream) <= 255),
    last_pub_seq bigint      NOT NULL DEFAULT 0 CHECK (last_pub_seq >= 0),
    -- The instance that moved the position last, for operators and tests.
    leader       text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE nats_bridge_state;
