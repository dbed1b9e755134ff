CREATE OR REPLACE FUNCTION ixn_interaction_add(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_media text, p_type interaction_type,
    p_parent_id text, p_tenant_id text, p_parties jsonb, p_udata jsonb, p_properties jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s     sessions := ixn_session_lock(p_session_id, p_epoch, 1);
    other text;
BEGIN
    SELECT session_id INTO other FROM interactions
     WHERE interaction_id = p_interaction_id AND state <> 'deleted' AND session_id <> p_session_id;
    IF FOUND THEN
        RAISE EXCEPTION 'interaction % is live in session %', p_interaction_id, other USING ERRCODE = 'IXCF0';
    END IF;
    -- A deleted interaction that comes back to the same session is added anew.
    INSERT INTO interactions AS i (session_id, interaction_id, media, type, parent_id, tenant_id, properties)
    VALUES (p_session_id, p_interaction_id, p_media, p_type, p_parent_id, coalesce(p_tenant_id, s.tenant_id),
            coalesce(p_properties, '{}'))
    ON CONFLICT (session_id, interaction_id) DO UPDATE
       SET media = EXCLUDED.media, type = EXCLUDED.type, parent_id = EXCLUDED.parent_id,
           tenant_id = EXCLUDED.tenant_id, properties = EXCLUDED.properties, state = 'added', controlled = false, merged_into = NULL,
           abandoned_at = NULL, created_at = now(), updated_at = now(), deleted_at = NULL
     WHERE i.state = 'deleted';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'interaction % is already in session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXCF0';
    END IF;
    DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    DELETE FROM user_data WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    -- Parties and user data the interaction had before it was added come with it, without
    -- events of their own (the reference: they are there "from the beginning").
    INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
    SELECT p_session_id, p_interaction_id, p.party_id, p.resource, p.state, coalesce(p.role, 'unknown')
      FROM jsonb_to_recordset(coalesce(p_parties, '[]')) AS p(party_id text, resource text, state party_state, role party_role);
    INSERT INTO user_data (session_id, interaction_id, key, value)
    SELECT p_session_id, p_interaction_id, d.key, d.value
      FROM jsonb_each(coalesce(p_udata, '{}')) AS d
     WHERE jsonb_typeof(d.value) <> 'null';
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[
        ixn_ev('interaction.added', jsonb_build_object('interactionid', p_interaction_id))]);
END $$;
