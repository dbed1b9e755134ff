package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/embeddedpg"
	"github.com/ixnstore/ixnstore/reporting"
)

// DatabaseFlags are the flags of every command that talks to the database.
type DatabaseFlags struct {
	url          string
	reportingURL string
	dataDir      string
	embeddedPort int
	maxConns     int
	wait         time.Duration
	// borrow: a short command (token) leaves an embedded PostgreSQL it found running to the
	// process that runs it (serve), instead of stopping it under that process on exit.
	borrow bool
}

func (d *DatabaseFlags) Register(f *Flags) {
	f.EnvString(&d.url, "database-url", "DATABASE_URL", "",
		"PostgreSQL connection URL; empty starts an embedded PostgreSQL on --data-dir")
	f.EnvString(&d.dataDir, "data-dir", "IXNSTORE_DATA_DIR", "ixnstore-data",
		"where the embedded PostgreSQL keeps its data (used without --database-url)")
	f.EnvInt(&d.embeddedPort, "embedded-port", "IXNSTORE_EMBEDDED_PORT", 54329,
		"port of the embedded PostgreSQL on 127.0.0.1")
	f.EnvString(&d.reportingURL, "reporting-database-url", "REPORTING_DATABASE_URL", "",
		"PostgreSQL URL the reports read from (a read replica); empty reads the main database")
	f.EnvInt(&d.maxConns, "db-max-conns", "IXNSTORE_DB_MAX_CONNS", 32, "most connections to the database")
	f.EnvDuration(&d.wait, "db-wait", "IXNSTORE_DB_WAIT", 30*time.Second,
		"how long to wait at start for the database to answer")
}

// embeddedDir is the embedded PostgreSQL's data directory; "" when --database-url is given.
func (d *DatabaseFlags) embeddedDir() string {
	if d.url != "" {
		return ""
	}
	return d.dataDir
}

// Open connects to the database (starting the embedded one when no URL is given) and waits
// for it to answer. The returned stop closes the pool and stops what was started.
func (d *DatabaseFlags) Open(ctx context.Context, logger *slog.Logger) (*pgxpool.Pool, func(), error) {
	url := d.url
	var embedded *embeddedpg.Server
	if url == "" {
		var err error
		embedded, err = embeddedpg.Start(ctx, embeddedpg.Config{DataDir: d.dataDir, Port: d.embeddedPort, Logger: logger})
		if err != nil {
			return nil, nil, fmt.Errorf("no --database-url given, and the embedded PostgreSQL did not start: %w", err)
		}
		url = embedded.URL()
	}
	stopEmbedded := func() {
		if embedded != nil && (!d.borrow || !embedded.Reused()) {
			if err := embedded.Stop(); err != nil {
				logger.Error("stopping the embedded PostgreSQL", "err", err)
			}
		}
	}
	pool, err := database.Open(ctx, url, database.PoolOptions{MaxConns: d.maxConns})
	if err != nil {
		stopEmbedded()
		return nil, nil, fmt.Errorf("--database-url: %w", err)
	}
	stop := func() { pool.Close(); stopEmbedded() }
	if err := waitForDatabase(ctx, pool, d.wait, logger); err != nil {
		stop()
		return nil, nil, err
	}
	return pool, stop, nil
}

// OpenReporting opens the pool the reports read from: --reporting-database-url, or the main
// database's URL.
func (d *DatabaseFlags) OpenReporting(ctx context.Context, main *pgxpool.Pool) (*pgxpool.Pool, error) {
	url := d.reportingURL
	if url == "" {
		url = main.Config().ConnString()
	}
	pool, err := database.Open(ctx, url, reporting.PoolOptions(8))
	if err != nil {
		return nil, fmt.Errorf("--reporting-database-url: %w", err)
	}
	return pool, nil
}

func waitForDatabase(ctx context.Context, pool *pgxpool.Pool, wait time.Duration, logger *slog.Logger) error {
	deadline := time.Now().Add(wait)
	for attempt := 1; ; attempt++ {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := pool.Ping(pingCtx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the database did not answer within %s: %w", wait, err)
		}
		if attempt == 1 {
			logger.Warn("waiting for the database", "err", err, "wait", wait)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
