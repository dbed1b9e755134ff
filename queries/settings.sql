-- name: CommitsWithoutFlush :exec
-- This connection's commits no longer wait for their WAL to reach the disk: for the
-- background workers whose writes are derived from committed events and redone the same way
-- after a crash that lost them (the dispatcher's and the rollup worker's; see where they call
-- it). Any later commit that does wait (a writer's) flushes them with it.
SELECT set_config('synchronous_commit', 'off', false);
