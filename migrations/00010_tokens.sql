-- +goose Up
-- API tokens. Only a token's SHA-256 is kept: the token itself is shown once, when it is
-- made, and a copy of this table (a backup, a replica) lets no one in. A node token is bound
-- to the one routing node it may act as.
CREATE TABLE api_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 200),
    role        text        NOT NULL CHECK (role IN ('node', 'adapter', 'reporting', 'admin')),
    node_id     ixn_id,
    secret_hash bytea       NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz,
    CHECK ((role = 'node') = (node_id IS NOT NULL))
);

-- +goose Down
DROP TABLE api_tokens;
