-- Party states for a call that is not yet at an agent, in T-Library's vocabulary (the
-- platform's: REFERENCE.md): routing (on a routing point, waiting for a strategy's
-- decision), queued (in an ACD queue), treatment (hearing a treatment: music, an
-- announcement, an IVR) and dialing (an outbound leg being dialed, not yet ringing). The
-- moves between states are code (sql/functions/ixn_party_transition_allowed.sql).
--
-- A released party no longer rests on its interaction: it leaves it (interaction.partydeleted).
-- Parties stored as released by the earlier code are removed here, without events, so the
-- stored state is what the code now keeps; the reporting rebuild takes a partystatechanged to
-- released as the party leaving, so it agrees with them.
--
-- ALTER TYPE ... ADD VALUE may not be followed in the same transaction by a use of the new
-- value; nothing here uses them, but the code step that runs after the migrations does
-- (in its own transaction), so this migration runs outside one to have them committed first.

-- +goose NO TRANSACTION

-- +goose Up
ALTER TYPE party_state ADD VALUE IF NOT EXISTS 'routing';
ALTER TYPE party_state ADD VALUE IF NOT EXISTS 'queued';
ALTER TYPE party_state ADD VALUE IF NOT EXISTS 'treatment';
ALTER TYPE party_state ADD VALUE IF NOT EXISTS 'dialing';
DELETE FROM parties WHERE state = 'released';

-- +goose Down
-- PostgreSQL cannot remove a value from an enum without rebuilding the type and everything
-- that uses it (the functions of sql/ take party_state arguments). The values stay, unused
-- by the older code; parties in them are put back to the nearest state it knows: alerting,
-- a party on its way to being answered. Parties removed on release are not brought back.
UPDATE parties SET state = 'alerting' WHERE state::text IN ('routing', 'queued', 'treatment', 'dialing');
