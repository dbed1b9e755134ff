package database

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
)

// rollbackTimeout bounds the rollback of a failed transaction. The rollback runs on a context
// that ignores the caller's cancellation: a request cancelled mid-transaction must still hand
// its connection back to the pool clean.
const rollbackTimeout = 5 * time.Second

// TxBeginner is what a transaction can be started on: a pool, or one connection (the
// dispatcher's, which holds its lock).
type TxBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

var (
	_ TxBeginner = (*pgxpool.Pool)(nil)
	_ TxBeginner = (*pgx.Conn)(nil)
)

// WithTx runs fn in one transaction with the given options, commits when fn returns nil and
// rolls back otherwise. Every multi-statement unit of work goes through it.
func WithTx(ctx context.Context, pool TxBeginner, opts pgx.TxOptions, fn func(ctx context.Context, q *db.Queries) error) error {
	_, err := WithTxValue(ctx, pool, opts, func(ctx context.Context, q *db.Queries) (struct{}, error) {
		return struct{}{}, fn(ctx, q)
	})
	return err
}

// WithTxValue is WithTx for a function that returns a value.
func WithTxValue[T any](ctx context.Context, pool TxBeginner, opts pgx.TxOptions, fn func(ctx context.Context, q *db.Queries) (T, error)) (T, error) {
	return InTx(ctx, pool, opts, func(ctx context.Context, tx pgx.Tx) (T, error) { return fn(ctx, db.New(tx)) })
}

// InTx is the helper under WithTx for code whose queries are not the product's (the tooling's
// own): fn gets the transaction itself.
func InTx[T any](ctx context.Context, pool TxBeginner, opts pgx.TxOptions, fn func(ctx context.Context, tx pgx.Tx) (T, error)) (T, error) {
	var zero T
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return zero, Translate(err)
	}
	defer func() {
		rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_ = tx.Rollback(rbCtx) // after a commit this is a no-op that returns ErrTxClosed
	}()
	v, err := fn(ctx, tx)
	if err != nil {
		return zero, Translate(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return zero, Translate(err)
	}
	return v, nil
}

// ReadSnapshot is for reads that assemble one consistent picture from several queries.
var ReadSnapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
