-- Seeding for the reporting benchmarks (ixnstore-bench seed): interactions of a past period, with
-- their sessions, parties, user data and events, written in bulk a chunk of interaction
-- numbers [first, last] at a time, each chunk in one transaction.
--
-- Every choice about interaction number n is a hash of (n, --seed, a salt), so the same flags
-- give the same data. SeedStage works it all out once per chunk, one row per interaction
-- number, into seed_chunk: a temporary table of the tooling's own (bench/schema/, which the
-- product's schema does not carry), created in the chunk's transaction and dropped at its
-- commit. The statements after it read the chunk's interactions from there as g, so what an
-- interaction is, is written in one place (bench/benchcli/seed_test.go checks that the
-- tables agree with the events).
--
-- Interaction n (id <prefix>-i<n>) is created at start_at + (n - base) * step_us. Sessions
-- are blocks of 6 interaction numbers split 1 + 2 + 3 (id <prefix>-s<n/6>-<0|1|2>), so a
-- session has 2 interactions on average and never spans two chunks, whose bounds are
-- multiples of 6. Each session has its owner among node-1..node-<nodes>. The numbers in the
-- ids have 10 digits, so that ids grow with n and a chunk's rows go to the right-hand end of
-- every index on them instead of all over it.
--
-- What happens to interaction n (kind), with h its handle time (30 s to 20 min) and t<x> the
-- time x% of h after its creation, never later than end_at:
--   every one:  interaction.added (origin: the customer alerting), interaction.present at
--               +200 ms, interaction.partyadded agent a1 alerting at t10
--   plain 80%:  partystatechanged a1 and the customer established at t15
--   transfer 10%, conference 5%: as plain, then at t50 interaction.onsinglesteptransfer and
--               partydeleted a1 (transfer), or interaction.onsinglestepconference (conference);
--               partyadded a2 alerting (t52 after a transfer, t50 in a conference),
--               partystatechanged a2 established at t55
--   abandoned 5%: never established: at t90 interaction.abandoned, partydeleted customer,
--               partystatechanged a1 released, partydeleted a1 (a released party leaves)
--   then, for all but the live 15% of those not abandoned: interaction.notcontrolled
--               (resultof deletion) and interaction.deleted at t100. The parties stay, as
--               ixn_interaction_delete leaves them.
-- After SeedStage, the chunk's statements write the tables in this order: sessions,
-- interactions (with their owner, first connection, transfer and conference counts, the
-- facts the SQL functions keep), where the live ones are live (live_interactions), user
-- data, then the outbox, interaction_resources with their historical join times, the
-- parties, the origins, and last the sessions' last_seq and end from the events written.

-- name: SeedTune :exec
-- For the chunk's transaction: sorts of a chunk's events in memory, plans for the chunk's
-- bounds rather than a generic plan that guesses 1000 rows of generate_series, and commits
-- that do not wait for the WAL flush (a chunk lost to a crash is simply not there).
SELECT set_config('work_mem', '256MB', true) AS work_mem,
       set_config('plan_cache_mode', 'force_custom_plan', true) AS plan_cache_mode,
       set_config('synchronous_commit', 'off', true) AS synchronous_commit;

-- name: SeedExisting :one
-- How many interactions there are, and how many of them have ids of the seed's prefix.
SELECT (SELECT count(*) FROM interactions)::bigint AS interactions,
       (SELECT count(*) FROM interactions WHERE interaction_id LIKE @id_prefix::text || '%')::bigint AS seeded;

-- name: SeedNodes :exec
-- node-1 .. node-<nodes>, alive for a century so that their sessions are never orphaned.
INSERT INTO nodes (node_id, capacity, lease_ms, lease_expires_at)
SELECT 'node-' || k, 100000, 100 * 365 * 86400000::bigint, now() + interval '100 years'
  FROM generate_series(1, @nodes::int) AS k
ON CONFLICT (node_id) DO UPDATE
   SET capacity = EXCLUDED.capacity, lease_ms = EXCLUDED.lease_ms, lease_expires_at = EXCLUDED.lease_expires_at,
       live = true, heartbeat_at = now();

