package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// multiSession are the transactions allowed to write rows of more than one session, each
// recognised by what it wrote, with why. Every other transaction writes the rows of at most
// one session, so that on Citus it runs on that session's shard (and, when an interaction
// enters or leaves a session, on the shard of its live_interactions row).
var multiSession = []struct {
	name, why string
	// is tells the transaction by its rows.
	is func(tx auditedTx) bool
}{
	{"associate", "the interaction moves from one session to another in one change: both sessions' rows, " +
		"locked in id order; on Citus a two-shard transaction (two-phase commit)",
		func(tx auditedTx) bool { return tx.wroteEvent("interaction.associate.done") && len(tx.sessions) == 2 }},
	{"node leave", "an orderly shutdown releases every session of the node with the node, at once; on Citus " +
		"a transaction over the shards of those sessions",
		func(tx auditedTx) bool { return slices.Contains(tx.tables, "nodes") }},
	{"orphan assignment in bulk", "the assigner gives up to 250 orphans in one statement (ixn_sessions_assign), " +
		"each session fenced and restored on its own; on Citus a transaction over the shards of those sessions, " +
		"or chunks made per shard",
		func(tx auditedTx) bool {
			return tx.wroteEvent("interaction.restored") && !slices.ContainsFunc(tx.events, func(e string) bool {
				return e != "interaction.restored"
			})
		}},
	{"dispatcher batch", "the dispatcher moves the events it publishes from the outbox to publication, with its " +
		"position: on Citus a DELETE on the shards of the batch's sessions and inserts on the coordinator",
		func(tx auditedTx) bool {
			return slices.Contains(tx.tables, "dispatcher_state") && !slices.ContainsFunc(tx.tables, func(t string) bool {
				return t != "dispatcher_state" && t != "outbox" && !strings.HasPrefix(t, "publication_")
			})
		}},
	{"housekeeping", "retention and key expiry delete old rows of many sessions and change no state; on Citus " +
		"a DELETE on every shard",
		func(tx auditedTx) bool { return tx.onlyDeletes }},
}

// auditedTx is what one transaction wrote, from the test's audit trigger.
type auditedTx struct {
	txid        uint64
	tables      []string
	sessions    []string // the sessions of the rows of per-session tables
	shards      []string // the shard keys of the rows of distributed tables
	events      []string // the outbox events it wrote
	onlyDeletes bool
}

func (tx auditedTx) wroteEvent(name string) bool { return slices.Contains(tx.events, name) }

