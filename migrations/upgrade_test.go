package migrations_test

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/ixnstore/ixnstore/migrations"
)

// seeds are the data a database holds at a version, in plain SQL of that version's schema
// (the code of sql/ is not there while an old database is built). A database at version v
// holds the seeds of every version up to v, carried through the migrations in between. A
// migration that adds a table adds a seed for it here, under its version.
var seeds = map[int64]string{
	1:  baselineSeed,
	2:  checkpointsSeed,
	7:  idempotencySeed,
	10: tokensSeed,
	20: natsBridgeSeed,
	23: liveInteractionsSeed,
	40: rollupsSeed,
}

// rollupsSeed: the rollup worker's position, an interaction it counted and the rollup rows
// that count it (made up, as the worker would have written them).
const rollupsSeed = `
INSERT INTO report_rollup_state (name, last_pub_seq, settled_before, leader) VALUES ('default', 7, '2026-01-01 10:00+00', 'a');
INSERT INTO report_rollup_counted (session_id, interaction_id, hour, media, node, resources, outcome, handle_us,
                                   connect_us, transfers, conferences)
VALUES ('s-1', 'i-40', '2026-01-01 09:00+00', 'voice', 'n1', '{agent-1}', 'completed', 61000000, 2500000, 1, 0);
INSERT INTO report_rollups (dim, hour, key, total, completed, abandoned, merged, moved, handle_sum_us, handle_buckets,
                            handle_counts, connected, connect_sum_us, connect_buckets, connect_counts, transfers, conferences)
SELECT d.dim, '2026-01-01 09:00+00', d.key, 1, 1, 0, 0, 0, 61000000, '{190}', '{1}', 1, 2500000, '{22}', '{1}', 1, 0
  FROM (VALUES ('media', 'voice'), ('node', 'n1'), ('resource', 'agent-1')) AS d(dim, key);
`

// liveInteractionsSeed: an interaction added to a session, live there.
const liveInteractionsSeed = `
INSERT INTO interactions (session_id, interaction_id, media, type, owner_node)
VALUES ('s-1', 'i-23', 'chat', 'inbound', NULL);
INSERT INTO live_interactions (interaction_id, session_id) VALUES ('i-23', 's-1');
`

// idempotencySeed: the answers kept for two Idempotency-Keys, one of them expired.
const idempotencySeed = `
INSERT INTO idempotency_keys (session_id, key, request_hash, status, body, expires_at)
SELECT s.session_id, k.key, sha256(convert_to(k.key, 'UTF8')), 200, convert_to('{"events":[]}', 'UTF8'),
       now() + k.ttl
  FROM (SELECT session_id FROM sessions ORDER BY session_id LIMIT 1) s,
       (VALUES ('k-1', interval '1 day'), ('k-2', interval '-1 hour')) AS k(key, ttl);
`

// tokensSeed: a token of each role, one expired and one revoked (the hashes are made up).
const tokensSeed = `
INSERT INTO api_tokens (name, role, node_id, secret_hash, expires_at, revoked_at) VALUES
  ('admin', 'admin', NULL, sha256('a'), NULL, NULL),
  ('n1', 'node', 'n1', sha256('n'), NULL, NULL),
  ('media', 'adapter', NULL, sha256('m'), '2030-01-01', NULL),
  ('old', 'reporting', NULL, sha256('r'), '2020-01-01', '2020-01-02');
`

// natsBridgeSeed: two bridges' positions, one of them never moved.
const natsBridgeSeed = `
INSERT INTO nats_bridge_state (stream, last_pub_seq, leader) VALUES ('IXNSTORE', 42, 'a'), ('OTHER', 0, NULL);
`

// checkpointsSeed: three versions of the checkpoint of some sessions, with a timer each.
const checkpointsSeed = `
INSERT INTO session_checkpoints (session_id, version, datamodel, configuration, timers, epoch, node_id, size_bytes)
SELECT 's-' || g, v, jsonb_build_object('counter', v, 'name', 'session ' || g), ARRAY['main', 'waiting'],
       jsonb_build_array(jsonb_build_object('sendid', 't' || v, 'event', 'timeout',
                                            'due_at', now() + interval '30 seconds')),
       g, 'node-1', 100
  FROM generate_series(1, 40, 3) g, generate_series(1, 3) v;
`

