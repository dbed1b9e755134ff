// Package database is the plumbing every data-access part shares: how a pool is opened, the
// one transaction helper, and the translation of driver errors into the kinds of package
// fault. Nothing above the data layer sees a pgx type.
package database

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	// NoJIT turns PostgreSQL's just-in-time compilation off. For pools of short statements
	// whose estimates may still cross jit_above_cost: the aggregates report's did, once the
	// outbox (a table rows pass through) was estimated at thousands of rows, and each then
	// spent 0.3–0.8 s compiling what ran in 15 ms.
	NoJIT bool
	// Timeouts bound what the pool's connections may wait for; the zero value sets none.
	Timeouts Timeouts
	// Tracer, when set, hears of every statement (the trace spans of internal/tracing).
	Tracer pgx.QueryTracer
}

// Timeouts bound every wait on the database, so that a database that does not answer (a
// network that drops everything, a half-open connection) makes requests fail, not hang. A
// zero field leaves the driver's or the server's default.
type Timeouts struct {
	// Statement is the server's statement_timeout: a statement running longer is cancelled
	// by PostgreSQL (SQLSTATE 57014).
	Statement time.Duration
	// IdleInTransaction is the server's idle_in_transaction_session_timeout: a session that
	// waits this long for its client inside a transaction is ended, so a client that vanished
	// mid-transaction does not keep its row locks.
	IdleInTransaction time.Duration
	// Lock is the server's lock_timeout: a statement waiting longer for a lock fails (55P03).
	Lock time.Duration
	// Connect bounds opening a connection, its TCP handshake and start-up together.
	Connect time.Duration
	// KeepAlive is the TCP keep-alive of both ends: the client's socket probes after this
	// long idle, every KeepAlive/3 after, and the server (tcp_keepalives_idle, _interval,
	// _count) the same, so a peer that vanished is noticed in about twice KeepAlive.
	KeepAlive time.Duration
	// UserTimeout is the server's tcp_user_timeout: data the client does not acknowledge for
	// this long closes the backend's connection (a partition while the server sends).
	UserTimeout time.Duration
	// IdleSession is the server's idle_session_timeout, for connections that must not be
	// held by a client that went away while idle: the dispatcher's, whose session holds its
	// lock. A pool's connections leave it zero (they idle in the pool).
	IdleSession time.Duration
}

// keepAliveProbes is how many unanswered probes end a connection, on both ends.
const keepAliveProbes = 3

// apply puts t into a connection's configuration.
func (t Timeouts) apply(cfg *pgconn.Config) {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	secs := func(d time.Duration) string { return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) }
	if t.Statement > 0 {
		cfg.RuntimeParams["statement_timeout"] = ms(t.Statement)
	}
	if t.IdleInTransaction > 0 {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = ms(t.IdleInTransaction)
	}
	if t.Lock > 0 {
		cfg.RuntimeParams["lock_timeout"] = ms(t.Lock)
	}
	if t.IdleSession > 0 {
		cfg.RuntimeParams["idle_session_timeout"] = ms(t.IdleSession)
	}
	if t.UserTimeout > 0 {
		cfg.RuntimeParams["tcp_user_timeout"] = ms(t.UserTimeout)
	}
	dialer := &net.Dialer{}
	if t.KeepAlive > 0 {
		interval := max(time.Second, t.KeepAlive/keepAliveProbes)
		dialer.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: t.KeepAlive, Interval: interval, Count: keepAliveProbes}
		cfg.RuntimeParams["tcp_keepalives_idle"] = secs(t.KeepAlive)
		cfg.RuntimeParams["tcp_keepalives_interval"] = secs(interval)
		cfg.RuntimeParams["tcp_keepalives_count"] = strconv.Itoa(keepAliveProbes)
	}
	if t.Connect > 0 {
		cfg.ConnectTimeout = t.Connect
		dialer.Timeout = t.Connect
	}
	if t.KeepAlive > 0 || t.Connect > 0 {
		cfg.DialFunc = dialer.DialContext
	}
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
	if opts.NoJIT {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	opts.Timeouts.apply(&cfg.ConnConfig.Config)
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	return cfg, nil
}

// closeTimeout bounds saying goodbye on a connection that may not answer.
const closeTimeout = time.Second

// Connect opens a connection of its own (the dispatcher's, the listener's) on url with the
// timeouts t and, when not nil, the statements' tracer. The returned close gives the server at most a second to hear the goodbye: a
// partitioned server does not, and ends the session by its own timeouts.
func Connect(ctx context.Context, url string, t Timeouts, tracer pgx.QueryTracer) (*pgx.Conn, func(), error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	t.apply(&cfg.Config)
	if tracer != nil {
		cfg.Tracer = tracer
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return conn, func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		_ = conn.Close(closeCtx)
	}, nil
}

// Open opens a pool on url with opts. It does not wait for the database to answer.
func Open(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(url, opts)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}
