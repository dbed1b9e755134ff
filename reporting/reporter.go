// Package reporting answers supervisors and reporting jobs: lists of interactions with
// filters, one interaction with its whole timeline, aggregates over a time window, and the
// state of an interaction rebuilt from its events (with an audit that compares the rebuild
// with the stored state). It reads only, from the reporting database (a read replica, or the
// main database when none is given), and never holds up the writers.
package reporting

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/service"
)

// Reporter reads the reports from one database.
type Reporter struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

func New(pool *pgxpool.Pool) *Reporter {
	return &Reporter{pool: pool, q: db.New(pool)}
}

// snapshot is for reports assembled from several reads: one consistent picture.
var snapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// inSnapshot runs fn's reads in one repeatable-read transaction, through the service's one
// transaction helper.
func inSnapshot[T any](ctx context.Context, r *Reporter, fn func(ctx context.Context, q *db.Queries) (T, error)) (T, error) {
	return service.WithTxValue(ctx, r.pool, snapshot, fn)
}

// Connect opens the reporting pool on url: read-only sessions, and every statement planned
// for its own parameters (the lists' optional filters fold away only in a custom plan; a
// generic plan would keep them all and use no filter's index).
func Connect(ctx context.Context, url string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(url, maxConns)
	if err != nil {
		return nil, err
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// PoolConfig is the configuration Connect uses, for a caller that adds to it (a tracer).
func PoolConfig(url string, maxConns int) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	return cfg, nil
}
