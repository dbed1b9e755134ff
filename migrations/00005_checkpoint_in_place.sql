-- +goose Up
-- A session's current checkpoint is rewritten in place, one row a session, and the versions
-- before it (kept only when more than one is configured) move to their own table. A new row
-- and an old one deleted on every change cost a routing node that checkpoints with each
-- change about a third of its write rate (an index entry in, one out, a dead tuple to vacuum);
-- an update of a row whose indexed key does not change is a HOT update on the same page
-- (docs/benchmarks.md).
CREATE TABLE session_checkpoint_history (
    LIKE session_checkpoints INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMPRESSION,
    PRIMARY KEY (session_id, version),
    FOREIGN KEY (session_id) REFERENCES sessions (session_id) ON DELETE CASCADE
);

INSERT INTO session_checkpoint_history
SELECT c.* FROM session_checkpoints c
 WHERE c.version < (SELECT max(version) FROM session_checkpoints l WHERE l.session_id = c.session_id);
DELETE FROM session_checkpoints c
 WHERE c.version < (SELECT max(version) FROM session_checkpoints l WHERE l.session_id = c.session_id);

ALTER TABLE session_checkpoints DROP CONSTRAINT session_checkpoints_pkey, ADD PRIMARY KEY (session_id);
-- Room on each page for the next version of its rows: an update stays HOT only when the new
-- version fits on the page of the old one.
ALTER TABLE session_checkpoints SET (fillfactor = 50);

-- +goose Down
ALTER TABLE session_checkpoints RESET (fillfactor);
ALTER TABLE session_checkpoints DROP CONSTRAINT session_checkpoints_pkey, ADD PRIMARY KEY (session_id, version);
INSERT INTO session_checkpoints SELECT * FROM session_checkpoint_history;
DROP TABLE session_checkpoint_history;
