package archive_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/archive"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// day is the day the archived sessions of these tests ended on: long ago.
var day, _ = archive.ParseDay("2026-01-15")

// fill makes n sessions with everything a session can hold (interactions with parties and
// user data, resources, origins, a finished request, checkpoints with history), ends them and
// moves their end to day, 10:00 UTC.
func fill(t *testing.T, ctx context.Context, pool *pgxpool.Pool, prefix string, n int) []string {
	t.Helper()
	s := service.New(pool, service.Config{CheckpointKeep: 3})
	role := "agent"
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%03d", prefix, i)
		ids = append(ids, id)
		tgt := service.Target{SessionID: id}
		must(t, func() error { _, err := s.CreateSession(ctx, service.NewSession{SessionID: id}); return err })
		for j := range 2 {
			ixn := fmt.Sprintf("%s-i%d", id, j)
			must(t, func() error {
				_, err := s.AddInteraction(ctx, tgt, service.NewInteraction{InteractionID: ixn, Media: "voice", Type: "inbound",
					Parties:  []service.NewParty{{PartyID: ixn + "-c", Resource: "+3312345", State: "established"}},
					UserData: map[string]json.RawMessage{"lang": json.RawMessage(`"fr"`), "n": json.RawMessage(fmt.Sprint(j))}})
				return err
			})
			must(t, func() error {
				_, err := s.AddParty(ctx, tgt, ixn, service.NewParty{PartyID: ixn + "-a", Resource: "agent-7", State: "alerting", Role: &role})
				return err
			})
		}
		for v := range 2 {
			must(t, func() error {
				_, err := s.WriteCheckpoint(ctx, tgt, service.NewCheckpoint{DataModel: json.RawMessage(fmt.Sprintf(`{"step":%d,"s":"é\n"}`, v)),
					Configuration: []string{"main"}})
				return err
			})
		}
		must(t, func() error {
			res := "agent-7"
			_, err := s.CreateRequest(ctx, tgt, service.NewRequest{Action: "accept", InteractionID: id + "-i0", Resource: &res})
			return err
		})
		must(t, func() error { _, err := s.EndSession(ctx, tgt); return err }) // the request fails with it
	}
	exec(t, ctx, pool, `UPDATE sessions SET ended_at = $2::timestamptz + interval '10 hours' WHERE session_id = ANY ($1)`, ids, day.Start())
	return ids
}

func must(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

func exec(t *testing.T, ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// tables are every table a session's rows are in, archived or not.
var tables = append(slices.Clone(archive.Tables), "live_interactions")

// snapshot is every row of every archived table that belongs to the sessions, as text.
func snapshot(t *testing.T, ctx context.Context, pool *pgxpool.Pool, ids []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := pool.Query(ctx, fmt.Sprintf(
			`SELECT row_to_json(t)::text FROM %s t WHERE session_id = ANY ($1) ORDER BY 1`, table), ids)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], l)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
	}
	return out
}

