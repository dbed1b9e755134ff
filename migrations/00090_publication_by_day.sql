-- +goose Up
-- Published events in day partitions (docs/design.md, "Publication by day"; issue 19).
--
-- Until now every event stayed in the outbox for good, and publication held a second row per
-- event (its number, its outbox row, its session, seq and node) with three indexes of its own:
-- ~530 bytes an event on a seeded database, and retention deleted both a few thousand rows at a
-- time, leaving vacuum to follow. Now the dispatcher moves each event it publishes out of the
-- outbox into publication, which holds the whole event with its number, partitioned by the UTC
-- day it was published:
--   - the outbox holds only what is not published yet: a few rows, its two indexes hot;
--   - publication has one row per event and two indexes: the publication number (the order
--     every stream reads in), and the session (deduplicated: one key per session and a list
--     of row pointers; a session's events are a few dozen, sorted by seq when read);
--   - retention drops whole days of publication: nothing it drops can be unpublished, since
--     only published events are there, and a drop costs the same whatever the day holds.
-- The events view (sql/views/events.sql) is every event kept, published or not, for what reads
-- a session's history.
--
-- (session_id, seq) was the outbox's primary key and a unique key of publication. The outbox
-- keeps it for the events it holds; across the days of publication nothing enforces it (a key
-- of a partitioned table must hold the partition key): the numbers are given under the
-- session's lock in ixn_publish, and the tests check every session's events for order and gaps.

-- publication_YYYYMMDD holds the events published on that UTC day. The dispatcher makes the
-- days ahead (ixn_publication_days); here, those of the events published so far, and the next.
CREATE TABLE publication_by_day (
    pub_seq      bigint      NOT NULL,
    published_at timestamptz NOT NULL,
    id           bigint      NOT NULL,
    session_id   ixn_id      NOT NULL,
    seq          bigint      NOT NULL,
    name         event_name  NOT NULL,
    attrs        jsonb       NOT NULL,
    node_id      ixn_id,
    epoch        bigint      NOT NULL,
    txid         xid8        NOT NULL,
    created_at   timestamptz NOT NULL
) PARTITION BY RANGE (published_at);

-- +goose StatementBegin
DO $$
DECLARE
    day date;
    first_day date := coalesce((SELECT min(published_at AT TIME ZONE 'UTC')::date FROM publication),
                               (now() AT TIME ZONE 'UTC')::date);
BEGIN
    FOR day IN SELECT generate_series(first_day, (now() AT TIME ZONE 'UTC')::date + 2, interval '1 day')::date LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF publication_by_day FOR VALUES FROM (%L) TO (%L)',
                       'publication_' || to_char(day, 'YYYYMMDD'),
                       day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END $$;
-- +goose StatementEnd

INSERT INTO publication_by_day (pub_seq, published_at, id, session_id, seq, name, attrs, node_id, epoch, txid, created_at)
SELECT p.pub_seq, p.published_at, o.id, o.session_id, o.seq, o.name, o.attrs, o.node_id, o.epoch, o.txid, o.created_at
  FROM publication p
  JOIN outbox o ON o.txid = p.txid AND o.id = p.outbox_id
 ORDER BY p.pub_seq;

-- The outbox keeps the events not published yet; emptied and refilled rather than deleted
-- from, so that its space is given back at once.
CREATE TEMPORARY TABLE outbox_unpublished ON COMMIT DROP AS
SELECT o.* FROM outbox o
 WHERE NOT EXISTS (SELECT FROM publication p WHERE p.txid = o.txid AND p.outbox_id = o.id);
TRUNCATE outbox;
INSERT INTO outbox OVERRIDING SYSTEM VALUE SELECT * FROM outbox_unpublished;

DROP TABLE publication;
ALTER TABLE publication_by_day RENAME TO publication;
CREATE INDEX publication_pub_seq_idx ON publication (pub_seq);
CREATE INDEX publication_session_idx ON publication (session_id);

-- Retention no longer reads the outbox by time; and rows pass through it, so autovacuum is
-- asked to follow it by rows removed rather than by a share of a table that stays small.
DROP INDEX outbox_created_at_brin;
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000);

-- +goose Down
CREATE TABLE publication_flat (
    pub_seq      bigint      PRIMARY KEY,
    txid         xid8        NOT NULL,
    outbox_id    bigint      NOT NULL,
    session_id   ixn_id      NOT NULL,
    seq          bigint      NOT NULL,
    node_id      ixn_id,
    published_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, seq)
);
INSERT INTO outbox (id, session_id, seq, name, attrs, node_id, epoch, txid, created_at) OVERRIDING SYSTEM VALUE
SELECT id, session_id, seq, name, attrs, node_id, epoch, txid, created_at FROM publication;
INSERT INTO publication_flat (pub_seq, txid, outbox_id, session_id, seq, node_id, published_at)
SELECT pub_seq, txid, id, session_id, seq, node_id, published_at FROM publication;
DROP VIEW IF EXISTS events;
DROP TABLE publication;
ALTER TABLE publication_flat RENAME TO publication;
ALTER INDEX publication_flat_pkey RENAME TO publication_pkey;
ALTER INDEX publication_flat_session_id_seq_key RENAME TO publication_session_id_seq_key;
CREATE INDEX publication_node_idx ON publication (node_id, pub_seq);
CREATE INDEX outbox_created_at_brin ON outbox USING brin (created_at);
ALTER TABLE outbox RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold);
