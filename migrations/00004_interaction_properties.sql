-- +goose Up
-- The properties of an interaction that a Genesys strategy reads in
-- _genesys.ixn.interactions[id] and that the interaction's own columns do not hold: g_uid,
-- contactedaddr, location, xdata, and the given fields of its media sub-object (voice:
-- callid, ani, dnis; msgbased: queue, type, media, externalID, view), as the media side gave
-- them. What can be derived (category, tenantid, parentid, voice.type and voice.media) is
-- derived when read (service/genesys.go), not stored twice. A constant default makes the new
-- column a change of the catalog alone, whatever the table's size.
ALTER TABLE interactions ADD COLUMN properties jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT interactions_properties_object CHECK (jsonb_typeof(properties) = 'object');
-- ixn_interaction_add takes the properties: the old signature goes, the code step creates the
-- new one (sql/functions/ixn_interaction_add.sql).
DROP FUNCTION IF EXISTS ixn_interaction_add(text, bigint, text, text, interaction_type, text, text, jsonb, jsonb);

-- +goose Down
DROP FUNCTION IF EXISTS ixn_interaction_add(text, bigint, text, text, interaction_type, text, text, jsonb, jsonb, jsonb);
ALTER TABLE interactions DROP COLUMN properties;
