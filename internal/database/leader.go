package database

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/db"
)

// Leader sets up a connection that leads a part one instance runs at a time (the dispatcher,
// a NATS bridge) by holding a session-level advisory lock.
type Leader struct {
	ConnString string
	Timeouts   Timeouts
	// Takeover is the connection's idle_session_timeout (and idle-in-transaction one): a
	// leader whose client went silent (a partition: a half-open connection) loses its session,
	// and with it the lock, after this long. Each try of the lock has as long to answer.
	Takeover time.Duration
	// Retry is how often a standby tries the lock.
	Retry time.Duration
	// TryLock takes the lock if it is free.
	TryLock func(ctx context.Context, q *db.Queries) (bool, error)
	// StandingBy is called once, when the lock is first found taken.
	StandingBy func()
	// Tracer traces the connection's statements; nil: none.
	Tracer pgx.QueryTracer
	// Freed, when the leader resigns, wakes a standby before its next try (nil: none).
	Freed <-chan struct{}
}

// Lead connects and waits until the connection holds the lock, then returns it with the
// function that closes it. Closing releases the lock, if the server hears it; if it does not,
// Takeover does.
func (l Leader) Lead(ctx context.Context) (*pgx.Conn, func(), error) {
	t := l.Timeouts
	t.IdleSession, t.IdleInTransaction = l.Takeover, l.Takeover
	conn, closeConn, err := Connect(ctx, l.ConnString, t, l.Tracer)
	if err != nil {
		return nil, nil, err
	}
	q := db.New(conn)
	for waited := false; ; waited = true {
		tryCtx, cancel := context.WithTimeout(ctx, l.Takeover)
		got, err := l.TryLock(tryCtx, q)
		cancel()
		if err != nil {
			closeConn()
			return nil, nil, err
		}
		if got {
			return conn, closeConn, nil
		}
		if !waited {
			l.StandingBy()
		}
		t := time.NewTimer(l.Retry)
		select {
		case <-ctx.Done():
			t.Stop()
			closeConn()
			return nil, nil, ctx.Err()
		case <-t.C:
		case <-l.Freed:
			t.Stop()
		}
	}
}