const baselineSeed = `
INSERT INTO nodes (node_id, address, capacity, lease_ms, lease_expires_at, live)
VALUES ('node-1', 'http://node-1:8080', 100, 10000, now() + interval '10 seconds', true),
       ('node-2', NULL, 50, 10000, now() - interval '1 hour', false);

INSERT INTO sessions (session_id, tenant_id, state, owner_node, lease_epoch, last_seq, ended_at)
SELECT 's-' || g, 'tenant-' || g % 3, CASE WHEN g % 4 = 0 THEN 'ended' ELSE 'active' END::session_state,
       CASE WHEN g % 2 = 0 THEN 'node-1' END, g, 3, CASE WHEN g % 4 = 0 THEN now() END
  FROM generate_series(1, 40) g;

INSERT INTO interactions (session_id, interaction_id, media, type, state, controlled, parent_id, tenant_id,
                          deleted_at, moved_to, owner_node, first_established_at, transfers, conferences)
SELECT 's-' || g, 'i-' || g || '-' || k, CASE WHEN k = 1 THEN 'voice' ELSE 'chat' END,
       CASE WHEN k = 1 THEN 'inbound' ELSE 'consult' END::interaction_type,
       CASE WHEN k = 1 THEN 'present' ELSE 'deleted' END::interaction_state, k = 1,
       CASE WHEN k = 2 THEN 'i-' || g || '-1' END, 'tenant-' || g % 3,
       CASE WHEN k = 2 THEN now() END, CASE WHEN k = 2 AND g % 5 = 0 THEN 's-1' END,
       CASE WHEN g % 2 = 0 THEN 'node-1' END, now() - interval '1 minute', g % 2, g % 3
  FROM generate_series(1, 40) g, generate_series(1, 2) k;

INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
SELECT i.session_id, i.interaction_id, 'p-' || n, CASE WHEN n = 1 THEN '+3312345678' ELSE 'agent-' || n END,
       CASE WHEN n = 1 THEN 'established' ELSE 'alerting' END::party_state,
       CASE WHEN n = 1 THEN 'customer' ELSE 'agent' END::party_role
  FROM interactions i, generate_series(1, 2) n;

INSERT INTO user_data (session_id, interaction_id, key, value)
SELECT session_id, interaction_id, 'account', to_jsonb(interaction_id) FROM interactions
UNION ALL
SELECT session_id, interaction_id, 'priority', '{"level": 3, "vip": true}' FROM interactions WHERE media = 'voice';

INSERT INTO outbox (session_id, seq, name, attrs, node_id, epoch)
SELECT s.session_id, n, (ARRAY['interaction.added', 'interaction.present', 'interaction.partyadded'])[n]::event_name,
       jsonb_build_object('interactionid', s.session_id || '-' || n), s.owner_node, s.lease_epoch
  FROM sessions s, generate_series(1, 3) n;

INSERT INTO publication (pub_seq, txid, outbox_id, session_id, seq, node_id)
SELECT row_number() OVER (ORDER BY id), txid, id, session_id, seq, node_id FROM outbox WHERE seq < 3;
UPDATE dispatcher_state SET last_pub_seq = (SELECT count(*) FROM publication), leader = 'node-1';

INSERT INTO action_requests (session_id, request_id, action, interaction_id, media, params, state, refused, error,
                             description, node_id, epoch, timeout_ms, deadline)
SELECT 's-' || g, 'r-' || g, (enum_range(NULL::action_name))[1 + g % 8], 'i-' || g || '-1', 'voice',
       jsonb_build_object('resource', 'agent-2'), CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'pending' END::request_state,
       g % 3 = 0, CASE WHEN g % 3 = 0 THEN 'invalidresource' END, CASE WHEN g % 3 = 0 THEN 'no such party' END,
       'node-1', g, 5000, now() + interval '5 seconds'
  FROM generate_series(1, 10) g;

INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
SELECT p.session_id, p.interaction_id, p.resource, p.party_id, p.role, i.created_at
  FROM parties p JOIN interactions i USING (session_id, interaction_id);

INSERT INTO interaction_origins (session_id, interaction_id, seq, parties)
SELECT session_id, interaction_id, 1, '[{"party_id": "p-1", "resource": "+3312345678", "state": "established"}]'
  FROM interactions;
`

// tableDigest is what a table holds, by the columns it had: its rows and a hash of them.
type tableDigest struct {
	columns []string
	rows    int64
	hash    string
}

// splits are the tables whose rows a later migration divides among several tables: after it,
// the table's rows are those of the tables named (by the columns the table had), as long as
// the others did not exist yet at the version the upgrade starts from.
var splits = map[string][]string{
	// 00005: the versions before the current one move to their own table.
	"session_checkpoints": {"session_checkpoints", "session_checkpoint_history"},
}

