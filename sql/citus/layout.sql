-- The Citus layout of ixnstore: which table is sharded by what, which is copied to every
-- worker, which stays on the coordinator. Applied once, on the coordinator, after the
-- migrations and the code, by `ixnstore migrate --citus up` (docs/scale-out.md). It is not a
-- migration: a single PostgreSQL never runs it. migrations/citus_test.go runs it on plain
-- PostgreSQL against stand-ins of these Citus functions that refuse what Citus refuses, and
-- fails when a table of the schema is left out of it.
--
-- Every table is named once below, by one of:
--   create_distributed_table(t, 'session_id', colocate_with => 'sessions')
--       per-session state: every row, key and foreign key carries session_id, so a change
--       to a session reads and writes one shard;
--   create_distributed_table('live_interactions', 'interaction_id', colocate_with => 'none')
--       the guard that an interaction is live in at most one session, one row per
--       interaction, written only when an interaction enters or leaves a session;
--   create_reference_table(t)
--       small, rarely written, read by the state changes on every shard;
--   citus_add_local_table_to_metadata(t)
--       the coordinator's own: the dispatcher's publication and position, the tokens the
--       API checks.

-- The colocation group of every per-session table. Referenced tables come before the tables
-- whose foreign keys point at them.
SELECT create_distributed_table('sessions', 'session_id');
SELECT create_distributed_table('interactions', 'session_id', colocate_with => 'sessions');
SELECT create_distributed_table('parties', 'session_id', colocate_with => 'sessions');
SELECT create_distributed_table('user_data', 'session_id', colocate_with => 'sessions');
SELECT create_distributed_table('interaction_resources', 'session_id', colocate_with => 'sessions');
SELECT create_distributed_table('interaction_origins', 'session_id', colocate_with => 'sessions');
SELECT create_distributed_table('outbox', 'session_id', colocate_with => 'sessions');
SELECT create_distributed_table('action_requests', 'session_id', colocate_with => 'sessions');
SELECT create_distributed_table('session_checkpoints', 'session_id', colocate_with => 'sessions');
SELECT create_distributed_table('session_checkpoint_history', 'session_id', colocate_with => 'sessions');
-- An Idempotency-Key is kept with the session it wrote to, in the same transaction.
SELECT create_distributed_table('idempotency_keys', 'session_id', colocate_with => 'sessions');

-- Keyed by the interaction: an entry or a leaving writes this shard besides the session's.
SELECT create_distributed_table('live_interactions', 'interaction_id', colocate_with => 'none');

-- Read under a session's lock by claims and node checks (ixn_node_live, ixn_session_claim):
-- a copy on every worker. Written by registrations and heartbeats, a few a second.
SELECT create_reference_table('nodes');

-- The dispatcher's, the NATS bridge's (its position in publication) and the API's, on the
-- coordinator. publication's day partitions go with it (the dispatcher makes them as days
-- come); its batches move the events they publish out of the sharded outbox, a DELETE on the
-- shards of the batch's sessions (docs/scale-out.md).
SELECT citus_add_local_table_to_metadata('publication');
SELECT citus_add_local_table_to_metadata('dispatcher_state');
SELECT citus_add_local_table_to_metadata('nats_bridge_state');
SELECT citus_add_local_table_to_metadata('api_tokens');
-- The rollups of the aggregates report and their worker's position, on the coordinator beside
-- publication (the worker writes them in one transaction with its position). The report's
-- completion from the rows joins them with sharded tables: on Citus that part is not checked
-- yet (docs/reporting.md).
SELECT citus_add_local_table_to_metadata('report_rollup_state');
SELECT citus_add_local_table_to_metadata('report_rollup_counted');
SELECT citus_add_local_table_to_metadata('report_rollups');
