package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/internal/testdb"
)

// The timeouts reach the server as its settings, and its timeouts come back as ErrTimeout.
func TestTimeoutsReachTheServer(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	timeouts := database.Timeouts{Statement: 300 * time.Millisecond, Lock: 200 * time.Millisecond,
		IdleInTransaction: 2 * time.Second, IdleSession: 7 * time.Second, Connect: 3 * time.Second,
		KeepAlive: 9 * time.Second, UserTimeout: 4 * time.Second}
	pool, err := database.Open(ctx, url, database.PoolOptions{MaxConns: 4, Timeouts: timeouts})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, tc := range []struct{ setting, want string }{
		{"statement_timeout", "300ms"},
		{"lock_timeout", "200ms"},
		{"idle_in_transaction_session_timeout", "2s"},
		{"idle_session_timeout", "7s"},
		{"tcp_user_timeout", "4000"},
		// The backend's keep-alives are those of its socket: over a Unix socket they read 0.
		{"tcp_keepalives_count", "3"},
	} {
		var got string
		if err := pool.QueryRow(ctx, "SELECT current_setting($1)", tc.setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		overUnixSocket := tc.setting == "tcp_keepalives_count" && got == "0"
		if got != tc.want && !overUnixSocket {
			t.Errorf("%s = %s, want %s", tc.setting, got, tc.want)
		}
	}

	_, err = pool.Exec(ctx, "SELECT pg_sleep(2)")
	if err = database.Translate(err); !database.IsKind(err, fault.ErrTimeout) {
		t.Errorf("a statement past statement_timeout: %v, want the timeout kind", err)
	}

	// A row lock held by one transaction makes another's wait end at lock_timeout.
	holder, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback(context.Background()) }()
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_xact_lock(4242)"); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(ctx, "SELECT pg_advisory_xact_lock(4242)")
	if err = database.Translate(err); !database.IsKind(err, fault.ErrTimeout) {
		t.Errorf("a lock wait past lock_timeout: %v, want the timeout kind", err)
	}

	// A request's deadline passing while its statement runs: the driver abandons the
	// connection, and the outcome is not known.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	_, err = pool.Exec(short, "SELECT pg_sleep(0.25)")
	if err = database.Translate(err); !database.IsKind(err, fault.ErrOutcomeUnknown) {
		t.Errorf("a deadline during a statement: %v, want the outcome-unknown kind", err)
	}
	if !errors.Is(err, fault.ErrOutcomeUnknown) {
		t.Errorf("%v does not wrap its kind", err)
	}
}
