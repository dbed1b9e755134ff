package migrations_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/migrations"
)

// notInLayout are the tables sql/citus/layout.sql leaves as plain tables of the coordinator:
// the migrations' own bookkeeping, which only the coordinator reads.
var notInLayout = []string{"goose_db_version", "schema_code"}

// allowedTriggers are the triggers the schema may have, by table: none. Citus refuses to
// distribute a table with triggers (unless citus.enable_unsafe_triggers, and then a trigger
// must touch only its row's own shard), and a reference table's trigger runs on every
// worker. The reporting facts the triggers used to keep are kept by the SQL functions that
// write the rows (migration 00023). A trigger on a coordinator-local table (publication,
// dispatcher_state, api_tokens) would be safe; there is none.
var allowedTriggers = map[string][]string{}

func queryStrings(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCitusLayout runs the layout against stand-ins that refuse what Citus refuses, and checks
// the rules of a schema distributed by session on the catalog: every table is placed; every
// unique index and foreign key of a per-session table carries session_id; every session_id
// is of one type; no trigger; nothing local or copied points at a sharded table.
func TestCitusLayout(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	placed := testdb.CitusLayout(t, pool)

	tables := queryStrings(t, pool, `
		SELECT relname::text FROM pg_class
		 WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition ORDER BY 1`)
	var perSession []string
	for _, table := range tables {
		p, ok := placed[table]
		switch {
		case !ok && !slices.Contains(notInLayout, table):
			t.Errorf("table %s is not in sql/citus/layout.sql: say whether it is per-session (distributed by session_id), "+
				"a reference table or the coordinator's", table)
		case ok && p.Kind == "distributed" && p.Column == "session_id":
			perSession = append(perSession, table)
			if p.Group != placed["sessions"].Group {
				t.Errorf("per-session table %s is not colocated with sessions", table)
			}
		case ok && p.Kind == "distributed":
			if table != "live_interactions" || p.Column != "interaction_id" {
				t.Errorf("table %s is distributed by %s: only live_interactions is keyed by something else than the session (by interaction_id)",
					table, p.Column)
			}
		}
	}
	if len(perSession) < 11 {
		t.Fatalf("per-session tables %v: the layout distributes fewer than the 11 of issue 17", perSession)
	}

	// Every unique index of a per-session table includes session_id.
	for _, bad := range queryStrings(t, pool, `
		SELECT format('%s: %s', i.indrelid::regclass, pg_get_indexdef(i.indexrelid))
		  FROM pg_index i
		 WHERE i.indrelid::regclass::text = ANY ($1) AND (i.indisunique OR i.indisexclusion)
		   AND NOT EXISTS (SELECT 1 FROM pg_attribute a
		                    WHERE a.attrelid = i.indrelid AND a.attname = 'session_id' AND a.attnum = ANY (i.indkey))`,
		perSession) {
		t.Errorf("unique index without session_id: %s", bad)
	}
	// Every foreign key of a per-session table joins session_id to session_id.
	for _, bad := range queryStrings(t, pool, `
		SELECT format('%s: %s', c.conrelid::regclass, pg_get_constraintdef(c.oid))
		  FROM pg_constraint c
		 WHERE c.contype = 'f' AND (c.conrelid::regclass::text = ANY ($1) OR c.confrelid::regclass::text = ANY ($1))
		   AND coalesce(array_position(c.conkey, (SELECT attnum FROM pg_attribute WHERE attrelid = c.conrelid AND attname = 'session_id'))
		                 = array_position(c.confkey, (SELECT attnum FROM pg_attribute WHERE attrelid = c.confrelid AND attname = 'session_id')),
		                false) = false`,
		perSession) {
		t.Errorf("foreign key that does not join session_id to session_id: %s", bad)
	}
	// One type for every session_id, tables and views alike.
	if types := queryStrings(t, pool, `
		SELECT DISTINCT format('%s collate %s', format_type(a.atttypid, a.atttypmod), coalesce(co.collname, '-'))
		  FROM pg_attribute a
		  JOIN pg_class c ON c.oid = a.attrelid AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
		  LEFT JOIN pg_collation co ON co.oid = a.attcollation
		 WHERE a.attname = 'session_id' AND NOT a.attisdropped`); len(types) != 1 {
		t.Errorf("session_id columns are of %d types %v, want one", len(types), types)
	}
	// No trigger but those allowed.
	rows, err := pool.Query(context.Background(), `
		SELECT tgrelid::regclass::text, tgname::text FROM pg_trigger t
		  JOIN pg_class c ON c.oid = t.tgrelid AND c.relnamespace = 'public'::regnamespace
		 WHERE NOT t.tgisinternal ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var table, trigger string
	if _, err := pgx.ForEachRow(rows, []any{&table, &trigger}, func() error {
		if !slices.Contains(allowedTriggers[table], trigger) {
			t.Errorf("trigger %s on %s: a sharded table may not have it; do its work in the SQL functions", trigger, table)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Nothing on the coordinator alone or copied to every worker points at a sharded table.
	for _, bad := range queryStrings(t, pool, `
		SELECT format('%s: %s', c.conrelid::regclass, pg_get_constraintdef(c.oid))
		  FROM pg_constraint c
		 WHERE c.contype = 'f' AND NOT (c.conrelid::regclass::text = ANY ($1)) AND c.confrelid::regclass::text = ANY ($2)`,
		perSession, append(slices.Clone(perSession), "live_interactions")) {
		t.Errorf("foreign key from a table that is not sharded to one that is: %s", bad)
	}
}

// TestCitusStandInsRefuse proves the stand-ins of TestCitusLayout: each of the errors issue 17
// met on a real Citus 13.2 cluster, put back into the schema, is refused.
func TestCitusStandInsRefuse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, change, want string }{
		{"a unique index across sessions",
			`CREATE UNIQUE INDEX interactions_live_uq ON interactions (interaction_id) WHERE state <> 'deleted'`,
			"constraints that do not include the partition column"},
		{"a trigger",
			`CREATE FUNCTION t_noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
			 CREATE TRIGGER parties_noop AFTER INSERT ON parties FOR EACH ROW EXECUTE FUNCTION t_noop()`,
			"because it has triggers"},
		{"a session id of another type",
			`DROP VIEW events; ALTER TABLE outbox ALTER COLUMN session_id TYPE text COLLATE "C"`,
			"Distribution column types don't match"},
		{"a foreign key with session_id elsewhere",
			`CREATE UNIQUE INDEX ON interactions (interaction_id, session_id);
			 ALTER TABLE user_data ADD FOREIGN KEY (session_id, interaction_id) REFERENCES interactions (interaction_id, session_id)`,
			"Foreign keys are supported in two cases"},
		{"a foreign key to a table of the coordinator",
			`ALTER TABLE outbox ADD FOREIGN KEY (node_id) REFERENCES nats_bridge_state (stream)`,
			"not colocated or not referencing a reference table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := testdb.Pool(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := pool.Exec(ctx, tc.change); err != nil {
				t.Fatal(err)
			}
			_, err := testdb.ApplyCitusLayout(ctx, pool)
			if err == nil {
				t.Fatalf("the layout was accepted, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) && !strings.Contains(detail(err), tc.want) {
				t.Fatalf("error %v (%s), want one with %q", err, detail(err), tc.want)
			}
		})
	}
}

// TestApplyCitusLayoutWantsCitus: the command's layout step refuses a database without Citus
// and changes nothing.
func TestApplyCitusLayoutWantsCitus(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done, err := migrations.ApplyCitusLayout(ctx, pool, nil)
	if !errors.Is(err, migrations.ErrNoCitus) || done {
		t.Fatalf("ApplyCitusLayout on plain PostgreSQL: %v, %v; want ErrNoCitus", done, err)
	}
}

// detail is the DETAIL of a PostgreSQL error, where Citus puts the reason.
func detail(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Detail
	}
	return ""
}

// TestLiveInteractionsFromTheLiveOnes: migration 00023 records every interaction that was live
// before it, in its session, and no other.
func TestLiveInteractionsFromTheLiveOnes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := scratchDB(t)
	m, err := migrations.NewMigratorFS(pool, nil, migrations.Files, migrations.Code)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.UpTo(ctx, 22); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, baselineSeed); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var live, recorded, differ int
	if err := pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM interactions WHERE state <> 'deleted'),
		       (SELECT count(*) FROM live_interactions),
		       (SELECT count(*) FROM (SELECT interaction_id, session_id FROM interactions WHERE state <> 'deleted'
		                              EXCEPT SELECT interaction_id, session_id FROM live_interactions) d)`).
		Scan(&live, &recorded, &differ); err != nil {
		t.Fatal(err)
	}
	if live == 0 || recorded != live || differ != 0 {
		t.Fatalf("%d live interactions, %d recorded in live_interactions, %d not as they were", live, recorded, differ)
	}
}
