package migrations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3/lock"

	"github.com/ixnstore/ixnstore/internal/database"
	sqlcode "github.com/ixnstore/ixnstore/sql"
)

// ErrNoCitus is returned by ApplyCitusLayout on a database without the citus extension.
var ErrNoCitus = errors.New("the citus extension is not installed in this database (CREATE EXTENSION citus on the coordinator first)")

// ApplyCitusLayout distributes a migrated schema on the Citus coordinator it is connected to
// (sql/citus/layout.sql), and reports whether it did: a schema whose sessions are already
// distributed is left as it is. It runs in one transaction under the migrations' lock, so
// two instances cannot both distribute, nor distribute while the other migrates.
func ApplyCitusLayout(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (bool, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return database.InTx(ctx, pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		var citus bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')").Scan(&citus); err != nil {
			return false, fmt.Errorf("citus layout: %w", err)
		}
		if !citus {
			return false, ErrNoCitus
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lock.DefaultLockID); err != nil {
			return false, fmt.Errorf("citus layout: taking the migration lock: %w", err)
		}
		var done bool
		// Read by name: pg_dist_partition exists only where citus is installed.
		if err := tx.QueryRow(ctx,
			"SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'sessions'::regclass)").Scan(&done); err != nil {
			return false, fmt.Errorf("citus layout: %w", err)
		}
		if done {
			logger.Info("citus layout already applied")
			return false, nil
		}
		if _, err := tx.Exec(ctx, sqlcode.CitusLayout); err != nil {
			return false, fmt.Errorf("citus layout: %w", err)
		}
		logger.Info("citus layout applied")
		return true, nil
	})
}
