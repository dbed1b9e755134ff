-- Stand-ins, on plain PostgreSQL, for the Citus functions sql/citus/layout.sql calls. Each
-- refuses what Citus 13 refuses when a table is distributed (the errors issue 17 met on a
-- real cluster, with Citus's words), and records where the table went in citus_stub.placed.
-- They check the schema's rules, not Citus's machinery: no shards are made.
CREATE SCHEMA citus_stub;
CREATE TABLE citus_stub.placed (
    rel         regclass PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('distributed', 'reference', 'local')),
    dist_column text,
    colocation  text,
    placed_at   serial
);

CREATE FUNCTION citus_stub.refuse_triggers(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = t AND NOT tgisinternal) THEN
        RAISE EXCEPTION 'cannot distribute relation "%" because it has triggers', t;
    END IF;
    IF EXISTS (SELECT 1 FROM citus_stub.placed WHERE rel = t) THEN
        RAISE EXCEPTION 'table "%" is already distributed', t;
    END IF;
END $$;

CREATE FUNCTION citus_stub.create_distributed_table(table_name regclass, distribution_column text,
                                                    colocate_with text DEFAULT 'default') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    col   pg_attribute;
    grp   text;
    other record;
    r     record;
BEGIN
    PERFORM citus_stub.refuse_triggers(table_name);
    SELECT * INTO col FROM pg_attribute
     WHERE attrelid = table_name AND attname = distribution_column AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', distribution_column, table_name;
    END IF;
    FOR r IN SELECT i.indexrelid::regclass AS idx FROM pg_index i
              WHERE i.indrelid = table_name AND (i.indisunique OR i.indisexclusion)
                AND NOT (col.attnum = ANY (i.indkey)) LOOP
        RAISE EXCEPTION 'cannot create constraint on "%" (index %)', table_name, r.idx
            USING DETAIL = 'Distributed relations cannot have UNIQUE, EXCLUDE, or PRIMARY KEY constraints that do not include the partition column';
    END LOOP;
    IF colocate_with = 'none' THEN
        grp := table_name::text;
    ELSIF colocate_with = 'default' THEN
        grp := format('default %s %s', col.atttypid::regtype, col.attcollation);
    ELSE
        SELECT p.colocation, a.atttypid, a.attcollation INTO other
          FROM citus_stub.placed p JOIN pg_attribute a ON a.attrelid = p.rel AND a.attname = p.dist_column
         WHERE p.rel = colocate_with::regclass AND p.kind = 'distributed';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'relation % should be a hash distributed table', colocate_with;
        END IF;
        IF other.atttypid <> col.atttypid OR other.attcollation <> col.attcollation THEN
            RAISE EXCEPTION 'cannot colocate tables % and %', colocate_with, table_name
                USING DETAIL = format('Distribution column types don''t match for %s and %s.', colocate_with, table_name);
        END IF;
        grp := other.colocation;
    END IF;
    -- A foreign key goes to a reference table, or to a table of the same colocation group
    -- with the distribution columns at the same place in both keys.
    FOR r IN SELECT c.conname, c.confrelid::regclass AS target, c.conkey, c.confkey
               FROM pg_constraint c WHERE c.conrelid = table_name AND c.contype = 'f' LOOP
        SELECT p.kind, p.colocation, a.attnum INTO other
          FROM citus_stub.placed p LEFT JOIN pg_attribute a ON a.attrelid = p.rel AND a.attname = p.dist_column
         WHERE p.rel = r.target;
        IF NOT FOUND OR other.kind = 'local' THEN
            RAISE EXCEPTION 'cannot create foreign key constraint % since relations are not colocated or not referencing a reference table', r.conname;
        END IF;
        CONTINUE WHEN other.kind = 'reference';
        IF other.colocation <> grp OR array_position(r.conkey, col.attnum) IS NULL
           OR array_position(r.conkey, col.attnum) IS DISTINCT FROM array_position(r.confkey, other.attnum) THEN
            RAISE EXCEPTION 'cannot create foreign key constraint %', r.conname
                USING DETAIL = 'Foreign keys are supported in two cases, either in between two colocated tables including partition column in the same ordinal in the both tables or from distributed to reference tables';
        END IF;
    END LOOP;
    INSERT INTO citus_stub.placed (rel, kind, dist_column, colocation) VALUES (table_name, 'distributed', distribution_column, grp);
END $$;

CREATE FUNCTION citus_stub.create_reference_table(table_name regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM citus_stub.refuse_triggers(table_name);
    IF EXISTS (SELECT 1 FROM pg_constraint c LEFT JOIN citus_stub.placed p ON p.rel = c.confrelid
                WHERE c.conrelid = table_name AND c.contype = 'f' AND p.kind IS DISTINCT FROM 'reference') THEN
        RAISE EXCEPTION 'cannot create foreign key constraint: a reference table can only reference reference tables';
    END IF;
    INSERT INTO citus_stub.placed (rel, kind) VALUES (table_name, 'reference');
END $$;

CREATE FUNCTION citus_stub.citus_add_local_table_to_metadata(table_name regclass, cascade_via_foreign_keys boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM citus_stub.placed WHERE rel = table_name) THEN
        RAISE EXCEPTION 'table "%" is already in the metadata', table_name;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_constraint c JOIN citus_stub.placed p ON p.rel = c.confrelid
                WHERE c.conrelid = table_name AND c.contype = 'f' AND p.kind = 'distributed') THEN
        RAISE EXCEPTION 'cannot create foreign key constraint from a local table to a distributed table';
    END IF;
    INSERT INTO citus_stub.placed (rel, kind) VALUES (table_name, 'local');
END $$;