// installWriteAudit puts a row trigger on every table that records, for each row written
// (old and new), the transaction, the table, the row's session and its shard key under the
// Citus layout: the session for a per-session table, the interaction for live_interactions,
// none for a reference or coordinator table. Test-only: the schema itself has no trigger.
func installWriteAudit(t *testing.T, pool *pgxpool.Pool, placed map[string]testdb.Placement) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
		CREATE TABLE write_audit (n bigserial, txid xid8 NOT NULL DEFAULT pg_current_xact_id(), tbl text NOT NULL,
		                          op text NOT NULL, session_id text, shard text, event text);
		CREATE FUNCTION write_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE
		    j jsonb;
		BEGIN
		    FOREACH j IN ARRAY ARRAY[CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,
		                             CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END] LOOP
		        CONTINUE WHEN j IS NULL;
		        INSERT INTO write_audit (tbl, op, session_id, shard, event)
		        VALUES (TG_TABLE_NAME, TG_OP,
		                CASE WHEN TG_ARGV[0] = 'session_id' THEN j->>'session_id' END,
		                CASE WHEN TG_ARGV[0] <> '' THEN TG_ARGV[0] || ' ' || (j->>TG_ARGV[0]) END,
		                CASE WHEN TG_TABLE_NAME = 'outbox' THEN j->>'name' END);
		    END LOOP;
		    RETURN NULL;
		END $$`); err != nil {
		t.Fatal(err)
	}
	for table, p := range placed {
		column := ""
		if p.Kind == "distributed" {
			column = p.Column
		}
		if _, err := pool.Exec(ctx, fmt.Sprintf(
			`CREATE TRIGGER write_audit AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION write_audit(%s)`,
			pgx.Identifier{table}.Sanitize(), "'"+column+"'")); err != nil {
			t.Fatal(err)
		}
	}
}

// readWriteAudit groups the audited rows by transaction.
func readWriteAudit(t *testing.T, pool *pgxpool.Pool) []auditedTx {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT txid::text::bigint,
		       array_agg(DISTINCT tbl ORDER BY tbl),
		       coalesce(array_agg(DISTINCT session_id ORDER BY session_id) FILTER (WHERE session_id IS NOT NULL), '{}'),
		       coalesce(array_agg(DISTINCT shard ORDER BY shard) FILTER (WHERE shard IS NOT NULL), '{}'),
		       coalesce(array_agg(DISTINCT event ORDER BY event) FILTER (WHERE event IS NOT NULL), '{}'),
		       bool_and(op = 'DELETE')
		  FROM write_audit GROUP BY txid ORDER BY txid`)
	if err != nil {
		t.Fatal(err)
	}
	var txs []auditedTx
	var tx auditedTx
	if _, err := pgx.ForEachRow(rows, []any{&tx.txid, &tx.tables, &tx.sessions, &tx.shards, &tx.events, &tx.onlyDeletes},
		func() error {
			txs = append(txs, tx)
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	return txs
}

// routeOf names the route (as registered, "POST /v1/sessions/:sid/claim") a request path is
// sent to.
func routeOf(routes []string, method, path string) string {
	segs := strings.Split(path, "/")
	for _, r := range routes {
		m, pattern, _ := strings.Cut(r, " ")
		ps := strings.Split(pattern, "/")
		if m != method || len(ps) != len(segs) {
			continue
		}
		match := true
		for i := range ps {
			if !strings.HasPrefix(ps[i], ":") && ps[i] != segs[i] {
				match = false
				break
			}
		}
		if match {
			return r
		}
	}
	return ""
}

// TestWritesStayInOneSession runs every write of the API (every route that is not a read, the
// scenarios that produce every event of the catalog, a write with an Idempotency-Key) and
// every background writer (the dispatcher, request timeouts, orphan assignment, retention, key
// expiry) with an audit of every row written, and proves from the rows that each transaction
// wrote the rows of one session only, except those of multiSession. It also shows which
// transactions reach a second shard: an interaction entering or leaving a session writes its
// live_interactions row, keyed by the interaction.
func TestWritesStayInOneSession(t *testing.T) {
	t.Parallel()
	server := newServer(t)
	placed := testdb.CitusLayout(t, server.pool)
	installWriteAudit(t, server.pool, placed)

	var routes []string
	for _, r := range api.New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{}).Routes() {
		routes = append(routes, r.Method+" "+r.Path)
	}
	var mu sync.Mutex
	written := map[string]bool{}
	record := func(method, path string, status int) {
		if method == http.MethodGet || status >= 300 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		written[routeOf(routes, method, path)] = true
	}
	server.calls = record

	for _, sc := range conformanceScenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := newConformance(t, &client{t: t, base: server.base, pool: server.pool, calls: record}, map[string]int{})
			t.Cleanup(r.endSessions)
			sc.run(r)
		})
	}

	// The writes the scenarios do not make.
	c := &client{t: t, base: server.base, pool: server.pool, calls: record}
	c.ok("POST", "/v1/nodes", `{"node_id":"n3","lease":"1m"}`, http.StatusOK)
	c.ok("POST", "/v1/nodes/n3/heartbeat", "", http.StatusOK)
	c.ok("POST", "/v1/sessions", `{"session_id":"x1","owner_node":"n3"}`, http.StatusCreated)
	c.ok("POST", "/v1/sessions/x1/interactions", `{"interaction_id":"xi1","media":"voice","type":"inbound",
		"parties":[{"party_id":"p1","resource":"+15550001","state":"alerting","role":"customer"},
		           {"party_id":"p2","resource":"7001","state":"established","role":"agent"}],"udata":{"lang":"en"}}`,
		http.StatusCreated)
	c.ok("PUT", "/v1/sessions/x1/checkpoint", `{"datamodel":{"counter":1}}`, http.StatusOK)
	c.ok("PATCH", "/v1/sessions/x1/interactions/xi1/genesys", `{"voice":{"dnis":"8001"}}`, http.StatusOK)
	c.ok("PUT", "/v1/sessions/x1/interactions/xi1/udata", `{"origin":"media","data":{"a":1}}`, http.StatusOK)
	c.ok("DELETE", "/v1/sessions/x1/interactions/xi1/udata/a", "", http.StatusOK)
	c.ok("PATCH", "/v1/sessions/x1/interactions/xi1/parties/p1", `{"state":"established"}`, http.StatusOK)
	c.ok("DELETE", "/v1/sessions/x1/interactions/xi1/parties/p2", "", http.StatusOK)
	c.ok("POST", "/v1/sessions/x1/requests", `{"request_id":"xr1","action":"terminate","interaction_id":"xi1","timeout":"1h"}`,
		http.StatusAccepted)
	if got := c.do("POST", "/v1/sessions/x1/interactions", strings.NewReader(`{"interaction_id":"xi2","media":"chat","type":"inbound"}`),
		http.Header{api.IdempotencyHeader: {"k1"}}, nil); got != http.StatusCreated {
		t.Fatalf("a write with an Idempotency-Key: status %d", got)
	}
	c.ok("POST", "/v1/sessions/x1/release", "", http.StatusOK)
	c.ok("POST", "/v1/sessions/x1/claim", `{"node_id":"n3"}`, http.StatusOK)
	c.ok("POST", "/v1/sessions", `{"session_id":"x2","owner_node":"n3"}`, http.StatusCreated)
	c.ok("POST", "/v1/nodes", `{"node_id":"n4","lease":"1m"}`, http.StatusOK)
	c.ok("POST", "/v1/nodes/n3/leave", `{"to_node":"n4"}`, http.StatusOK)

	var missing []string
	for _, r := range routes {
		if !strings.HasPrefix(r, "GET ") && !written[r] {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		t.Errorf("write routes this test did not run (add a call): %v", missing)
	}

	// The background writers.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := service.New(server.pool, service.Config{})
	if _, err := server.pool.Exec(ctx, "UPDATE action_requests SET deadline = now() - interval '1 s' WHERE request_id = 'xr1'"); err != nil {
		t.Fatal(err)
	}
	if n, err := store.ExpireRequests(ctx, 100); err != nil || n != 1 {
		t.Fatalf("request timeouts: %d requests, %v; want 1", n, err)
	}
	if _, err := server.pool.Exec(ctx, "UPDATE nodes SET lease_expires_at = now() - interval '1 s' WHERE node_id = 'n4'"); err != nil {
		t.Fatal(err)
	}
	if n, err := store.AssignOrphans(ctx, 100); err != nil || n == 0 {
		t.Fatalf("orphan assignment: %d sessions, %v; want some", n, err)
	}
	var events int64
	if err := server.pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&events); err != nil {
		t.Fatal(err)
	}
	allPublished := make(chan struct{})
	var once sync.Once
	d := dispatcher.New(dispatcher.Config{
		ConnString: server.pool.Config().ConnString(), Instance: "test", PollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Published: func(last int64) {
			if last >= events {
				once.Do(func() { close(allPublished) })
			}
		},
	})
	dctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(dctx) })
	select {
	case <-allPublished:
	case <-ctx.Done():
		t.Fatalf("the dispatcher did not publish the %d events", events)
	}
	stop()
	wg.Wait()
	if _, err := store.DropPublishedDays(ctx, time.Now().Add(time.Hour), 7); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PruneOrigins(ctx, time.Now().Add(time.Hour), 5000); err != nil {
		t.Fatal(err)
	}
	if _, err := server.pool.Exec(ctx, "UPDATE idempotency_keys SET expires_at = now() - interval '1 s'"); err != nil {
		t.Fatal(err)
	}
	if n, err := store.PruneIdempotencyKeys(ctx, 100); err != nil || n == 0 {
		t.Fatalf("key expiry: %d keys, %v; want some", n, err)
	}

	// The guard of "live in at most one session" agrees with the interactions after every
	// path that brings an interaction into a session or takes it out.
	var differ int
	if err := server.pool.QueryRow(ctx, `
		SELECT count(*) FROM (
		  (SELECT interaction_id, session_id FROM interactions WHERE state <> 'deleted'
		   EXCEPT SELECT interaction_id, session_id FROM live_interactions)
		  UNION ALL
		  (SELECT interaction_id, session_id FROM live_interactions
		   EXCEPT SELECT interaction_id, session_id FROM interactions WHERE state <> 'deleted')) d`).Scan(&differ); err != nil {
		t.Fatal(err)
	}
	if differ != 0 {
		t.Errorf("live_interactions and the live interactions differ by %d rows", differ)
	}

	// One session per transaction, but for those named.
	seen := map[string]int{}
	var reachingLiveness, total int
	for _, tx := range readWriteAudit(t, server.pool) {
		total++
		if slices.Contains(tx.tables, "live_interactions") {
			reachingLiveness++
		}
		// A shard key other than a session is an interaction's liveness row, nothing else.
		for _, shard := range tx.shards {
			if !strings.HasPrefix(shard, "session_id ") && !strings.HasPrefix(shard, "interaction_id ") {
				t.Errorf("transaction %d writes a row of shard %q", tx.txid, shard)
			}
		}
		if len(tx.sessions) <= 1 {
			continue
		}
		named := ""
		for _, m := range multiSession {
			if m.is(tx) {
				named = m.name
				break
			}
		}
		if named == "" {
			t.Errorf("transaction %d writes rows of sessions %v (tables %v, events %v): a state change must stay in one session",
				tx.txid, tx.sessions, tx.tables, tx.events)
			continue
		}
		seen[named]++
	}
	for _, m := range multiSession {
		if seen[m.name] == 0 {
			t.Errorf("no transaction was %q: the exception is not exercised (or no longer needed)", m.name)
		}
	}
	if reachingLiveness == 0 {
		t.Error("no transaction wrote live_interactions")
	}
	t.Logf("%d transactions audited; %d reached an interaction's live_interactions row; across sessions: %v",
		total, reachingLiveness, seen)
}
