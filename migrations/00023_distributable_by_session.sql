-- +goose Up
-- The schema made distributable by session (docs/scale-out.md): on Citus every per-session
-- table is sharded by session_id, and what spans sessions can no longer be an index or a
-- trigger.
--
-- "An interaction is live in at most one session" was a unique index on interactions
-- (interaction_id) WHERE state <> 'deleted': one index over every session, which a table
-- sharded by session cannot have. It becomes a table of its own, keyed by the interaction,
-- written only when an interaction enters a session (added, associated) or leaves it
-- (deleted, merged, terminated, moved, its session ended). On Citus it is sharded by
-- interaction_id, so the guard of an interaction is one row on one shard, whatever session
-- holds it. session_id is the session it is live in.
CREATE TABLE live_interactions (
    interaction_id ixn_id NOT NULL PRIMARY KEY,
    session_id     ixn_id NOT NULL
);
INSERT INTO live_interactions (interaction_id, session_id)
SELECT interaction_id, session_id FROM interactions WHERE state <> 'deleted';
DROP INDEX interactions_live_uq;

-- The triggers on interactions and parties kept reporting facts (owner, resources, first
-- connection, a re-added interaction's reset). Citus refuses to distribute a table with
-- triggers; the SQL functions that write those tables now keep the facts themselves
-- (sql/functions/ixn_track_party.sql, ixn_track_parties.sql and the writers).
DROP TRIGGER IF EXISTS interactions_owner_insert ON interactions;
DROP TRIGGER IF EXISTS interactions_owner_readd ON interactions;
DROP TRIGGER IF EXISTS interactions_track_readd ON interactions;
DROP TRIGGER IF EXISTS parties_track_connect ON parties;
DROP TRIGGER IF EXISTS parties_track_insert ON parties;
DROP TRIGGER IF EXISTS parties_track_move ON parties;
DROP FUNCTION IF EXISTS ixn_interaction_owner();
DROP FUNCTION IF EXISTS ixn_track_readd();
DROP FUNCTION IF EXISTS ixn_track_connect();
DROP FUNCTION IF EXISTS ixn_track_party_insert();
DROP FUNCTION IF EXISTS ixn_track_party_move();

-- One type for every session id (and node id): publication's were text COLLATE "C", the
-- ixn_id domain everywhere else. Citus colocates and joins only columns of one type; the
-- values are the same (every one came from an ixn_id column), so nothing is rewritten.
ALTER TABLE publication ALTER COLUMN session_id TYPE ixn_id, ALTER COLUMN node_id TYPE ixn_id;

-- +goose Down
ALTER TABLE publication ALTER COLUMN session_id TYPE text COLLATE "C", ALTER COLUMN node_id TYPE text COLLATE "C";
CREATE UNIQUE INDEX interactions_live_uq ON interactions (interaction_id) WHERE state <> 'deleted';
DROP TABLE live_interactions;
