-- ixn_archive_remove removes sessions that are archived, in one short transaction: it locks
-- their rows (in id order, as every writer of several sessions does), then keeps only those
-- that are, now, ended within [p_ended_from, p_ended_before), hold no live interaction and no
-- pending request, and whose rows are exactly what the archive holds of them (p_digests[i] is
-- the SHA-256 of session p_session_ids[i]'s lines, each "tab line", in ixn_archive_rows' order,
-- joined by newlines). A session claimed, changed or restored since it was archived is left
-- alone; the archive writes it again on its next run. It returns the sessions removed and how
-- many interactions each had.
CREATE OR REPLACE FUNCTION ixn_archive_remove(p_session_ids text[], p_digests bytea[], p_ended_from timestamptz,
                                              p_ended_before timestamptz)
RETURNS TABLE (session_id text, interactions bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ids text[];
BEGIN
    PERFORM FROM sessions s WHERE s.session_id = ANY (p_session_ids) ORDER BY s.session_id FOR UPDATE;
    -- A fresh snapshot (READ COMMITTED): what the lock's previous holders committed is seen.
    SELECT coalesce(array_agg(s.session_id::text), '{}') INTO ids
      FROM sessions s
      JOIN unnest(p_session_ids, p_digests) AS f(id, digest) ON f.id = s.session_id
      JOIN (SELECT r.session_id,
                   sha256(convert_to(string_agg(r.tab || ' ' || r.line, E'\n' ORDER BY r.tab, r.line COLLATE "C"),
                                     'UTF8')) AS digest
              FROM ixn_archive_rows(p_session_ids) r GROUP BY r.session_id) d ON d.session_id = s.session_id
     WHERE s.state = 'ended' AND s.ended_at >= p_ended_from AND s.ended_at < p_ended_before
       AND d.digest = f.digest
       AND NOT EXISTS (SELECT FROM interactions i WHERE i.session_id = s.session_id AND i.state <> 'deleted')
       AND NOT EXISTS (SELECT FROM live_interactions l
                        WHERE l.interaction_id IN (SELECT i.interaction_id FROM interactions i
                                                    WHERE i.session_id = s.session_id)
                          AND l.session_id = s.session_id)
       AND NOT EXISTS (SELECT FROM action_requests r WHERE r.session_id = s.session_id AND r.state = 'pending');
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT x.id, (SELECT count(*) FROM interactions i WHERE i.session_id = x.id)
                   FROM unnest(ids) AS x(id);
    DELETE FROM session_checkpoint_history t WHERE t.session_id = ANY (ids);
    DELETE FROM session_checkpoints t WHERE t.session_id = ANY (ids);
    DELETE FROM action_requests t WHERE t.session_id = ANY (ids);
    DELETE FROM interaction_origins t WHERE t.session_id = ANY (ids);
    DELETE FROM interaction_resources t WHERE t.session_id = ANY (ids);
    DELETE FROM user_data t WHERE t.session_id = ANY (ids);
    DELETE FROM parties t WHERE t.session_id = ANY (ids);
    DELETE FROM interactions t WHERE t.session_id = ANY (ids);
    DELETE FROM sessions t WHERE t.session_id = ANY (ids);
END $$;
