package benchcli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/migrations"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/upkeep"
)

type benchFailoverConfig struct {
	sessions        int
	lease, interval time.Duration
	rounds          int
	byNode          bool
	dbURL           string
}

// benchFailover measures, in database time, how long after a node's last heartbeat its
// sessions are restored on another node: each round, a node with the given lease owns the
// sessions (one interaction each), heartbeats once more and dies; an assigner (or, with
// byNode, the surviving node itself polling for orphans) runs every interval. Reported: the
// time to the first and to the last interaction.restored.
func benchFailover(ctx context.Context, stdout io.Writer, logger *slog.Logger, cfg benchFailoverConfig) error {
	scratch, drop, err := scratchDatabase(ctx, cfg.dbURL, "ixn_bench_failover")
	if err != nil {
		return err
	}
	defer drop()
	pool, err := pgxpool.New(ctx, scratch)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		return err
	}
	store := service.New(pool, service.Config{})
	mode := "ixnstore's assigner (--assign-orphans)"
	if cfg.byNode {
		mode = "the surviving node claiming orphans itself"
	}
	fmt.Fprintf(stdout, "failover of %d sessions: node lease %s, takeover by %s every %s\n",
		cfg.sessions, cfg.lease, mode, cfg.interval)
	var firsts, lasts []float64
	for round := 1; round <= cfg.rounds; round++ {
		dead, heir := fmt.Sprintf("dead%d", round), fmt.Sprintf("heir%d", round)
		capacity := cfg.sessions
		for _, n := range []service.NodeRegistration{
			{NodeID: dead, Lease: cfg.lease.String(), Capacity: &capacity},
			{NodeID: heir, Lease: "10m", Capacity: &capacity},
		} {
			if _, err := store.RegisterNode(ctx, n); err != nil {
				return err
			}
		}
		for i := range cfg.sessions {
			sid := fmt.Sprintf("r%d-s%d", round, i)
			if _, err := store.CreateSession(ctx, service.NewSession{SessionID: sid, OwnerNode: &dead}); err != nil {
				return err
			}
			if _, err := store.AddInteraction(ctx, service.Target{SessionID: sid}, service.NewInteraction{
				InteractionID: sid + "-i", Media: "voice", Type: "inbound"}); err != nil {
				return err
			}
		}
		last, err := store.Heartbeat(ctx, dead) // its last
		if err != nil {
			return err
		}
		assigner, err := upkeep.New(upkeep.OrphanAssignment(store, time.Hour, nil))
		if err != nil {
			return err
		}
		work := assigner.Pass
		if cfg.byNode {
			work = func(ctx context.Context) (int, error) { return claimAllFor(ctx, store, heir) }
		}
		takeover, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if _, err := work(takeover); err != nil && takeover.Err() == nil {
					logger.Warn("takeover pass failed", "err", err)
				}
				select {
				case <-takeover.Done():
					return
				case <-time.After(cfg.interval):
				}
			}
		}()
		var span db.RestoredSpanRow
		for deadline := time.Now().Add(cfg.lease + time.Minute); ; time.Sleep(10 * time.Millisecond) {
			if span, err = db.New(pool).RestoredSpan(ctx, &heir); err != nil {
				break
			}
			if span.Restored >= int64(cfg.sessions) || time.Now().After(deadline) {
				break
			}
		}
		stop()
		<-done
		if err != nil {
			return err
		}
		if span.Restored < int64(cfg.sessions) {
			return fmt.Errorf("round %d: %d of %d sessions restored a minute after the lease", round, span.Restored, cfg.sessions)
		}
		first, lastAt := span.FirstAt.Sub(last.HeartbeatAt), span.LastAt.Sub(last.HeartbeatAt)
		firsts, lasts = append(firsts, first.Seconds()), append(lasts, lastAt.Seconds())
		fmt.Fprintf(stdout, "round %d: last heartbeat → first restore %s, → all %d restored %s\n",
			round, first.Round(time.Millisecond), cfg.sessions, lastAt.Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "-- medians of %d rounds: first restore %.3fs, all restored %.3fs after the last heartbeat (lease %s)\n",
		cfg.rounds, median(firsts), median(lasts), cfg.lease)
	return nil
}

// claimAllFor is what a surviving node does: list the orphans and claim each.
func claimAllFor(ctx context.Context, store *service.Store, node string) (int, error) {
	page, err := store.ListOrphanedSessions(ctx, "", service.MaxOrphansPage)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range page.Sessions {
		if _, err := store.ClaimSession(ctx, o.SessionID, node); err == nil {
			n++
		}
	}
	return n, nil
}
