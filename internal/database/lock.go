package database

import (
	"context"
	"time"
)

// AwaitLock waits for a session-level lock that one instance holds at a time (the
// dispatcher's, a NATS bridge's): it calls try every retry until try takes it, fails, or ctx
// ends. Each call has timeout to answer, so a connection that stopped answering is given up
// rather than waited on. standingBy is called once, at the first refusal.
func AwaitLock(ctx context.Context, try func(context.Context) (bool, error), timeout, retry time.Duration, standingBy func()) error {
	for waited := false; ; waited = true {
		tryCtx, cancel := context.WithTimeout(ctx, timeout)
		got, err := try(tryCtx)
		cancel()
		if err != nil || got {
			return err
		}
		if !waited {
			standingBy()
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
