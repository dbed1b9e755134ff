-- +goose Up
-- The archive (archive/, docs/operations.md) takes the sessions that ended on a day, oldest day
-- first: an index of ended sessions by the time they ended finds a day's sessions, and the
-- oldest day, without reading every session. It is partial, so active sessions (the ones the
-- write path updates) carry no entry; a session gets its entry once, when it ends. The id
-- after the time lets a large day be listed a page at a time, in the order of the index.
CREATE INDEX sessions_ended_at_idx ON sessions (ended_at, session_id) WHERE state = 'ended';

-- +goose Down
DROP INDEX IF EXISTS sessions_ended_at_idx;
