// Package testdb gives each test a database of its own on a real PostgreSQL: the server of
// TEST_DATABASE_URL when set, otherwise a testcontainers PostgreSQL where Docker runs,
// otherwise the test is skipped with a message that says how to run it, or fails when CI is
// set (CI=true): there a skipped database test would let the run pass without running it.
//
// Each database is a copy of a template that was migrated once per schema version, so a test
// gets a fresh, migrated database in a few milliseconds and tests can run in parallel.
package testdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/ixnstore/ixnstore/migrations"
)

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
	counter    atomic.Int64
)

// URL creates a migrated database for the test, drops it when the test ends, and returns its
// connection URL.
func URL(t testing.TB) string {
	t.Helper()
	admin := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	template, err := ensureTemplate(ctx, admin)
	if err != nil {
		t.Fatalf("testdb: preparing the template database: %v", err)
	}
	name := fmt.Sprintf("ixn_test_%d_%d", os.Getpid(), counter.Add(1))
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("testdb: creating %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("testdb: dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Logf("testdb: dropping %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// Pool is URL with a connection pool, closed when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 64
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func server(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
			serverURL = u
			return
		}
		serverURL, serverErr = startContainer()
	})
	if serverErr != nil {
		if inCI() {
			// In CI a skipped database test is a test that did not run while the run says
			// ok: a missing database must fail the run, not hide it.
			t.Fatalf("testdb: CI is set and there is no PostgreSQL: set TEST_DATABASE_URL "+
				"(e.g. postgres://postgres@127.0.0.1:5432/postgres) or make Docker reachable (%v)", serverErr)
		}
		t.Skipf("testdb: no PostgreSQL for this test: set TEST_DATABASE_URL "+
			"(e.g. postgres://postgres@127.0.0.1:5432/postgres) or run Docker for testcontainers (%v)", serverErr)
	}
	return serverURL
}

// inCI: CI is set to a true value (CI=true, as GitHub Actions, GitLab and most CI services set
// it, or CI=1).
func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// startContainer starts a PostgreSQL container that lives as long as the test process (the
// testcontainers reaper removes it after).
func startContainer() (u string, err error) {
	defer func() {
		// testcontainers panics when it finds no Docker at all.
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := tcpostgres.Run(ctx, "postgres:15-alpine",
		tcpostgres.WithDatabase("postgres"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies())
	if err != nil {
		return "", err
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

// ensureTemplate creates, once per schema version, a migrated database to copy. An advisory
// lock keeps test processes of several packages from building it at the same time.
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	name := "ixn_template_" + schemaHash()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext('ixnstore testdb template'))"); err != nil {
		return "", err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext('ixnstore testdb template'))") //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, withDatabase(admin, building))
	if err != nil {
		return "", err
	}
	_, err = migrations.Up(ctx, pool, nil)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrating: %w", err)
	}
	// Renamed only once whole, so a template that exists is always a migrated one.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", err
	}
	// Templates of earlier schemas are of no more use.
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'ixn_template_%' AND datname <> $1", name)
	if err != nil {
		return "", err
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	for _, old := range stale {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{old}.Sanitize()+" WITH (FORCE)")
	}
	return name, nil
}

// schemaHash names the template after the migrations and the code of sql/, so a changed
// schema gets a new one.
func schemaHash() string {
	h := sha256.New()
	for _, files := range []fs.FS{migrations.Files, migrations.Code} {
		_ = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(files, path)
			h.Write([]byte(path))
			h.Write(b)
			return err
		})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func withDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		// A keyword/value connection string.
		return strings.TrimSpace(rawURL) + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}
