-- events: every event kept, published (publication) or not yet (outbox), with the outbox's
-- columns. The dispatcher moves an event from one to the other in one transaction, so a
-- snapshot sees each event once. For what reads a session's history (its events by session
-- and seq: both sides have an index on the session); the streams read publication itself.
CREATE OR REPLACE VIEW events AS
SELECT p.id, p.session_id, p.seq, p.name, p.attrs, p.node_id, p.epoch, p.txid, p.created_at
  FROM publication p
 UNION ALL
SELECT o.id, o.session_id, o.seq, o.name, o.attrs, o.node_id, o.epoch, o.txid, o.created_at
  FROM outbox o;