-- name: SeedStage :execrows
-- What the chunk's statements need of each interaction number first..last, derived once into
-- the chunk's seed_chunk (bench/schema/seed_staging.sql), created just before in the same
-- transaction. Every choice is a hash of (n, seed, salt): see the header.
WITH p AS (
    SELECT @prefix::text AS prefix, @seed::bigint AS seed, @nodes::bigint AS nodes, @first::bigint AS first,
           @last::bigint AS last, @base::bigint AS base, @start_at::timestamptz AS start_at,
           @step_us::bigint AS step_us, @end_at::timestamptz AS end_at
)
INSERT INTO seed_chunk (n, c, h, sid, iid, node, media, itype, kind, live, cust, agent_a, agent_b, lang, segment, account,
                        t_present, t10, t15, t50, t52, t55, t90, t100)
SELECT r.n AS n, r.c AS c, r.h AS h,
       r.prefix || '-s' || lpad((r.n / 6)::text, 10, '0') || '-' || r.k AS sid,
       r.prefix || '-i' || lpad(r.n::text, 10, '0') AS iid,
       'node-' || (1 + r.node) AS node,
       CASE WHEN r.media < 60 THEN 'voice' WHEN r.media < 85 THEN 'chat' ELSE 'email' END AS media,
       CASE WHEN r.itype < 90 THEN 'inbound' WHEN r.itype < 97 THEN 'outbound' ELSE 'internal' END AS itype,
       CASE WHEN r.kind < 5 THEN 'abandoned' WHEN r.kind < 15 THEN 'transfer' WHEN r.kind < 20 THEN 'conference'
            ELSE 'plain' END AS kind,
       r.live < 15 AND r.kind >= 5 AS live,
       '+1555' || lpad(r.cust::text, 7, '0') AS cust,
       'agent-' || r.a AS agent_a,
       'agent-' || (1 + (r.a + r.b) % 500) AS agent_b,
       (ARRAY['en', 'fr', 'de'])[1 + r.lang] AS lang,
       CASE WHEN r.segment < 10 THEN 'gold' WHEN r.segment < 40 THEN 'silver' ELSE 'bronze' END AS segment,
       CASE WHEN r.has_account > 0 THEN r.account END AS account,
       least(r.c + interval '200 milliseconds', r.end_at) AS t_present,
       least(r.c + r.h * 10 / 100 * interval '1 millisecond', r.end_at) AS t10,
       least(r.c + r.h * 15 / 100 * interval '1 millisecond', r.end_at) AS t15,
       least(r.c + r.h * 50 / 100 * interval '1 millisecond', r.end_at) AS t50,
       least(r.c + r.h * 52 / 100 * interval '1 millisecond', r.end_at) AS t52,
       least(r.c + r.h * 55 / 100 * interval '1 millisecond', r.end_at) AS t55,
       least(r.c + r.h * 90 / 100 * interval '1 millisecond', r.end_at) AS t90,
       least(r.c + r.h * interval '1 millisecond', r.end_at) AS t100
  FROM (SELECT s.n, p.prefix, p.end_at,
               CASE WHEN s.n % 6 = 0 THEN 0 WHEN s.n % 6 < 3 THEN 1 ELSE 2 END AS k,
               p.start_at + (s.n - p.base) * p.step_us * interval '1 microsecond' AS c,
               (hashint8extended(s.n / 6 * 3 + CASE WHEN s.n % 6 = 0 THEN 0 WHEN s.n % 6 < 3 THEN 1 ELSE 2 END,
                                 p.seed * 16 + 1) & 9223372036854775807) % p.nodes AS node,
               (hashint8extended(s.n, p.seed * 16 + 2) & 9223372036854775807) % 100 AS media,
               (hashint8extended(s.n, p.seed * 16 + 3) & 9223372036854775807) % 100 AS itype,
               (hashint8extended(s.n, p.seed * 16 + 4) & 9223372036854775807) % 100 AS kind,
               (hashint8extended(s.n, p.seed * 16 + 5) & 9223372036854775807) % 100 AS live,
               30000 + (hashint8extended(s.n, p.seed * 16 + 6) & 9223372036854775807) % 1170001 AS h,
               (hashint8extended(s.n, p.seed * 16 + 7) & 9223372036854775807) % 200000 AS cust,
               1 + (hashint8extended(s.n, p.seed * 16 + 8) & 9223372036854775807) % 500 AS a,
               (hashint8extended(s.n, p.seed * 16 + 9) & 9223372036854775807) % 499 AS b,
               (hashint8extended(s.n, p.seed * 16 + 10) & 9223372036854775807) % 3 AS lang,
               (hashint8extended(s.n, p.seed * 16 + 11) & 9223372036854775807) % 100 AS segment,
               (hashint8extended(s.n, p.seed * 16 + 12) & 9223372036854775807) % 3 AS has_account,
               10000000 + (hashint8extended(s.n, p.seed * 16 + 13) & 9223372036854775807) % 90000000 AS account
          FROM p, generate_series(p.first, p.last) AS s(n)) AS r;

