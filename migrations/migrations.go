// Package migrations holds the schema as goose SQL migrations, embedded in the binary. sqlc
// reads the same files as its schema.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Files are the migrations, embedded.
//
//go:embed *.sql
var Files embed.FS

// Migrator applies the embedded migrations to one database. A PostgreSQL session lock keeps
// two instances that start together from migrating at once.
type Migrator struct {
	sqlDB    *sql.DB
	provider *goose.Provider
	logger   *slog.Logger
}

func NewMigrator(pool *pgxpool.Pool, logger *slog.Logger) (*Migrator, error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, Files, goose.WithSessionLocker(locker))
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{sqlDB: sqlDB, provider: provider, logger: logger}, nil
}

// Close releases the migrator's handle; the pool stays open.
func (m *Migrator) Close() error { return m.sqlDB.Close() }

// Up applies every pending migration and returns how many it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	res, err := m.provider.Up(ctx)
	m.log(res...)
	return len(res), err
}

// Down rolls back the latest migration.
func (m *Migrator) Down(ctx context.Context) error {
	res, err := m.provider.Down(ctx)
	if res != nil {
		m.log(res)
	}
	return err
}

func (m *Migrator) log(results ...*goose.MigrationResult) {
	for _, r := range results {
		if r.Error != nil {
			m.logger.Error("migration failed", "file", r.Source.Path, "direction", r.Direction, "err", r.Error)
			continue
		}
		m.logger.Info("migration applied", "file", r.Source.Path, "direction", r.Direction, "duration", r.Duration)
	}
}

// Status lists each migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	return m.provider.Status(ctx)
}

// Up is the one call the server and the tests need: apply what is pending.
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (int, error) {
	m, err := NewMigrator(pool, logger)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	return m.Up(ctx)
}
