CREATE OR REPLACE FUNCTION ixn_node_alive(n nodes) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT n.live AND n.lease_expires_at > now() $$;
