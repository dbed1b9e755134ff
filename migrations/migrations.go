// Package migrations holds the schema's history as goose SQL migrations and applies them,
// then the schema's code (the functions, triggers and views of sql/), both embedded in the
// binary.
//
// The migrations make tables, types, sequences, constraints and indexes, and move data. The
// history was squashed into 00001_baseline.sql before the first release; from now on
// migrations only move forward: a released migration is never edited, squashed or removed,
// and every change of a table is a new migration after the last one. A migration may not
// call the functions of sql/: on a new database they are created after all the migrations.
// For the same reason, one that changes a table the code depends on drops that code with IF
// EXISTS first; the code step makes it again (every file is applied again whenever the
// migration version changed).
//
// Functions, triggers and views are not migrations: each is defined once, in its current
// form, in sql/, and ApplyCode executes the files whose content the database does not have.
// sqlc reads sql/schema.sql, the schema dumped from a migrated database (schema_test.go).
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	sqlcode "github.com/ixnstore/ixnstore/sql"
)

// Files are the migrations, embedded.
//
//go:embed *.sql
var Files embed.FS

// Code is the schema's code, applied after the migrations.
var Code fs.FS = sqlcode.Files

// Migrator applies the embedded migrations, then the code, to one database. A PostgreSQL
// session lock keeps two instances that start together from migrating at once; the code step
// takes the same lock.
type Migrator struct {
	pool     *pgxpool.Pool
	sqlDB    *sql.DB
	provider *goose.Provider
	code     fs.FS
	logger   *slog.Logger
}

func NewMigrator(pool *pgxpool.Pool, logger *slog.Logger) (*Migrator, error) {
	return newMigrator(pool, logger, Files, Code)
}

// newMigrator is NewMigrator with other migrations and code, for the tests.
func newMigrator(pool *pgxpool.Pool, logger *slog.Logger, migrations, code fs.FS) (*Migrator, error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations, goose.WithSessionLocker(locker))
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{pool: pool, sqlDB: sqlDB, provider: provider, code: code, logger: logger}, nil
}

// Close releases the migrator's handle; the pool stays open.
func (m *Migrator) Close() error { return m.sqlDB.Close() }

// Up applies every pending migration, then the code files the database does not have as
// they are, and returns how many migrations it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	res, err := m.provider.Up(ctx)
	m.log(res...)
	if err != nil {
		return len(res), err
	}
	_, err = ApplyCode(ctx, m.pool, m.code, m.logger)
	return len(res), err
}

// UpTo applies the pending migrations up to version, and no code: for tests that need a
// database as it was at a version.
func (m *Migrator) UpTo(ctx context.Context, version int64) error {
	res, err := m.provider.UpTo(ctx, version)
	m.log(res...)
	return err
}

// Down rolls back the latest migration. The code is left as it is: the next Up applies all
// of it again, since the migration version changed.
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

// CodeStatus lists each code file and whether the database has it as it is.
func (m *Migrator) CodeStatus(ctx context.Context) ([]CodeStatus, error) {
	return codeStatus(ctx, m.pool, m.code)
}

// Up is the one call the server and the tests need: apply the pending migrations, then the
// changed code.
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (int, error) {
	m, err := NewMigrator(pool, logger)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	return m.Up(ctx)
}

// Latest is the newest migration this binary has.
func Latest() (int64, error) {
	sources, err := fs.Glob(Files, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, name := range sources {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", name, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// Applied is the newest migration applied to the database behind pool (0: none). It reads
// goose's table directly: one small statement, for /readyz.
func Applied(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var v int64
	err := pool.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v)
	return v, err
}
