// Package reporting answers supervisors and reporting jobs: lists of interactions with
// filters, one interaction with its whole timeline, aggregates over a time window, and the
// state of an interaction rebuilt from its events (with an audit that compares the rebuild
// with the stored state). It reads only, from the reporting database (a read replica, or the
// main database when none is given), and never holds up the writers.
package reporting

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
)

// Reporter reads the reports from one database.
type Reporter struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

func New(pool *pgxpool.Pool) *Reporter {
	return &Reporter{pool: pool, q: db.New(pool)}
}

// PoolOptions are the reporting pool's: read-only sessions (it may be a replica), every
// statement planned for its own parameters, so that the lists' optional filters fold away and
// each filter's index is usable, and no just-in-time compilation (reports are look-ups by
// index, which compiling only slows).
func PoolOptions(maxConns int) database.PoolOptions {
	return database.PoolOptions{MaxConns: maxConns, ReadOnly: true, CustomPlans: true, NoJIT: true}
}

// inSnapshot runs fn's reads in one repeatable-read transaction.
func inSnapshot[T any](ctx context.Context, r *Reporter, fn func(ctx context.Context, q *db.Queries) (T, error)) (T, error) {
	return database.WithTxValue(ctx, r.pool, database.ReadSnapshot, fn)
}
