-- ixn_idempotency_begin starts a write sent with an Idempotency-Key, in the write's own
-- transaction, before the write. It returns no row when the key is new (or expired): the key
-- is then recorded, and the caller writes and stores its answer (IdempotencyFinish) before it
-- commits. It returns the first answer when the key was used for the same request (the same
-- hash), and refuses (IXKR0) the key used for another request.
--
-- Two retries at once: the second one's insert waits on the first one's uncommitted key (the
-- primary key), then finds it committed with its answer, and answers that; if the first rolled
-- back (its write was refused), the second records the key and writes itself.
CREATE OR REPLACE FUNCTION ixn_idempotency_begin(p_session_id text, p_key text, p_hash bytea, p_ttl_ms bigint)
RETURNS SETOF idempotency_keys
LANGUAGE plpgsql AS $$
DECLARE
    k idempotency_keys;
BEGIN
    INSERT INTO idempotency_keys AS x (session_id, key, request_hash, expires_at)
    VALUES (p_session_id, p_key, p_hash, now() + p_ttl_ms * interval '1 millisecond')
    ON CONFLICT (session_id, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, status = NULL, body = NULL, created_at = now(),
           expires_at = EXCLUDED.expires_at
     WHERE x.expires_at <= now();
    IF FOUND THEN
        RETURN;
    END IF;
    -- A later statement: its snapshot sees the key the conflicting transaction committed.
    SELECT * INTO k FROM idempotency_keys x WHERE x.session_id = p_session_id AND x.key = p_key;
    IF k.request_hash <> p_hash THEN
        RAISE EXCEPTION 'the Idempotency-Key % was used for another request to session %', p_key, p_session_id
            USING ERRCODE = 'IXKR0';
    END IF;
    RETURN NEXT k;
END $$;