func newArchiver(t *testing.T, pool *pgxpool.Pool, dir string, batch int, written func(archive.Day) error) *archive.Archiver {
	t.Helper()
	// Pages of 2 ids: the listing of a day goes over several pages.
	a, err := archive.New(pool, archive.Config{Dir: dir, Batch: batch, Page: 2, WrittenBy: "test", Written: written})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A day archived, then restored, is every row of every table it removed, equal; and the
// archive's files hold each session once.
func TestArchiveThenRestoreIsEqual(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	ids := fill(t, ctx, pool, "s", 7)
	before := snapshot(t, ctx, pool, ids)
	for _, table := range archive.Tables {
		if len(before[table]) == 0 {
			t.Fatalf("the sessions have no %s: the test proves nothing for it", table)
		}
	}
	dir := t.TempDir()
	a := newArchiver(t, pool, dir, 3, nil) // batches of 3: 7 sessions are 3 statements

	days, err := a.Run(ctx, day.Next(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Removed != 7 || days[0].Interactions != 14 || days[0].Archived != 7 || days[0].Left != 0 {
		t.Fatalf("run: %+v, want one day, 7 sessions and 14 interactions removed", days)
	}
	for table, rows := range snapshot(t, ctx, pool, ids) {
		if len(rows) > 0 {
			t.Errorf("%s still holds %d rows of the archived sessions", table, len(rows))
		}
	}
	list, err := archive.List(dir)
	if err != nil || len(list) != 1 || list[0].Day != day.String() || list[0].Sessions != 7 || list[0].Interactions != 14 {
		t.Fatalf("list: %+v (err %v)", list, err)
	}
	if again, err := a.Run(ctx, day.Next(), 0); err != nil || len(again) != 0 {
		t.Fatalf("a second run: %+v (err %v), want nothing to do", again, err)
	}

	r, err := a.Restore(ctx, day)
	if err != nil || r.Restored != 7 || r.Present != 0 {
		t.Fatalf("restore: %+v (err %v)", r, err)
	}
	after := snapshot(t, ctx, pool, ids)
	for _, table := range tables {
		if !slices.Equal(before[table], after[table]) {
			t.Errorf("%s after the restore:\n%s\nbefore the archive:\n%s", table,
				strings.Join(after[table], "\n"), strings.Join(before[table], "\n"))
		}
	}
	// Restoring again restores nothing twice, and the restored day stays in the database.
	if r, err := a.Restore(ctx, day); err != nil || r.Restored != 0 || r.Present != 7 {
		t.Fatalf("second restore: %+v (err %v)", r, err)
	}
	if days, err := a.Run(ctx, day.Next(), 0); err != nil || len(days) != 0 {
		t.Fatalf("a run after the restore: %+v (err %v), want the restored day left alone", days, err)
	}
	// Archived again on request: the same rows, written once.
	if r, err := a.RunDay(ctx, day); err != nil || r.Removed != 7 || r.Archived != 7 {
		t.Fatalf("run --day after the restore: %+v (err %v)", r, err)
	}
	if list, err := archive.List(dir); err != nil || list[0].Sessions != 7 || list[0].Restored != nil {
		t.Fatalf("list: %+v (err %v)", list, err)
	}
}

// Sessions that are active, or ended but holding a live interaction or a pending request,
// are neither written nor removed, however old.
func TestLiveIsNeverArchived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	ended := fill(t, ctx, pool, "ended", 2)
	for _, id := range []string{"active", "live-ixn", "pending"} {
		must(t, func() error { _, err := s.CreateSession(ctx, service.NewSession{SessionID: id}); return err })
		must(t, func() error {
			_, err := s.AddInteraction(ctx, service.Target{SessionID: id}, service.NewInteraction{InteractionID: id + "-i", Media: "chat", Type: "inbound"})
			return err
		})
	}
	must(t, func() error {
		_, err := s.CreateRequest(ctx, service.Target{SessionID: "pending"}, service.NewRequest{Action: "pick", InteractionID: "pending-i"})
		return err
	})
	// Old, all of them; two ended on the archived day with something still live (states the
	// service does not make, made here so that the guard is what keeps them).
	exec(t, ctx, pool, `UPDATE sessions SET created_at = $1, updated_at = $1 WHERE session_id IN ('active', 'live-ixn', 'pending')`, day.Start())
	exec(t, ctx, pool, `UPDATE interactions SET created_at = $1, updated_at = $1 WHERE session_id IN ('active', 'live-ixn', 'pending')`, day.Start())
	exec(t, ctx, pool, `UPDATE sessions SET state = 'ended', ended_at = $1::timestamptz + interval '1 hour' WHERE session_id IN ('live-ixn', 'pending')`, day.Start())
	exec(t, ctx, pool, `UPDATE interactions SET state = 'deleted', deleted_at = now() WHERE session_id = 'pending'`)
	live := []string{"active", "live-ixn", "pending"}
	before := snapshot(t, ctx, pool, live)

	dir := t.TempDir()
	a := newArchiver(t, pool, dir, 10, nil)
	days, err := a.Run(ctx, archive.DayOf(time.Now()), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Removed != int64(len(ended)) || days[0].Archived != int64(len(ended)) {
		t.Fatalf("run: %+v, want the %d ended sessions alone", days, len(ended))
	}
	for table, rows := range snapshot(t, ctx, pool, live) {
		if !slices.Equal(rows, before[table]) {
			t.Errorf("%s of the live sessions changed:\n%v\nwas\n%v", table, rows, before[table])
		}
	}
	// What the archive holds is the ended sessions alone: a restore into a database without
	// them brings back exactly those.
	r, err := a.Restore(ctx, day)
	if err != nil || r.Restored != int64(len(ended)) || r.Present != 0 {
		t.Fatalf("restore: %+v (err %v), want the %d ended sessions", r, err, len(ended))
	}
}

// errCrash plays the process dying between the files written and the rows removed.
var errCrash = errors.New("crash")

// A run that stops after writing the day and before removing anything loses nothing: the
// rows are still there, and the next run removes them against the same files, writing
// nothing twice. A session changed after it was written is not removed against the stale
// copy: the next run writes the day again with it, once.
func TestCrashBetweenWriteAndRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	ids := fill(t, ctx, pool, "c", 5)
	before := snapshot(t, ctx, pool, ids)
	dir := t.TempDir()

	crashing := newArchiver(t, pool, dir, 2, func(archive.Day) error { return errCrash })
	if _, err := crashing.Run(ctx, day.Next(), 0); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the crash", err)
	}
	if got := snapshot(t, ctx, pool, ids); !equal(got, before) {
		t.Fatal("the crashed run removed rows")
	}
	// A leftover of a later write that stopped midway, which the manifest does not name.
	stray := filepath.Join(dir, "day="+day.String(), "sessions-g9.jsonl.gz")
	if err := os.WriteFile(stray, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	// One session changes after it was written (its copy in the files is stale).
	exec(t, ctx, pool, `UPDATE user_data SET value = '"de"' WHERE session_id = $1 AND key = 'lang'`, ids[4])
	changed := snapshot(t, ctx, pool, ids)

	a := newArchiver(t, pool, dir, 2, nil)
	days, err := a.Run(ctx, day.Next(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Removed != 5 || days[0].Archived != 5 || days[0].Left != 0 {
		t.Fatalf("run after the crash: %+v, want 5 removed, 5 archived", days)
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stray file is still there (%v)", err)
	}
	list, err := archive.List(dir)
	if err != nil || len(list) != 1 || list[0].Sessions != 5 || list[0].Generation != 2 {
		t.Fatalf("list: %+v (err %v), want 5 sessions in a second generation (the changed one written again)", list, err)
	}
	if r, err := a.Restore(ctx, day); err != nil || r.Restored != 5 {
		t.Fatalf("restore: %+v (err %v)", r, err)
	}
	if got := snapshot(t, ctx, pool, ids); !equal(got, changed) {
		t.Fatal("the restored rows are not those removed (the changed session's last state)")
	}
}

// A session reopened (or claimed) between the files written and its removal is kept in the
// database, whole, and the day is written again without it: it is in one place, not two.
func TestReopenedWhileArchivingIsKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	ids := fill(t, ctx, pool, "o", 4)
	dir := t.TempDir()
	reopen := func(archive.Day) error {
		_, err := pool.Exec(ctx, `UPDATE sessions SET state = 'active', ended_at = NULL WHERE session_id = $1`, ids[1])
		return err
	}
	days, err := newArchiver(t, pool, dir, 10, reopen).Run(ctx, day.Next(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Removed != 3 || days[0].Left != 0 || days[0].Archived != 3 {
		t.Fatalf("run: %+v, want 3 removed and archived, the reopened one in the database only", days)
	}
	kept := snapshot(t, ctx, pool, ids[1:2])
	if len(kept["sessions"]) != 1 || len(kept["interactions"]) != 2 || len(kept["parties"]) != 4 {
		t.Fatalf("the reopened session is not whole: %v", kept)
	}
	// The same run wrote the day again without the reopened session, and the next finds
	// nothing to do.
	days, err = newArchiver(t, pool, dir, 10, nil).Run(ctx, day.Next(), 0)
	if err != nil || len(days) != 0 {
		t.Fatalf("the next run: %+v (err %v), want nothing: the day has no ended session left", days, err)
	}
	list, err := archive.List(dir)
	if err != nil || len(list) != 1 || list[0].Sessions != 3 {
		t.Fatalf("list: %+v (err %v), want the 3 removed sessions alone", list, err)
	}
}

// A crash with nothing changed: the next run reuses the files as they are.
func TestCrashThenRunReusesTheFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	ids := fill(t, ctx, pool, "r", 3)
	dir := t.TempDir()
	if _, err := newArchiver(t, pool, dir, 2, func(archive.Day) error { return errCrash }).Run(ctx, day.Next(), 0); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the crash", err)
	}
	manifest := filepath.Join(dir, "day="+day.String(), "manifest.json")
	first, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	days, err := newArchiver(t, pool, dir, 2, nil).Run(ctx, day.Next(), 0)
	if err != nil || len(days) != 1 || days[0].Removed != 3 {
		t.Fatalf("run: %+v (err %v)", days, err)
	}
	if now, err := os.ReadFile(manifest); err != nil || string(now) != string(first) {
		t.Fatalf("the manifest was written again (err %v)", err)
	}
	for table, rows := range snapshot(t, ctx, pool, ids) {
		if len(rows) > 0 {
			t.Errorf("%s still holds %d rows", table, len(rows))
		}
	}
}

// Damaged files are refused, before anything is removed or restored.
func TestDamagedFileIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	ids := fill(t, ctx, pool, "d", 2)
	dir := t.TempDir()
	if _, err := newArchiver(t, pool, dir, 5, func(archive.Day) error { return errCrash }).Run(ctx, day.Next(), 0); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v", err)
	}
	file := filepath.Join(dir, "day="+day.String(), "parties-g1.jsonl.gz")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, ctx, pool, ids)
	a := newArchiver(t, pool, dir, 5, nil)
	if _, err := a.Run(ctx, day.Next(), 0); err == nil {
		t.Fatal("a run over a damaged file succeeded")
	}
	if got := snapshot(t, ctx, pool, ids); !equal(got, before) {
		t.Fatal("rows were removed against a damaged file")
	}
}

func equal(a, b map[string][]string) bool {
	for _, table := range tables {
		if !slices.Equal(a[table], b[table]) {
			return false
		}
	}
	return true
}