// reshape is how a later migration changed a table's rows, for an upgrade from before it
// (before the column added existed): the rows the table held are, after it, those the held
// condition selects, and the columns it replaced read as the expressions given.
type reshape struct {
	added   string
	held    string
	columns map[string]string
}

// moves are tables some of whose rows a migration moved into another table, which holds them
// with the same columns among others: their rows are read back from both, once the other has
// the column named (migration 90: the published events left the outbox for publication).
var moves = map[string]struct{ to, when string }{
	"outbox": {to: "publication", when: "attrs"},
}

func movedInto(table string, tables []string, before map[string]tableDigest) []string {
	m, ok := moves[table]
	if !ok || slices.Contains(before[m.to].columns, m.when) {
		return tables
	}
	return append(tables, m.to)
}

var reshapes = map[string]reshape{
	// Migration 90: publication holds the events it numbers, outbox_id became id.
	"publication": {added: "attrs", columns: map[string]string{"outbox_id": "id"}},
	// 00080: blocks of hours summed from the hourly rows, which stay as they were; each
	// histogram's bucket and count arrays packed in one byte string.
	"report_rollups": {added: "hours", held: "hours = 1", columns: map[string]string{
		"handle_buckets":  "ARRAY(SELECT bucket FROM ixn_histogram_entries(handle_hist))",
		"handle_counts":   "ARRAY(SELECT n FROM ixn_histogram_entries(handle_hist))",
		"connect_buckets": "ARRAY(SELECT bucket FROM ixn_histogram_entries(connect_hist))",
		"connect_counts":  "ARRAY(SELECT n FROM ixn_histogram_entries(connect_hist))",
	}},
}

// reshapeOf is how the upgrade from a table as it was reshaped it (the zero reshape: not).
func reshapeOf(table string, was tableDigest) reshape {
	if r, ok := reshapes[table]; ok && !slices.Contains(was.columns, r.added) {
		return r
	}
	return reshape{}
}

// bookkeeping tables change with every migration by design.
var bookkeeping = []string{"goose_db_version", "schema_code"}

// digestTables digests every table of the database, by all of its columns.
func digestTables(ctx context.Context, pool *pgxpool.Pool) (map[string]tableDigest, error) {
	rows, err := pool.Query(ctx, `
		SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum)
		  FROM pg_class c
		  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		 GROUP BY c.relname`)
	if err != nil {
		return nil, err
	}
	var (
		table   string
		columns []string
	)
	tables := map[string][]string{}
	if _, err := pgx.ForEachRow(rows, []any{&table, &columns}, func() error {
		tables[table] = slices.Clone(columns)
		return nil
	}); err != nil {
		return nil, err
	}
	digests := map[string]tableDigest{}
	for table, columns := range tables {
		if slices.Contains(bookkeeping, table) {
			continue
		}
		d, err := digestTable(ctx, pool, []string{table}, columns, reshape{})
		if err != nil {
			return nil, err
		}
		digests[table] = d
	}
	return digests, nil
}

// digestTable digests the rows of the tables (one, or those a table was split into) by the
// columns given, in a text form that a widening of a column's type (int to bigint, say)
// does not change.
func digestTable(ctx context.Context, pool *pgxpool.Pool, tables []string, columns []string, r reshape) (tableDigest, error) {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	for i, c := range columns {
		if expr, ok := r.columns[c]; ok {
			quoted[i] = expr + " AS " + quoted[i]
		}
	}
	selects := make([]string, len(tables))
	for i, table := range tables {
		selects[i] = fmt.Sprintf("SELECT %s FROM %s", strings.Join(quoted, ", "), pgx.Identifier{table}.Sanitize())
		if r.held != "" {
			selects[i] += " WHERE " + r.held
		}
	}
	d := tableDigest{columns: columns}
	err := pool.QueryRow(ctx, fmt.Sprintf(
		`SELECT count(*), coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text COLLATE "C")), '')
		   FROM (%s) r`, strings.Join(selects, " UNION ALL "))).
		Scan(&d.rows, &d.hash)
	return d, err
}

// splitInto is what the table's rows are found in after the upgrade: the tables it is split
// into when none of the others existed before, else itself.
func splitInto(table string, before map[string]tableDigest) []string {
	into, ok := splits[table]
	if !ok {
		return []string{table}
	}
	for _, other := range into {
		if _, existed := before[other]; existed && other != table {
			return []string{table}
		}
	}
	return into
}

