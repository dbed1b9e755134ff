package migrations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3/lock"
)

// codeFile is one file of the schema's code and the hash it is recorded under.
type codeFile struct {
	path   string
	sql    string
	sha256 string
}

// readCode returns the .sql files of fsys in the order they are applied.
func readCode(fsys fs.FS) ([]codeFile, error) {
	var files []codeFile
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		files = append(files, codeFile{path: path, sql: string(b), sha256: hex.EncodeToString(sum[:])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sql code: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, nil
}

// applied is what schema_code records of a file.
type applied struct {
	sha256           string
	migrationVersion int64
	at               time.Time
}

// current tells whether the file, as recorded, needs no applying at the database's version.
func (a applied) current(f codeFile, version int64) bool {
	return a.sha256 == f.sha256 && a.migrationVersion == version
}

// ApplyCode executes, in one transaction, every file of code whose content is not the one
// recorded as applied, or that was applied at another migration version, and records it; it
// returns the paths it executed. Run it after the migrations (Up does).
//
// Two instances that start together must not both replace the same functions, nor replace
// them while the other migrates: the transaction takes goose's migration lock, as a
// transaction lock, which waits for the session lock of a running migration and makes a
// migration wait for it. Function bodies are not checked on creation, so the files may call
// functions of files applied after them.
func ApplyCode(ctx context.Context, pool *pgxpool.Pool, code fs.FS, logger *slog.Logger) ([]string, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	files, err := readCode(code)
	if err != nil {
		return nil, err
	}
	type run struct {
		path string
		took time.Duration
	}
	ran, err := database.InTx(ctx, pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) ([]run, error) {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lock.DefaultLockID); err != nil {
			return nil, fmt.Errorf("sql code: taking the migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL check_function_bodies = off"); err != nil {
			return nil, err
		}
		// Read under the lock: a concurrent applier's records are committed by now.
		version, recorded, err := readApplied(ctx, tx)
		if err != nil {
			return nil, err
		}
		var ran []run
		for _, f := range files {
			if a, ok := recorded[f.path]; ok && a.current(f, version) {
				continue
			}
			start := time.Now()
			if _, err := tx.Exec(ctx, f.sql); err != nil {
				logger.Error("sql code failed", "file", f.path, "err", err)
				return nil, fmt.Errorf("sql code %s: %w", f.path, err)
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO schema_code (file, sha256, migration_version, applied_at) VALUES ($1, $2, $3, now())
				ON CONFLICT (file) DO UPDATE
				   SET sha256 = EXCLUDED.sha256, migration_version = EXCLUDED.migration_version, applied_at = now()`,
				f.path, f.sha256, version); err != nil {
				return nil, fmt.Errorf("sql code %s: recording it: %w", f.path, err)
			}
			ran = append(ran, run{f.path, time.Since(start)})
		}
		return ran, nil
	})
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(ran))
	for _, r := range ran {
		logger.Info("sql code applied", "file", r.path, "duration", r.took)
		paths = append(paths, r.path)
	}
	return paths, nil
}

// readApplied returns the database's migration version and what schema_code records; a
// database not migrated yet has version 0 and no records. It reads only tables that exist, so
// that it can run in a transaction an error would abort.
func readApplied(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int64, map[string]applied, error) {
	var gooseTable, codeTable bool
	err := q.QueryRow(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL, to_regclass('schema_code') IS NOT NULL`).
		Scan(&gooseTable, &codeTable)
	if err != nil {
		return 0, nil, fmt.Errorf("sql code: %w", err)
	}
	var version int64
	if gooseTable {
		// goose deletes the row of a migration it rolls back, so the greatest is the current.
		if err := q.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM goose_db_version").Scan(&version); err != nil {
			return 0, nil, fmt.Errorf("sql code: the migration version: %w", err)
		}
	}
	recorded := map[string]applied{}
	if !codeTable {
		return version, recorded, nil
	}
	rows, err := q.Query(ctx, "SELECT file, sha256, migration_version, applied_at FROM schema_code")
	if err != nil {
		return 0, nil, fmt.Errorf("sql code: reading schema_code: %w", err)
	}
	var (
		file string
		a    applied
	)
	_, err = pgx.ForEachRow(rows, []any{&file, &a.sha256, &a.migrationVersion, &a.at}, func() error {
		recorded[file] = a
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("sql code: reading schema_code: %w", err)
	}
	return version, recorded, nil
}

// CodeStatus is the state of one code file in a database.
type CodeStatus struct {
	Path string
	// Current: applied with this content at the database's migration version.
	Current bool
	// AppliedAt is zero when the file was never applied.
	AppliedAt time.Time
}

// codeStatus lists the files of code and whether the database has them as they are.
func codeStatus(ctx context.Context, pool *pgxpool.Pool, code fs.FS) ([]CodeStatus, error) {
	files, err := readCode(code)
	if err != nil {
		return nil, err
	}
	version, recorded, err := readApplied(ctx, pool)
	if err != nil {
		return nil, err
	}
	status := make([]CodeStatus, 0, len(files))
	for _, f := range files {
		a, ok := recorded[f.path]
		status = append(status, CodeStatus{Path: f.path, Current: ok && a.current(f, version), AppliedAt: a.at})
	}
	return status, nil
}