-- name: SeedSessions :execrows
-- Active until the events say otherwise (SeedSessionsFinish).
INSERT INTO sessions (session_id, state, owner_node, lease_epoch, last_seq, created_at, updated_at)
SELECT sid, 'active', min(node), 1, 0, min(c), min(c)
  FROM seed_chunk AS g
 GROUP BY sid;

-- name: SeedInteractions :execrows
INSERT INTO interactions (session_id, interaction_id, media, type, state, controlled, abandoned_at,
                          created_at, updated_at, deleted_at, first_established_at, transfers, conferences,
                          owner_node)
SELECT sid, iid, media, itype::interaction_type,
       CASE WHEN live THEN 'present' ELSE 'deleted' END::interaction_state, live,
       CASE WHEN kind = 'abandoned' THEN t90 END,
       c,
       CASE WHEN NOT live THEN t100 WHEN kind = 'plain' THEN t15 ELSE t55 END,
       CASE WHEN NOT live THEN t100 END,
       CASE WHEN kind <> 'abandoned' THEN t15 END,
       (kind = 'transfer')::int, (kind = 'conference')::int,
       (SELECT s.owner_node FROM sessions s WHERE s.session_id = g.sid)
  FROM seed_chunk AS g;

-- name: SeedLiveInteractions :execrows
INSERT INTO live_interactions (interaction_id, session_id)
SELECT iid, sid FROM seed_chunk AS g WHERE live;

-- name: SeedUserData :execrows
-- It came with the interaction: no interaction.udata.changed.
INSERT INTO user_data (session_id, interaction_id, key, value, updated_at)
SELECT g.sid, g.iid, 'lang', to_jsonb(g.lang), g.c FROM seed_chunk AS g
 UNION ALL
SELECT g.sid, g.iid, 'segment', to_jsonb(g.segment), g.c FROM seed_chunk AS g
 UNION ALL
SELECT g.sid, g.iid, 'account', to_jsonb(g.account), g.c FROM seed_chunk AS g WHERE g.account IS NOT NULL;