// upgradeLosses builds a database at version from with the migrations given, holding the
// seeds up to that version, migrates it to the latest (and applies the code), and returns
// what of the data it held is no longer there as it was.
func upgradeLosses(t *testing.T, migrationFiles fs.FS, from int64) []string {
	t.Helper()
	ctx := context.Background()
	pool := scratchDB(t)
	m, err := migrations.NewMigratorFS(pool, nil, migrationFiles, migrations.Code)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, v := range versions(t, migrationFiles) {
		if v > from {
			break
		}
		if err := m.UpTo(ctx, v); err != nil {
			t.Fatalf("migrating to %d: %v", v, err)
		}
		if seed, ok := seeds[v]; ok {
			if _, err := pool.Exec(ctx, seed); err != nil {
				t.Fatalf("the seed of version %d: %v", v, err)
			}
		}
	}
	before, err := digestTables(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for table, d := range before {
		if d.rows == 0 {
			t.Errorf("the seeds of version %d leave table %s empty: add rows to it in seeds", from, table)
		}
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("migrating from %d to the latest: %v", from, err)
	}
	var losses []string
	for table, was := range before {
		now, err := digestTable(ctx, pool, movedInto(table, splitInto(table, before), before), was.columns, reshapeOf(table, was))
		switch {
		case err != nil:
			losses = append(losses, fmt.Sprintf("%s: its columns %v can no longer be read: %v", table, was.columns, err))
		case now.rows != was.rows:
			losses = append(losses, fmt.Sprintf("%s: %d rows, then %d", table, was.rows, now.rows))
		case now.hash != was.hash:
			losses = append(losses, fmt.Sprintf("%s: the values of its columns %v changed", table, was.columns))
		}
	}
	slices.Sort(losses)
	return losses
}

// versions are the migrations' versions, in order, as goose reads them from the file names.
func versions(t *testing.T, migrationFiles fs.FS) []int64 {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var vs []int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// madeUp names a migration a test makes up: the one after the last real migration, whose
// version it returns too.
func madeUp(t *testing.T, what string) (name string, last int64) {
	t.Helper()
	vs := versions(t, migrations.Files)
	last = vs[len(vs)-1]
	return fmt.Sprintf("%05d_%s.sql", last+1, what), last
}

// TestUpgradesKeepData: every migration after the baseline must take a database of the
// version before it, holding data, to the latest with that data intact.
func TestUpgradesKeepData(t *testing.T) {
	vs := versions(t, migrations.Files)
	if len(vs) < 2 {
		t.Logf("only the baseline (%v): no upgrade to check yet; TestUpgradeCheck shows the check works", vs)
	}
	for i := 1; i < len(vs); i++ {
		from := vs[i-1]
		t.Run(fmt.Sprintf("from_%d", from), func(t *testing.T) {
			if losses := upgradeLosses(t, migrations.Files, from); len(losses) > 0 {
				t.Fatalf("migrating from version %d to the latest loses data:\n  %s", from, strings.Join(losses, "\n  "))
			}
		})
	}
}

// TestUpgradeCheck proves the check of TestUpgradesKeepData with migrations made up for it:
// one that only adds passes, ones that lose data are caught.
func TestUpgradeCheck(t *testing.T) {
	for _, tc := range []struct {
		name, up string
		lost     []string // what the losses must name, one each
	}{
		{name: "adds a column with a default", up: `ALTER TABLE interactions ADD COLUMN priority int NOT NULL DEFAULT 0;`},
		{name: "widens a column", up: `
			DROP VIEW IF EXISTS report_interactions CASCADE;
			ALTER TABLE interactions ALTER COLUMN transfers TYPE bigint;`},
		{name: "deletes rows", up: `DELETE FROM parties WHERE role = 'agent';`, lost: []string{"parties: 160 rows, then 80"}},
		{name: "changes values", up: `UPDATE user_data SET value = '"x"' WHERE key = 'account';`,
			lost: []string{"user_data: the values"}},
		{name: "drops a column", up: `ALTER TABLE nodes DROP COLUMN address;`, lost: []string{"nodes: its columns"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := copyFS(t, migrations.Files, func(_, content string) string { return content })
			name, last := madeUp(t, "made_up")
			files[name] = &fstest.MapFile{Data: []byte("-- +goose Up\n" + tc.up + "\n-- +goose Down\nSELECT 1;\n")}
			losses := upgradeLosses(t, files, last)
			if len(losses) != len(tc.lost) {
				t.Fatalf("losses %q, want %d naming %q", losses, len(tc.lost), tc.lost)
			}
			for i, want := range tc.lost {
				if !strings.HasPrefix(losses[i], want) {
					t.Errorf("loss %q, want one starting %q", losses[i], want)
				}
			}
		})
	}
}
