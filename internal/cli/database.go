package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
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
	timeouts     database.Timeouts
	// tracer, when set, traces the statements of the serving and reporting pools.
	tracer pgx.QueryTracer
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
	f.EnvDuration(&d.timeouts.Statement, "db-statement-timeout", "IXNSTORE_DB_STATEMENT_TIMEOUT", DefaultTimeouts.Statement,
		"the server cancels a statement of the API that runs longer (statement_timeout), and ends a session idle this long inside a transaction; 0 sets none")
	f.EnvDuration(&d.timeouts.Lock, "db-lock-timeout", "IXNSTORE_DB_LOCK_TIMEOUT", DefaultTimeouts.Lock,
		"a statement of the API waiting longer for a lock fails (lock_timeout); 0 sets none")
	f.EnvDuration(&d.timeouts.Connect, "db-connect-timeout", "IXNSTORE_DB_CONNECT_TIMEOUT", DefaultTimeouts.Connect,
		"most time to open a connection to the database")
	f.EnvDuration(&d.timeouts.KeepAlive, "db-keepalive", "IXNSTORE_DB_KEEPALIVE", DefaultTimeouts.KeepAlive,
		"TCP keep-alive of the database connections, on both ends: the first probe after this long idle, a dead peer noticed after about twice this")
	f.EnvDuration(&d.timeouts.UserTimeout, "db-tcp-user-timeout", "IXNSTORE_DB_TCP_USER_TIMEOUT", DefaultTimeouts.UserTimeout,
		"the server drops a connection whose client leaves its data unacknowledged this long (tcp_user_timeout); 0 sets none")
}

// DefaultTimeouts are the database timeouts of serve. The statement timeout is below the
// request deadline, so that a slow statement is stopped by the server, which answers why,
// rather than abandoned by the client.
var DefaultTimeouts = database.Timeouts{
	Statement: 4 * time.Second, Lock: 2 * time.Second, Connect: 3 * time.Second,
	KeepAlive: 10 * time.Second, UserTimeout: 10 * time.Second,
}

// connectionTimeouts are the timeouts of the pool Open returns, which runs the migrations: the
// connection's own, without the statement and lock timeouts, which a migration on a large
// table or one waiting for another instance's migrations would hit.
func (d *DatabaseFlags) connectionTimeouts() database.Timeouts {
	return database.Timeouts{Connect: d.timeouts.Connect, KeepAlive: d.timeouts.KeepAlive, UserTimeout: d.timeouts.UserTimeout}
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
	pool, err := database.Open(ctx, url, database.PoolOptions{MaxConns: 4, Timeouts: d.connectionTimeouts()})
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

// OpenServing opens the pool the API writes and reads with, on main's database, with every
// timeout of the flags.
func (d *DatabaseFlags) OpenServing(ctx context.Context, main *pgxpool.Pool) (*pgxpool.Pool, error) {
	return database.Open(ctx, main.Config().ConnString(), database.PoolOptions{MaxConns: d.maxConns, Timeouts: d.Timeouts(), Tracer: d.tracer})
}

// Timeouts are the database timeouts the flags give. A session idle inside a transaction
// for as long as a statement may run is one whose client went away.
func (d *DatabaseFlags) Timeouts() database.Timeouts {
	t := d.timeouts
	t.IdleInTransaction = t.Statement
	return t
}

// OpenReporting opens the pool the reports read from: --reporting-database-url, or the main
// database's URL.
func (d *DatabaseFlags) OpenReporting(ctx context.Context, main *pgxpool.Pool) (*pgxpool.Pool, error) {
	url := d.reportingURL
	if url == "" {
		url = main.Config().ConnString()
	}
	opts := reporting.PoolOptions(8)
	opts.Timeouts = d.Timeouts()
	opts.Tracer = d.tracer
	pool, err := database.Open(ctx, url, opts)
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