-- name: SeedOutbox :execrows
WITH ev AS (
    -- The attributes are those the ixn_* functions write (sql/functions).
    SELECT g.sid, g.node, g.n, 1 AS step, g.c AS at, 'interaction.added'::event_name AS name,
           jsonb_build_object('interactionid', g.iid) AS attrs
      FROM seed_chunk AS g
     UNION ALL
    SELECT g.sid, g.node, g.n, 2, g.t_present, 'interaction.present', jsonb_build_object('interactionid', g.iid)
      FROM seed_chunk AS g
     UNION ALL
    SELECT g.sid, g.node, g.n, 3, g.t10, 'interaction.partyadded', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.agent_a, 'partyid', g.iid || '-a1', 'partystate', 'alerting')
      FROM seed_chunk AS g
     UNION ALL
    SELECT g.sid, g.node, g.n, 4, g.t15, 'interaction.partystatechanged', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.agent_a, 'partyid', g.iid || '-a1', 'partystate', 'established', 'hints', '{}'::jsonb)
      FROM seed_chunk AS g WHERE g.kind <> 'abandoned'
     UNION ALL
    SELECT g.sid, g.node, g.n, 5, g.t15, 'interaction.partystatechanged', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.cust, 'partyid', g.iid || '-c', 'partystate', 'established', 'hints', '{}'::jsonb)
      FROM seed_chunk AS g WHERE g.kind <> 'abandoned'
     UNION ALL
    SELECT g.sid, g.node, g.n, 6, g.t50, 'interaction.onsinglesteptransfer', jsonb_build_object('interactionid', g.iid,
           'transferringpartyid', g.iid || '-a1', 'transferringresource', g.agent_a,
           'transferringpartystate', 'established', 'newdestination', g.agent_b, 'hints', '{}'::jsonb)
      FROM seed_chunk AS g WHERE g.kind = 'transfer'
     UNION ALL
    SELECT g.sid, g.node, g.n, 7, g.t50, 'interaction.partydeleted', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.agent_a, 'partyid', g.iid || '-a1', 'partystate', 'established')
      FROM seed_chunk AS g WHERE g.kind = 'transfer'
     UNION ALL
    SELECT g.sid, g.node, g.n, 8, g.t50, 'interaction.onsinglestepconference', jsonb_build_object('interactionid', g.iid,
           'conferencingpartyid', g.iid || '-a1', 'conferencingresource', g.agent_a,
           'conferencingpartystate', 'established', 'addedpartyid', g.iid || '-a2', 'addedresource', g.agent_b,
           'addedpartystate', 'alerting', 'hints', '{}'::jsonb)
      FROM seed_chunk AS g WHERE g.kind = 'conference'
     UNION ALL
    SELECT g.sid, g.node, g.n, 9, CASE WHEN g.kind = 'transfer' THEN g.t52 ELSE g.t50 END, 'interaction.partyadded',
           jsonb_build_object('interactionid', g.iid, 'focusresource', g.agent_b, 'partyid', g.iid || '-a2',
           'partystate', 'alerting')
      FROM seed_chunk AS g WHERE g.kind IN ('transfer', 'conference')
     UNION ALL
    SELECT g.sid, g.node, g.n, 10, g.t55, 'interaction.partystatechanged', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.agent_b, 'partyid', g.iid || '-a2', 'partystate', 'established', 'hints', '{}'::jsonb)
      FROM seed_chunk AS g WHERE g.kind IN ('transfer', 'conference')
     UNION ALL
    SELECT g.sid, g.node, g.n, 11, g.t90, 'interaction.abandoned', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.cust, 'reason', 'hangup', 'hints', '{}'::jsonb)
      FROM seed_chunk AS g WHERE g.kind = 'abandoned'
     UNION ALL
    SELECT g.sid, g.node, g.n, 12, g.t90, 'interaction.partydeleted', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.cust, 'partyid', g.iid || '-c', 'partystate', 'alerting')
      FROM seed_chunk AS g WHERE g.kind = 'abandoned'
     UNION ALL
    SELECT g.sid, g.node, g.n, 13, g.t90, 'interaction.partystatechanged', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.agent_a, 'partyid', g.iid || '-a1', 'partystate', 'released', 'hints', '{}'::jsonb)
      FROM seed_chunk AS g WHERE g.kind = 'abandoned'
     UNION ALL
    SELECT g.sid, g.node, g.n, 14, g.t90, 'interaction.partydeleted', jsonb_build_object('interactionid', g.iid,
           'focusresource', g.agent_a, 'partyid', g.iid || '-a1', 'partystate', 'released')
      FROM seed_chunk AS g WHERE g.kind = 'abandoned'
     UNION ALL
    SELECT g.sid, g.node, g.n, 15, g.t100, 'interaction.notcontrolled',
           jsonb_build_object('interactionid', g.iid, 'resultof', 'deletion')
      FROM seed_chunk AS g WHERE NOT g.live
     UNION ALL
    SELECT g.sid, g.node, g.n, 16, g.t100, 'interaction.deleted', jsonb_build_object('interactionid', g.iid)
      FROM seed_chunk AS g WHERE NOT g.live
)
-- Numbered per session in time order; written in time order, so that the outbox ids (and
-- the publication order given from them) follow time too.
INSERT INTO outbox (session_id, seq, name, attrs, node_id, epoch, created_at)
SELECT ev.sid, row_number() OVER (PARTITION BY ev.sid ORDER BY ev.at, ev.n, ev.step), ev.name, ev.attrs, ev.node, 1,
       ev.at
  FROM ev
 ORDER BY ev.at, ev.sid, ev.n, ev.step;

