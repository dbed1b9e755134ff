package rollup

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
)

// Rebuilt is what a rebuild did.
type Rebuilt struct {
	// Interactions is how many ended interactions the rollups now count.
	Interactions int64
	// LastPubSeq is where it left the worker.
	LastPubSeq int64
	Took       time.Duration
}

// Rebuild computes the rollups from scratch from the interactions' rows, in one transaction,
// and leaves the worker named name at the publication number lastPubSeq gives, read before the
// rows: every event up to it is in them, and the worker applies the later ones again, which
// changes nothing where the rows already show them. A running worker may stay up: the rebuild
// moves its position, so its next transaction is refused and it starts again from there. Reports
// read the old rollups until the rebuild commits.
func Rebuild(ctx context.Context, pool *pgxpool.Pool, name string, settle time.Duration,
	lastPubSeq func(ctx context.Context) (int64, error)) (Rebuilt, error) {
	if name == "" {
		name = DefaultName
	}
	if settle <= 0 {
		settle = DefaultSettle
	}
	start := time.Now()
	pos, err := lastPubSeq(ctx)
	if err != nil {
		return Rebuilt{}, fmt.Errorf("reading the last publication number: %w", err)
	}
	// Repeatable read: the rows counted, and the time that settles them, are one snapshot's.
	n, err := database.WithTxValue(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead},
		func(ctx context.Context, q *db.Queries) (int64, error) {
			if err := q.RollupClear(ctx); err != nil {
				return 0, err
			}
			n, err := q.RollupCountAll(ctx)
			if err != nil {
				return 0, err
			}
			if err := q.RollupSumAll(ctx); err != nil {
				return 0, err
			}
			if err := q.RollupBlocksFill(ctx); err != nil {
				return 0, err
			}
			leader := "rebuild"
			return n, q.RollupStateReset(ctx, db.RollupStateResetParams{Name: name, LastPubSeq: pos,
				SettleSeconds: settle.Seconds(), Leader: &leader})
		})
	if err != nil {
		return Rebuilt{}, fmt.Errorf("rebuilding the rollups: %w", err)
	}
	if err := db.New(pool).RollupVacuumAnalyze(ctx); err != nil {
		return Rebuilt{}, fmt.Errorf("vacuuming the rebuilt rollups: %w", err)
	}
	return Rebuilt{Interactions: n, LastPubSeq: pos, Took: time.Since(start)}, nil
}
