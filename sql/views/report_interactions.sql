-- The interaction list of the reports, as a function that writes its query for the filters
-- it is given. A static query with "parameter IS NULL OR condition" for every filter hides
-- its subqueries under OR, where the planner cannot turn them into joins: a filter on an
-- agent or an account number then walked the whole creation-time index. Written for the
-- filters given, every condition is plain, the planner sees each filter's selectivity, and
-- the list goes from whichever index finds its rows first.
--
-- One file, in this order: the view uses ixn_interaction_outcome, and ixn_report_interactions
-- returns the view's rows. CREATE OR REPLACE VIEW may only add columns at the end: a change
-- of the view's columns needs a DROP VIEW ... CASCADE here first (which also drops
-- ixn_report_interactions, created again below).

-- How an interaction ended: abandoned, live, merged (into another interaction), moved (to
-- another session by an associate) or completed. The one rule of the lists and aggregates.
CREATE OR REPLACE FUNCTION ixn_interaction_outcome(p_state interaction_state, p_abandoned_at timestamptz,
                                                   p_merged_into text, p_moved_to text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_abandoned_at IS NOT NULL THEN 'abandoned'
                WHEN p_state <> 'deleted' THEN 'live'
                WHEN p_merged_into IS NOT NULL THEN 'merged'
                WHEN p_moved_to IS NOT NULL THEN 'moved'
                ELSE 'completed' END
$$;

-- An interaction as the reports show it.
CREATE OR REPLACE VIEW report_interactions AS
SELECT i.session_id, i.interaction_id, i.media, i.type, i.state, i.controlled, i.owner_node, i.tenant_id,
       i.parent_id, i.created_at, i.deleted_at, i.abandoned_at, i.merged_into, i.moved_to,
       i.first_established_at, i.transfers, i.conferences,
       ixn_interaction_outcome(i.state, i.abandoned_at, i.merged_into, i.moved_to) AS outcome,
       i.properties
  FROM interactions i;

-- ixn_report_interactions_sql writes the query for the filters given.
CREATE OR REPLACE FUNCTION ixn_report_interactions_sql(
    p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text,
    p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz,
    p_ended_from timestamptz, p_ended_to timestamptz,
    p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows int
) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    source text := 'interactions i';
    conds  text[] := '{}';
    -- The list's order. An agent's list walks interaction_resources_list_idx in it: a
    -- resource's row holds its interaction's creation time (interaction_created_at is always
    -- the interaction's created_at), so the index gives the interactions in the list's order
    -- and the page ends after max_rows of them, however many the agent ever had.
    ord    text := 'i.created_at, i.session_id, i.interaction_id';
BEGIN
    -- Two filters find few rows that the planner expects to meet soon along the creation-time
    -- index, and it would walk that index (to its far end, for a recent end time or a quiet
    -- agent). An agent's interactions come from the resource's own index, in the list's order;
    -- an end time's are found by their index first, then sorted (OFFSET 0 keeps the subquery
    -- whole).
    IF p_resource IS NOT NULL THEN
        source := 'interaction_resources r JOIN interactions i'
               || ' ON i.session_id = r.session_id AND i.interaction_id = r.interaction_id';
        ord := 'r.interaction_created_at, r.session_id, r.interaction_id';
        conds := conds || 'r.resource = $6'::text;
    ELSIF p_ended_from IS NOT NULL OR p_ended_to IS NOT NULL THEN
        source := '(SELECT * FROM interactions WHERE deleted_at >= coalesce($11, ''-infinity'')'
               || ' AND deleted_at < coalesce($12, ''infinity'') OFFSET 0) i';
    END IF;
    IF p_resource IS NOT NULL AND (p_ended_from IS NOT NULL OR p_ended_to IS NOT NULL) THEN
        conds := conds || 'i.deleted_at >= coalesce($11, ''-infinity'') AND i.deleted_at < coalesce($12, ''infinity'')'::text;
    END IF;
    IF p_state IS NOT NULL THEN conds := conds || 'i.state = $1'::text; END IF;
    IF p_live IS NOT NULL THEN conds := conds || '(i.state <> ''deleted'') = $2'::text; END IF;
    IF p_media IS NOT NULL THEN conds := conds || 'i.media = $3'::text; END IF;
    IF p_session_id IS NOT NULL THEN conds := conds || 'i.session_id = $4'::text; END IF;
    IF p_node_id IS NOT NULL THEN conds := conds || 'i.owner_node = $5'::text; END IF;
    IF p_udata_key IS NOT NULL THEN
        conds := conds || ('EXISTS (SELECT 1 FROM user_data u WHERE u.key = $7'
                           || CASE WHEN p_udata_value IS NOT NULL
                                THEN ' AND jsonb_hash_extended(u.value, 0) = jsonb_hash_extended($8, 0) AND u.value = $8'
                                ELSE '' END
                           || ' AND u.session_id = i.session_id AND u.interaction_id = i.interaction_id)');
    END IF;
    IF p_created_from IS NOT NULL THEN conds := conds || (split_part(ord, ',', 1) || ' >= $9'); END IF;
    IF p_created_to IS NOT NULL THEN conds := conds || (split_part(ord, ',', 1) || ' < $10'); END IF;
    IF p_after_created_at IS NOT NULL THEN
        conds := conds || ('(' || ord || ') > ($13, $14, $15)');
    END IF;
    -- The columns of report_interactions, in its order; $1..$16 are the parameters, in order.
    RETURN
        'SELECT i.session_id, i.interaction_id, i.media, i.type, i.state, i.controlled, i.owner_node, i.tenant_id,'
        || ' i.parent_id, i.created_at, i.deleted_at, i.abandoned_at, i.merged_into, i.moved_to,'
        || ' i.first_established_at, i.transfers, i.conferences,'
        || ' ixn_interaction_outcome(i.state, i.abandoned_at, i.merged_into, i.moved_to), i.properties'
        || ' FROM ' || source
        || ' WHERE ' || coalesce(nullif(array_to_string(conds, ' AND '), ''), 'true')
        || ' ORDER BY ' || ord || ' LIMIT $16';
END $$;

-- ixn_report_interactions runs the list's query for the filters given.
CREATE OR REPLACE FUNCTION ixn_report_interactions(
    p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text,
    p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz,
    p_ended_from timestamptz, p_ended_to timestamptz,
    p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows int
) RETURNS SETOF report_interactions
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY EXECUTE ixn_report_interactions_sql(p_state, p_live, p_media, p_session_id, p_node_id, p_resource,
        p_udata_key, p_udata_value, p_created_from, p_created_to, p_ended_from, p_ended_to,
        p_after_created_at, p_after_session_id, p_after_interaction_id, p_max_rows)
    USING p_state, p_live, p_media, p_session_id, p_node_id, p_resource, p_udata_key, p_udata_value,
          p_created_from, p_created_to, p_ended_from, p_ended_to,
          p_after_created_at, p_after_session_id, p_after_interaction_id, p_max_rows;
END $$;

-- ixn_report_interactions_plan shows the plan the list's query gets for the filters given:
-- what an operator (and the reporting benchmark) checks for sequential scans.
CREATE OR REPLACE FUNCTION ixn_report_interactions_plan(
    p_state interaction_state, p_live boolean, p_media text, p_session_id text, p_node_id text, p_resource text,
    p_udata_key text, p_udata_value jsonb, p_created_from timestamptz, p_created_to timestamptz,
    p_ended_from timestamptz, p_ended_to timestamptz,
    p_after_created_at timestamptz, p_after_session_id text, p_after_interaction_id text, p_max_rows int
) RETURNS json
LANGUAGE plpgsql VOLATILE AS $$ -- EXPLAIN may not run in a STABLE function
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || ixn_report_interactions_sql(p_state, p_live, p_media, p_session_id, p_node_id, p_resource,
        p_udata_key, p_udata_value, p_created_from, p_created_to, p_ended_from, p_ended_to,
        p_after_created_at, p_after_session_id, p_after_interaction_id, p_max_rows)
    INTO plan
    USING p_state, p_live, p_media, p_session_id, p_node_id, p_resource, p_udata_key, p_udata_value,
          p_created_from, p_created_to, p_ended_from, p_ended_to,
          p_after_created_at, p_after_session_id, p_after_interaction_id, p_max_rows;
    RETURN plan;
END $$;
