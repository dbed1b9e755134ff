package migrations_test

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3/lock"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/migrations"
)

// copyFS returns the files of fsys, with edit applied to each, as a file system of their own.
func copyFS(t *testing.T, fsys fs.FS, edit func(path, content string) string) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		out[path] = &fstest.MapFile{Data: []byte(edit(path, string(b)))}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func appliedAt(t *testing.T, pool *pgxpool.Pool) map[string]time.Time {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT file, applied_at FROM schema_code")
	if err != nil {
		t.Fatal(err)
	}
	at := map[string]time.Time{}
	var (
		file string
		when time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&file, &when}, func() error { at[file] = when; return nil }); err != nil {
		t.Fatal(err)
	}
	return at
}

func transitionAllowed(t *testing.T, pool *pgxpool.Pool, from, to string) bool {
	t.Helper()
	var ok bool
	err := pool.QueryRow(context.Background(), "SELECT ixn_party_transition_allowed($1, $2)", from, to).Scan(&ok)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

const transitionFile = "functions/ixn_party_transition_allowed.sql"

// withReleasedAlerting lets a released party ring again: a change of one function that
// shows in what it returns.
func withReleasedAlerting(t *testing.T) fstest.MapFS {
	t.Helper()
	return copyFS(t, migrations.Code, func(path, content string) string {
		if path != transitionFile {
			return content
		}
		changed := strings.Replace(content, "('held', 'released'))", "('held', 'released'), ('released', 'alerting'))", 1)
		if changed == content {
			t.Fatalf("%s no longer has the text this test changes", path)
		}
		return changed
	})
}

func TestApplyCodeAppliesChangedFilesOnly(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	before := appliedAt(t, pool)
	if len(before) == 0 {
		t.Fatal("the migrated database records no code files")
	}
	if transitionAllowed(t, pool, "released", "alerting") {
		t.Fatal("released → alerting allowed before the change")
	}

	changed := withReleasedAlerting(t)
	ran, err := migrations.ApplyCode(ctx, pool, changed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []string{transitionFile}) {
		t.Fatalf("applied %v, want only %s", ran, transitionFile)
	}
	if !transitionAllowed(t, pool, "released", "alerting") {
		t.Fatal("the changed function was not applied")
	}
	after := appliedAt(t, pool)
	for file, at := range before {
		if file == transitionFile {
			if !after[file].After(at) {
				t.Errorf("%s: applied_at %v not after %v", file, after[file], at)
			}
		} else if !after[file].Equal(at) {
			t.Errorf("%s was applied again though unchanged (%v, then %v)", file, at, after[file])
		}
	}

	if ran, err := migrations.ApplyCode(ctx, pool, changed, nil); err != nil || len(ran) != 0 {
		t.Fatalf("applying the same files again ran %v (%v), want nothing", ran, err)
	}

	// A rollback to the binary before: its files are the ones the database gets.
	ran, err = migrations.ApplyCode(ctx, pool, migrations.Code, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []string{transitionFile}) {
		t.Fatalf("the rollback applied %v, want only %s", ran, transitionFile)
	}
	if transitionAllowed(t, pool, "released", "alerting") {
		t.Fatal("the rollback left the newer function in place")
	}
}

func TestApplyCodeTwoAtOnce(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t)
	// Every file differs from what the database has, so both appliers find work.
	changed := copyFS(t, migrations.Code, func(_, content string) string { return content + "-- changed\n" })
	var (
		wg    sync.WaitGroup
		ran   [2][]string
		errs  [2]error
		start = make(chan struct{})
	)
	for i := range 2 {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ran[i], errs[i] = migrations.ApplyCode(ctx, pool, changed, nil)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("applier %d: %v", i, err)
		}
	}
	all := append(append([]string{}, ran[0]...), ran[1]...)
	slices.Sort(all)
	if len(all) != len(changed) || len(slices.Compact(all)) != len(changed) {
		t.Fatalf("the two appliers ran %v and %v: want each of the %d files once", ran[0], ran[1], len(changed))
	}
}

func TestApplyCodeWaitsForMigrations(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	migrating, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer migrating.Close(ctx)
	// What goose's session locker takes while it migrates.
	if _, err := migrating.Exec(ctx, "SELECT pg_advisory_lock($1)", lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	changed := withReleasedAlerting(t)
	done := make(chan error, 1)
	go func() {
		_, err := migrations.ApplyCode(ctx, pool, changed, nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the code was applied during a migration (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := migrating.Exec(ctx, "SELECT pg_advisory_unlock($1)", lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !transitionAllowed(t, pool, "released", "alerting") {
		t.Fatal("the change was not applied after the migration")
	}
}

// A migration that drops code the files made (as one that changes a column a view shows
// must) is followed by all the files again, though none changed.
func TestCodeAppliedAgainAfterMigration(t *testing.T) {
	ctx := context.Background()
	pool := scratchDB(t)
	baseline := copyFS(t, migrations.Files, func(_, content string) string { return content })
	m, err := migrations.NewMigratorFS(pool, nil, baseline, migrations.Code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	m.Close()

	next := copyFS(t, migrations.Files, func(_, content string) string { return content })
	name, last := madeUp(t, "wider_transfers")
	next[name] = &fstest.MapFile{Data: []byte(`-- +goose Up
DROP VIEW IF EXISTS report_interactions CASCADE;
DROP VIEW IF EXISTS report_interaction_facts CASCADE;
ALTER TABLE interactions ALTER COLUMN transfers TYPE bigint;
-- +goose Down
DROP VIEW IF EXISTS report_interactions CASCADE;
DROP VIEW IF EXISTS report_interaction_facts CASCADE;
ALTER TABLE interactions ALTER COLUMN transfers TYPE int;
`)}
	m, err = migrations.NewMigratorFS(pool, nil, next, migrations.Code)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n, err := m.Up(ctx); err != nil || n != 1 {
		t.Fatalf("applied %d migrations (%v), want 1", n, err)
	}
	var stale int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM schema_code WHERE migration_version <> $1", last+1).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Fatalf("%d code files were not applied again after the migration", stale)
	}
	var viewType string
	err = pool.QueryRow(ctx, `
		SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		 WHERE attrelid = 'report_interactions'::regclass AND attname = 'transfers'`).Scan(&viewType)
	if err != nil {
		t.Fatalf("the view is not back: %v", err)
	}
	if viewType != "bigint" {
		t.Fatalf("the view's transfers are %s, want bigint", viewType)
	}
	var listBack bool
	if err := pool.QueryRow(ctx, "SELECT to_regproc('ixn_report_interactions') IS NOT NULL").Scan(&listBack); err != nil || !listBack {
		t.Fatalf("ixn_report_interactions is not back (%v)", err)
	}
	status, err := m.CodeStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if !s.Current {
			t.Errorf("%s is not current after Up", s.Path)
		}
	}
}
