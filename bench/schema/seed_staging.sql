-- The seed's staging table (ixnstore-bench seed; not part of the product's schema, and never
-- migrated): what bench/queries/seed.sql derives of each interaction number of a chunk,
-- written once by SeedStage and read by every statement that writes the chunk's rows.
--
-- Temporary and dropped at commit, because that is exactly the chunk's life: the seed runs
-- this in each chunk's transaction, on the connection that runs the chunk, so a pooled
-- connection never finds a table left by another chunk, a rolled-back or interrupted chunk
-- leaves nothing behind, and the seeded database gains no table. sqlc reads this file as a
-- schema (sqlc.yaml), so the queries that use the table are checked against it; the seed
-- executes this same text (bench/schema/schema.go), so the table is declared once.
CREATE TEMPORARY TABLE seed_chunk (
    n         bigint      NOT NULL,
    c         timestamptz NOT NULL,
    h         bigint      NOT NULL,
    sid       text        NOT NULL,
    iid       text        NOT NULL,
    node      text        NOT NULL,
    media     text        NOT NULL,
    itype     text        NOT NULL,
    kind      text        NOT NULL,
    live      boolean     NOT NULL,
    cust      text        NOT NULL,
    agent_a   text        NOT NULL,
    agent_b   text        NOT NULL,
    lang      text        NOT NULL,
    segment   text        NOT NULL,
    account   bigint,
    t_present timestamptz NOT NULL,
    t10       timestamptz NOT NULL,
    t15       timestamptz NOT NULL,
    t50       timestamptz NOT NULL,
    t52       timestamptz NOT NULL,
    t55       timestamptz NOT NULL,
    t90       timestamptz NOT NULL,
    t100      timestamptz NOT NULL
) ON COMMIT DROP;
