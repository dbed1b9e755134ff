-- ixn_publication_move writes a batch of the dispatcher, in one statement and so in one
-- transaction: its position moves from p_previous_pub_seq to p_last_pub_seq, and each event,
-- named by its outbox row (p_txids, p_ids), leaves the outbox for publication with its
-- number (p_pub_seqs), published now; the stream hubs are woken. It returns 0 and writes
-- nothing when another dispatcher moved the position since; it raises, and writes nothing,
-- when an event named is not in the outbox (only the dispatcher removes outbox rows, so that
-- would be a second dispatcher, or a bug: never an event lost). Transaction ids come as
-- bigint, which holds them for the next billions of years of transactions.
CREATE OR REPLACE FUNCTION ixn_publication_move(p_previous_pub_seq bigint, p_last_pub_seq bigint,
    p_cursor_txid xid8, p_cursor_id bigint, p_leader text,
    p_pub_seqs bigint[], p_txids bigint[], p_ids bigint[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_pub_seqs), 0);
    moved int;
BEGIN
    UPDATE dispatcher_state
       SET cursor_txid = p_cursor_txid, cursor_id = p_cursor_id, last_pub_seq = p_last_pub_seq,
           leader = p_leader, updated_at = now()
     WHERE last_pub_seq = p_previous_pub_seq;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    IF n = 0 THEN
        RETURN 1;
    END IF;
    WITH taken AS (
        DELETE FROM outbox o
         USING unnest(p_pub_seqs, p_txids, p_ids) AS e(pub_seq, txid, id)
         WHERE o.txid = e.txid::text::xid8 AND o.id = e.id
        RETURNING e.pub_seq, o.*
    )
    INSERT INTO publication (pub_seq, published_at, id, session_id, seq, name, attrs, node_id, epoch, txid, created_at)
    SELECT t.pub_seq, now(), t.id, t.session_id, t.seq, t.name, t.attrs, t.node_id, t.epoch, t.txid, t.created_at
      FROM taken t;
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved <> n THEN
        RAISE EXCEPTION 'internal error: % of the % events of a batch are in the outbox', moved, n;
    END IF;
    PERFORM pg_notify('ixn_published', p_last_pub_seq::text);
    RETURN 1;
END $$;