-- name: SeedResources :execrows
-- Every resource that was ever a party, at the time its party joined.
INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, joined_at, interaction_created_at)
SELECT g.sid, g.iid, g.cust, g.iid || '-c', 'customer'::party_role, g.c, g.c FROM seed_chunk AS g
 UNION ALL
SELECT g.sid, g.iid, g.agent_a, g.iid || '-a1', 'agent'::party_role, g.t10, g.c FROM seed_chunk AS g
 UNION ALL
SELECT g.sid, g.iid, g.agent_b, g.iid || '-a2', 'agent'::party_role,
       CASE WHEN g.kind = 'transfer' THEN g.t52 ELSE g.t50 END, g.c
  FROM seed_chunk AS g WHERE g.kind IN ('transfer', 'conference');

-- name: SeedParties :execrows
-- The parties as the events leave them: the customer and the released a1 are gone from an
-- abandoned interaction, a1 from a transferred one.
INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role, created_at, updated_at)
SELECT g.sid, g.iid, g.iid || '-c', g.cust, 'established'::party_state, 'customer'::party_role, g.c, g.t15
  FROM seed_chunk AS g WHERE g.kind <> 'abandoned'
 UNION ALL
SELECT g.sid, g.iid, g.iid || '-a1', g.agent_a, 'established'::party_state, 'agent', g.t10, g.t15
  FROM seed_chunk AS g WHERE g.kind NOT IN ('transfer', 'abandoned')
 UNION ALL
SELECT g.sid, g.iid, g.iid || '-a2', g.agent_b, 'established', 'agent',
       CASE WHEN g.kind = 'transfer' THEN g.t52 ELSE g.t50 END, g.t55
  FROM seed_chunk AS g WHERE g.kind IN ('transfer', 'conference');

-- name: SeedOrigins :execrows
-- Each interaction's origin, at the seq of its interaction.added: the customer, alerting, is
-- what every interaction was added with.
INSERT INTO interaction_origins (session_id, interaction_id, seq, parties, created_at)
SELECT g.sid, g.iid, o.seq,
       jsonb_build_array(jsonb_build_object('party_id', g.iid || '-c', 'resource', g.cust, 'state', 'alerting')), g.c
  FROM seed_chunk AS g
  JOIN outbox o ON o.session_id = g.sid AND o.name = 'interaction.added' AND o.attrs->>'interactionid' = g.iid;

-- name: SeedSessionsFinish :execrows
-- The sessions of the chunk (those with events of this transaction) as their events leave
-- them: last_seq, and ended at their last event when no interaction is left in them.
UPDATE sessions s
   SET last_seq = e.last_seq, updated_at = e.last_at,
       state = CASE WHEN e.live THEN 'active' ELSE 'ended' END::session_state,
       ended_at = CASE WHEN NOT e.live THEN e.last_at END
  FROM (SELECT session_id, max(seq) AS last_seq, max(created_at) AS last_at,
               count(*) FILTER (WHERE name = 'interaction.added')
                 > count(*) FILTER (WHERE name = 'interaction.deleted') AS live
          FROM outbox
         WHERE txid = pg_current_xact_id()
         GROUP BY session_id) AS e
 WHERE s.session_id = e.session_id;

