// Package database is the plumbing every data-access part shares: how a pool is opened, the
// one transaction helper, and the translation of driver errors into the kinds of package
// fault. Nothing above the data layer sees a pgx type.
package database

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolOptions are what differs between ixnstore's pools.
type PoolOptions struct {
	// MaxConns is the most connections the pool opens.
	MaxConns int
	// ReadOnly makes every session read-only: the reporting pool, which may be a replica.
	ReadOnly bool
	// CustomPlans plans every statement for its own parameters: optional filters fold away
	// only in a custom plan, while a generic plan keeps them all and uses no filter's index.
	CustomPlans bool
}

// PoolConfig parses url and applies opts, for a caller that adds to the configuration (a
// tracer) before opening the pool.
func PoolConfig(url string, opts PoolOptions) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	}
	if opts.ReadOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if opts.CustomPlans {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	return cfg, nil
}

// Open opens a pool on url with opts. It does not wait for the database to answer.
func Open(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(url, opts)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}
