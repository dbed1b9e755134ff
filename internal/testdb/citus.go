package testdb

import (
	"context"
	_ "embed"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	sqlcode "github.com/ixnstore/ixnstore/sql"
)

// citusStub stands in, on plain PostgreSQL, for the Citus functions the layout calls; each
// refuses what Citus refuses and records where the table went (citus_stub.placed).
//
//go:embed citus_stub.sql
var citusStub string

// Placement is where sql/citus/layout.sql puts a table on Citus.
type Placement struct {
	Kind   string // distributed, reference or local (the coordinator's)
	Column string // the distribution column of a distributed table
	Group  string // its colocation group
}

// ApplyCitusLayout runs sql/citus/layout.sql on the test's database (plain PostgreSQL) with
// stand-ins for the Citus functions, and returns the placement of each table it named. An
// error is what Citus would have refused.
func ApplyCitusLayout(ctx context.Context, pool *pgxpool.Pool) (map[string]Placement, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	// After a commit the rollback does nothing; after an error it is the error that matters.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, citusStub); err != nil {
		return nil, fmt.Errorf("the citus stand-ins: %w", err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = public, citus_stub"); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, sqlcode.CitusLayout); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT c.relname::text, p.kind, coalesce(p.dist_column, ''), coalesce(p.colocation, '')
	                              FROM citus_stub.placed p JOIN pg_class c ON c.oid = p.rel`)
	if err != nil {
		return nil, err
	}
	placed := map[string]Placement{}
	var (
		name string
		p    Placement
	)
	if _, err := pgx.ForEachRow(rows, []any{&name, &p.Kind, &p.Column, &p.Group}, func() error {
		placed[name] = p
		return nil
	}); err != nil {
		return nil, err
	}
	return placed, tx.Commit(ctx)
}

// CitusLayout is ApplyCitusLayout on the test's database, failing the test on an error.
func CitusLayout(t testing.TB, pool *pgxpool.Pool) map[string]Placement {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	placed, err := ApplyCitusLayout(ctx, pool)
	if err != nil {
		t.Fatalf("the citus layout on the stand-ins: %v", err)
	}
	return placed
}