-- name: SeedPublicationCheck :one
-- Locks the dispatcher's position for the rest of the chunk's transaction and says whether
-- it may be moved past this transaction's events: unpublished counts the events that no
-- dispatcher has taken and that are not this transaction's; older_writers the transactions
-- of this database, older than this one, that are still running and may yet write events
-- numbered below it.
SELECT d.last_pub_seq,
       ((SELECT count(*) FROM outbox o
          WHERE (o.txid, o.id) > (d.cursor_txid, d.cursor_id) AND o.txid < pg_current_xact_id())
        + (SELECT count(*) FROM outbox o WHERE o.txid > pg_current_xact_id()))::bigint AS unpublished,
       (SELECT count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_xid IS NOT NULL
           AND age(a.backend_xid) > age(pg_current_xact_id()::xid))::bigint AS older_writers
  FROM dispatcher_state d
   FOR UPDATE OF d;

-- name: SeedPublish :one
-- Publishes this transaction's events in outbox id order after last_pub_seq, as of when they
-- happened, and moves the dispatcher past them, as a dispatcher's batch would: the events
-- leave the outbox for publication (whose days the seed made first).
WITH taken AS (
    DELETE FROM outbox o WHERE o.txid = pg_current_xact_id() RETURNING o.*
), pub AS (
    INSERT INTO publication (pub_seq, published_at, id, session_id, seq, name, attrs, node_id, epoch, txid, created_at)
    SELECT row_number() OVER (ORDER BY t.id) + @last_pub_seq::bigint, t.created_at, t.id, t.session_id, t.seq, t.name,
           t.attrs, t.node_id, t.epoch, t.txid, t.created_at
      FROM taken t
    RETURNING pub_seq, txid, id
)
UPDATE dispatcher_state d
   SET cursor_txid = l.txid, cursor_id = l.id, last_pub_seq = l.pub_seq, leader = 'ixnstore seed',
       updated_at = now()
  FROM (SELECT pub_seq, txid, id FROM pub ORDER BY pub_seq DESC LIMIT 1) AS l
 WHERE d.last_pub_seq = @last_pub_seq::bigint
RETURNING d.last_pub_seq;

-- name: SeedOutboxCompact :exec
-- The seeded events passed through the outbox (each chunk's, on their way to publication) and
-- left its indexes the size of all of them, empty: rebuilt, they are the size of what a
-- running system keeps there. Run when the seed is done and the outbox holds only what is
-- not published.
REINDEX TABLE outbox;

-- name: SeedVacuumAnalyze :exec
-- Run outside a transaction. Sets the visibility maps as well as the statistics, so that the
-- reports are measured against tables as autovacuum would leave them, not freshly written.
VACUUM (ANALYZE) sessions, interactions, parties, user_data, outbox, interaction_resources, interaction_origins,
    publication, nodes, dispatcher_state;

-- name: SeedTableSizes :many
-- Rows and size on disk (with indexes and TOAST, and its partitions) of each table the seed writes.
SELECT t.name::text AS table_name, t.row_count::bigint AS row_count,
       coalesce((SELECT sum(pg_total_relation_size(p.relid)) FROM pg_partition_tree(t.name::regclass) p), pg_total_relation_size(t.name::regclass))::bigint AS total_bytes,
       pg_size_pretty(coalesce((SELECT sum(pg_total_relation_size(p.relid)) FROM pg_partition_tree(t.name::regclass) p), pg_total_relation_size(t.name::regclass)))::text AS total_size
  FROM (VALUES ('sessions', (SELECT count(*) FROM sessions)),
               ('interactions', (SELECT count(*) FROM interactions)),
               ('parties', (SELECT count(*) FROM parties)),
               ('user_data', (SELECT count(*) FROM user_data)),
               ('outbox', (SELECT count(*) FROM outbox)),
               ('interaction_resources', (SELECT count(*) FROM interaction_resources)),
               ('interaction_origins', (SELECT count(*) FROM interaction_origins)),
               ('publication', (SELECT count(*) FROM publication)),
               ('nodes', (SELECT count(*) FROM nodes))) AS t(name, row_count)
 ORDER BY 3 DESC;
