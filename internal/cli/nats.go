package cli

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/natsbridge"
	"github.com/ixnstore/ixnstore/service"
)

// natsFlags set up the NATS JetStream bridge: off unless --nats-url is given.
type natsFlags struct {
	cfg natsbridge.Config
}

func (n *natsFlags) register(f *Flags) {
	c := &n.cfg
	f.EnvString(&c.URL, "nats-url", "IXNSTORE_NATS_URL", "",
		"copy every published event to NATS JetStream at this URL (nats://host:4222, a comma-separated list for a cluster); empty: no bridge")
	f.EnvString(&c.CredsFile, "nats-creds", "IXNSTORE_NATS_CREDS", "", "a NATS credentials file (.creds) to connect with")
	f.EnvString(&c.Stream, "nats-stream", "IXNSTORE_NATS_STREAM", natsbridge.DefaultStream,
		"the JetStream stream the events go to; created at start when missing, checked against the flags below when there")
	f.EnvString(&c.SubjectPrefix, "nats-subject-prefix", "IXNSTORE_NATS_SUBJECT_PREFIX", natsbridge.DefaultSubjectPrefix,
		"events go to PREFIX.<node>.<session>.<event name>; the stream's subjects are PREFIX.>")
	f.EnvString(&c.Retention, "nats-retention", "IXNSTORE_NATS_RETENTION", "limits", "the stream's retention: limits, interest or workqueue")
	f.EnvDuration(&c.MaxAge, "nats-max-age", "IXNSTORE_NATS_MAX_AGE", 0, "how long the stream keeps an event (0: no limit)")
	f.EnvDuration(&c.Duplicates, "nats-duplicate-window", "IXNSTORE_NATS_DUPLICATE_WINDOW", natsbridge.DefaultDuplicates,
		"the stream's duplicate window: an event sent again within it (after a crash or a takeover) is dropped by the server")
	f.EnvInt(&c.Replicas, "nats-replicas", "IXNSTORE_NATS_REPLICAS", 1, "the stream's replicas (1, or 3 or 5 on a NATS cluster)")
	f.EnvInt(&c.Window, "nats-window", "IXNSTORE_NATS_WINDOW", natsbridge.DefaultWindow,
		"most events sent to JetStream and not yet acknowledged")
}

// validate checks the flags as the bridge will take them, when it is on.
func (n *natsFlags) validate() error {
	if n.cfg.URL == "" {
		return nil
	}
	c := n.cfg
	c.ConnString, c.Read = "postgres://", func(context.Context, service.PublishedFilter, int64, int) ([]service.PublishedEvent, error) {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("--nats-*: %w", err)
	}
	return nil
}

// start runs the bridge until ctx ends, when --nats-url is given. It reads publication
// through a small read-only pool of its own (opened only while this instance bridges), never
// the writers'. wait waits for it to stop and closes its pool.
func (n *natsFlags) start(ctx context.Context, main *pgxpool.Pool, timeouts database.Timeouts, instance string, takeover time.Duration,
	published func() <-chan struct{}, logger *slog.Logger) (wait func(), err error) {
	if n.cfg.URL == "" {
		return func() {}, nil
	}
	pool, err := database.Open(ctx, main.Config().ConnString(), database.PoolOptions{MaxConns: 2, ReadOnly: true, Timeouts: timeouts})
	if err != nil {
		return func() {}, fmt.Errorf("the NATS bridge's pool: %w", err)
	}
	cfg := n.cfg
	cfg.ConnString, cfg.Timeouts, cfg.Instance, cfg.Takeover = main.Config().ConnString(), timeouts, instance, takeover
	cfg.Read, cfg.Wake = service.New(pool, service.Config{}).ListPublished, published
	cfg.Logger = logger.With("part", "nats")
	bridge, err := natsbridge.New(cfg)
	if err != nil {
		pool.Close()
		return func() {}, err
	}
	var wg sync.WaitGroup
	wg.Go(func() { bridge.Run(ctx) })
	return func() { wg.Wait(); pool.Close() }, nil
}
