-- ixn_udata_write replaces (p_replace) or merges the interaction's user data with p_data; in a
-- merge a key whose value is null is removed. interaction.udata.changed is written only when
-- the change comes from the media side (p_from_media): the session knows its own changes; and
-- only when the stored user data changed: removing a key that is not there, or setting a key
-- to the value it has, writes no event (the answer is 200 with no events).
CREATE OR REPLACE FUNCTION ixn_udata_write(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_data jsonb, p_replace boolean, p_from_media boolean
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    n       int          := CASE WHEN p_from_media THEN 1 ELSE 0 END;
    s       sessions     := ixn_session_lock(p_session_id, p_epoch, n);
    i       interactions := ixn_interaction_live(p_session_id, p_interaction_id);
    removed int;
    written int;
BEGIN
    IF jsonb_typeof(p_data) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'user data must be a JSON object' USING ERRCODE = 'IXIV0';
    END IF;
    IF p_replace THEN
        -- The keys the new data does not keep (absent or null); those it keeps are updated
        -- in place below.
        DELETE FROM user_data
         WHERE session_id = p_session_id AND interaction_id = p_interaction_id
           AND coalesce(jsonb_typeof(p_data -> key), 'null') = 'null';
    ELSE
        DELETE FROM user_data
         WHERE session_id = p_session_id AND interaction_id = p_interaction_id
           AND key IN (SELECT d.key FROM jsonb_each(p_data) AS d WHERE jsonb_typeof(d.value) = 'null');
    END IF;
    GET DIAGNOSTICS removed = ROW_COUNT;
    INSERT INTO user_data AS u (session_id, interaction_id, key, value)
    SELECT p_session_id, p_interaction_id, d.key, d.value
      FROM jsonb_each(p_data) AS d
     WHERE jsonb_typeof(d.value) <> 'null'
    ON CONFLICT (session_id, interaction_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
     WHERE u.value IS DISTINCT FROM EXCLUDED.value;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF p_from_media THEN
        IF removed + written = 0 THEN
            -- Nothing changed: give back the number reserved for the event, so that the
            -- session's numbers stay without a gap.
            UPDATE sessions SET last_seq = last_seq - 1 WHERE session_id = p_session_id;
            RETURN;
        END IF;
        RETURN QUERY SELECT * FROM ixn_publish(s, n, ARRAY[
            ixn_ev('interaction.udata.changed', jsonb_build_object('interactionid', p_interaction_id))]);
    END IF;
END $$;
