-- +goose Up
-- The console's overview (GET /v1/overview) counts what is live several times a second while
-- a supervisor watches. Two partial indexes hold just the live rows, with the columns it
-- groups by, so each count is an index-only scan of the live part (thousands of entries),
-- not a read of every interaction or session ever kept.
CREATE INDEX interactions_live_media_idx ON interactions (media, state) WHERE state <> 'deleted';
CREATE INDEX sessions_active_owner_idx ON sessions (owner_node) WHERE state = 'active';

-- +goose Down
DROP INDEX sessions_active_owner_idx;
DROP INDEX interactions_live_media_idx;
