-- ixn_interaction_properties: the media side gives an interaction's Genesys properties after it
-- was added (service/genesys.go). A given property replaces the stored one; the media
-- sub-object (voice or msgbased) is merged field by field, so a late ANI does not drop the
-- call id. It writes no event: the reference has none for it, and a session reads the
-- properties with the interaction. Fenced by the epoch like every write.
CREATE OR REPLACE FUNCTION ixn_interaction_properties(p_session_id text, p_epoch bigint, p_interaction_id text,
                                                      p_properties jsonb)
RETURNS interactions
LANGUAGE plpgsql AS $$
DECLARE
    s      sessions     := ixn_session_lock(p_session_id, p_epoch, 0);
    i      interactions := ixn_interaction_live(p_session_id, p_interaction_id);
    merged jsonb        := i.properties || (p_properties - 'voice' - 'msgbased');
    sub    text;
BEGIN
    FOREACH sub IN ARRAY ARRAY['voice', 'msgbased'] LOOP
        CONTINUE WHEN NOT p_properties ? sub;
        IF (sub = 'voice') <> (i.media = 'voice') THEN
            RAISE EXCEPTION 'genesys.% is not for a % interaction: voice takes genesys.voice, any other medium genesys.msgbased',
                sub, i.media USING ERRCODE = 'IXIV0';
        END IF;
        merged := merged || jsonb_build_object(sub, coalesce(i.properties -> sub, '{}') || (p_properties -> sub));
    END LOOP;
    UPDATE interactions SET properties = merged, updated_at = now()
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id
    RETURNING * INTO i;
    RETURN i;
END $$;
