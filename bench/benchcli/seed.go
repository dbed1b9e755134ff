package benchcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/bench/schema"
	"github.com/ixnstore/ixnstore/bench/seeddb"
	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/cli"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/migrations"
)

const seedSynopsis = `Fills a database with the history of a contact centre, for the reporting benchmarks:
--interactions interactions created evenly over the --days days that end now (or at --end),
with their sessions, parties, user data and events, as ixnstore itself would have written
them. The database is migrated first. A database that already holds interactions is refused
unless --append is given.

Each interaction is a call, chat or e-mail (60/25/15%), mostly inbound, with a customer at a
phone number, an agent (agent-1..agent-500) who answers it, sometimes a second agent (a
single-step transfer 10%, a conference 5%), and user data lang, segment and mostly an account
number. 5% are abandoned while the agent's phone rings. All but about 15% have ended, after a
handle time of 30 s to 20 min. Sessions hold 2 interactions on average and are owned by
node-1..node-<--nodes>, registered as live for a century. The events are numbered 1, 2, 3, ...
in each session and carry the reference's attributes; the reporting tables (resources ever on
an interaction, origins, first connection, transfer and conference counts) agree with them.
Every choice is a hash of the interaction's number and --seed: the same flags give the same
data.

The work is done in chunks of --chunk interactions, one transaction each, so an interrupted
seed keeps whole chunks; --append then adds more. Finally the tables are vacuumed and
analyzed, and their rows and sizes printed.

Seeded events are history, not news: by default (--publish) each chunk also publishes its
events, as the dispatcher would have, and moves the dispatcher past them, so that a dispatcher
started afterwards does not publish millions of old events. For that the seed holds the
dispatcher's lock while it runs (no ixnstore may be dispatching on the database) and checks,
in each chunk, that nothing else is writing events: seed a database before ixnstore writes to
it, not while. Run ixnstore on a seeded database with a --retention longer than --days (or 0),
or its retention drops the older days of the seeded events (they are published on the days
they happened).`

// seedPrefix keeps the ids the seed derives (<prefix>-s…, <prefix>-i…) valid identifiers, and
// the prefix free of LIKE's wildcards, by which an --append counts what was seeded before.
var seedPrefix = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

// sessionBlock: the SQL groups interaction numbers by 6 into sessions
// (bench/queries/seed.sql), so chunks start at multiples of it and no session is split
// between two chunks.
const sessionBlock = 6

// maxSeedNumber: the numbers in the ids have 10 digits (bench/queries/seed.sql).
const maxSeedNumber = 10_000_000_000

type seedConfig struct {
	interactions, days, nodes, chunk int
	seed                             int
	prefix                           string
	end                              time.Time
	appendTo, publish, vacuum        bool
}

func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := cli.NewFlags("ixnstore-bench seed [flags]", seedSynopsis, stderr)
	var (
		cfg                 seedConfig
		dbf                 cli.DatabaseFlags
		end                 string
		logLevel, logFormat string
	)
	dbf.Register(f)
	f.EnvInt(&cfg.interactions, "interactions", "IXNSTORE_SEED_INTERACTIONS", 1_000_000, "interactions to write")
	f.EnvInt(&cfg.days, "days", "IXNSTORE_SEED_DAYS", 10, "days over which their creation is spread, ending at --end")
	f.EnvString(&end, "end", "IXNSTORE_SEED_END", "", "end of that period, RFC 3339 (empty: now); give it to seed the same data twice")
	f.EnvInt(&cfg.nodes, "nodes", "IXNSTORE_SEED_NODES", 20, "routing nodes owning the sessions: node-1..node-N")
	f.EnvInt(&cfg.chunk, "chunk", "IXNSTORE_SEED_CHUNK", 50_000, "interactions per transaction (rounded up to a multiple of 6)")
	f.EnvInt(&cfg.seed, "seed", "IXNSTORE_SEED_SEED", 1, "seed of the pseudo-random choices")
	f.EnvString(&cfg.prefix, "prefix", "IXNSTORE_SEED_PREFIX", "seed", "prefix of the session, interaction and party ids (letters and digits)")
	f.EnvBool(&cfg.appendTo, "append", "IXNSTORE_SEED_APPEND", false,
		"add to a database that already holds interactions (numbering on after earlier seeds of the same --prefix)")
	f.EnvBool(&cfg.publish, "publish", "IXNSTORE_SEED_PUBLISH", true,
		"publish the seeded events and move the dispatcher past them; false leaves them to a dispatcher")
	f.EnvBool(&cfg.vacuum, "vacuum", "IXNSTORE_SEED_VACUUM", true, "VACUUM ANALYZE the tables at the end (else only autovacuum will)")
	f.EnvString(&logLevel, "log-level", "IXNSTORE_LOG_LEVEL", "info", "debug, info, warn or error")
	f.EnvString(&logFormat, "log-format", "IXNSTORE_LOG_FORMAT", "text", "text or json")
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	if f.NArg() != 0 {
		f.Usage()
		return cli.ErrUsage
	}
	switch {
	case cfg.interactions < 1:
		return fmt.Errorf("--interactions must be at least 1")
	case cfg.days < 1:
		return fmt.Errorf("--days must be at least 1")
	case cfg.nodes < 1:
		return fmt.Errorf("--nodes must be at least 1")
	case cfg.chunk < 1:
		return fmt.Errorf("--chunk must be at least 1")
	case cfg.seed < -1<<58 || cfg.seed > 1<<58:
		// The SQL salts it as seed * 16 + salt, in a bigint.
		return fmt.Errorf("--seed must be within ±2^58")
	case !seedPrefix.MatchString(cfg.prefix):
		return fmt.Errorf("--prefix must be 1 to 32 letters and digits, not %q", cfg.prefix)
	}
	cfg.end = time.Now()
	if end != "" {
		t, err := time.Parse(time.RFC3339Nano, end)
		if err != nil {
			return fmt.Errorf("--end: %w", err)
		}
		cfg.end = t
	}
	// Microseconds, as PostgreSQL keeps them: the SQL computes times from it exactly.
	cfg.end = cfg.end.Truncate(time.Microsecond)
	logger, err := cli.NewLogger(stderr, logLevel, logFormat)
	if err != nil {
		return err
	}
	pool, closeDB, err := dbf.Open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		return err
	}
	return seedDatabase(ctx, pool, cfg, stdout, logger)
}

func seedDatabase(ctx context.Context, pool *pgxpool.Pool, cfg seedConfig, stdout io.Writer, logger *slog.Logger) error {
	started := time.Now()
	q := seeddb.New(pool)
	existing, err := q.SeedExisting(ctx, cfg.prefix+"-i")
	if err != nil {
		return err
	}
	if existing.Interactions > 0 && !cfg.appendTo {
		return fmt.Errorf("the database already holds %d interactions: seed an empty database, or add to it with --append",
			existing.Interactions)
	}
	if cfg.publish {
		release, err := holdDispatcherLock(ctx, pool)
		if err != nil {
			return err
		}
		defer release()
	}
	if err := q.SeedNodes(ctx, int32(cfg.nodes)); err != nil {
		return err
	}

	// Interaction numbers base..base+interactions-1. An --append goes on after the numbers
	// earlier seeds used: they wrote whole chunks, multiples of sessionBlock, except perhaps
	// their last, which rounding up steps over.
	base := roundUp(existing.Seeded, sessionBlock)
	n := int64(cfg.interactions)
	if base+n > maxSeedNumber {
		return fmt.Errorf("interaction numbers %d to %d: the ids have room for %d", base, base+n-1, maxSeedNumber)
	}
	stepUs := int64(cfg.days) * 24 * int64(time.Hour/time.Microsecond) / n
	if stepUs < 1 {
		return fmt.Errorf("%d interactions in %d days is more than one a microsecond", n, cfg.days)
	}
	params := seeddb.SeedStageParams{
		Prefix: cfg.prefix, Seed: int64(cfg.seed), Nodes: int64(cfg.nodes), Base: base,
		StartAt: cfg.end.Add(-time.Duration(n*stepUs) * time.Microsecond), StepUs: stepUs, EndAt: cfg.end,
	}
	if cfg.publish {
		// The seeded events are published as of when they happened: publication needs those
		// days (an interaction's last events come up to half an hour after the last is created).
		until := cfg.end
		if now := time.Now(); now.After(until) {
			until = now
		}
		until = until.AddDate(0, 0, dispatcher.DaysAhead)
		if _, err := db.New(pool).PublicationDays(ctx, db.PublicationDaysParams{FromAt: params.StartAt, ToAt: until}); err != nil {
			return fmt.Errorf("making the days of publication: %w", err)
		}
	}
	chunk := roundUp(int64(cfg.chunk), sessionBlock)
	logger.Info("seeding", "interactions", n, "from", params.StartAt.Format(time.RFC3339), "to", cfg.end.Format(time.RFC3339),
		"first_number", base, "chunk", chunk, "publish", cfg.publish)

	var totals seedCounts
	for first := base; first < base+n; first += chunk {
		params.First, params.Last = first, min(first+chunk, base+n)-1
		chunkStart := time.Now()
		c, err := seedChunk(ctx, pool, params, cfg.publish, logger)
		if err != nil {
			return fmt.Errorf("interactions %d to %d: %w", params.First, params.Last, err)
		}
		totals.add(c)
		done := params.Last + 1 - base
		elapsed := time.Since(started)
		logger.Info("chunk seeded", "interactions", done, "of", n, "events", totals.events,
			"chunk_time", time.Since(chunkStart).Round(time.Millisecond), "elapsed", elapsed.Round(time.Second),
			"eta", (time.Duration(float64(elapsed) / float64(done) * float64(n-done))).Round(time.Second))
	}
	seeded := time.Since(started)

	if cfg.publish {
		if err := q.SeedOutboxCompact(ctx); err != nil {
			return err
		}
	}
	if cfg.vacuum {
		vacuumStart := time.Now()
		logger.Info("vacuum analyze")
		if err := q.SeedVacuumAnalyze(ctx); err != nil {
			return err
		}
		logger.Info("vacuumed and analyzed", "time", time.Since(vacuumStart).Round(time.Millisecond))
	}
	elapsed := time.Since(started)
	sizes, err := q.SeedTableSizes(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d interactions (%d sessions, %d parties, %d user data, %d events, %d published) in %s: %.0f interactions/s; %s in all\n",
		totals.interactions, totals.sessions, totals.parties, totals.userData, totals.events, totals.published,
		seeded.Round(time.Second), float64(totals.interactions)/seeded.Seconds(), elapsed.Round(time.Second))
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "table\trows\tsize\t")
	for _, s := range sizes {
		fmt.Fprintf(w, "%s\t%d\t%s\t\n", s.TableName, s.RowCount, s.TotalSize)
	}
	return w.Flush()
}

type seedCounts struct {
	sessions, interactions, userData, events, resources, parties, published int64
}

func (c *seedCounts) add(o seedCounts) {
	c.sessions += o.sessions
	c.interactions += o.interactions
	c.userData += o.userData
	c.events += o.events
	c.resources += o.resources
	c.parties += o.parties
	c.published += o.published
}

// seedStep is a statement of a chunk: what it writes, and where its row count goes.
type seedStep struct {
	name string
	run  func() (int64, error)
	into *int64
}

// seedChunk writes interactions p.First..p.Last in one transaction, in the order
// bench/queries/seed.sql explains: derived once into the transaction's own staging table,
// then written from there.
func seedChunk(ctx context.Context, pool *pgxpool.Pool, p seeddb.SeedStageParams, publish bool, logger *slog.Logger) (seedCounts, error) {
	return database.InTx(ctx, pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (seedCounts, error) {
		q := seeddb.New(tx)
		var c seedCounts
		if err := q.SeedTune(ctx); err != nil {
			return c, err
		}
		steps := []seedStep{
			// Created here, not once per seed: it is temporary, of this connection and
			// dropped at this transaction's commit (bench/schema/seed_staging.sql).
			{"staging table", func() (int64, error) { _, err := tx.Exec(ctx, schema.SeedStaging); return 0, err }, nil},
			{"derivation", func() (int64, error) { return q.SeedStage(ctx, p) }, nil},
			{"sessions", func() (int64, error) { return q.SeedSessions(ctx) }, &c.sessions},
			{"interactions", func() (int64, error) { return q.SeedInteractions(ctx) }, &c.interactions},
			{"live interactions", func() (int64, error) { return q.SeedLiveInteractions(ctx) }, nil},
			{"user data", func() (int64, error) { return q.SeedUserData(ctx) }, &c.userData},
			{"events", func() (int64, error) { return q.SeedOutbox(ctx) }, &c.events},
			{"resources", func() (int64, error) { return q.SeedResources(ctx) }, &c.resources},
			{"parties", func() (int64, error) { return q.SeedParties(ctx) }, &c.parties},
			{"origins", func() (int64, error) { return q.SeedOrigins(ctx) }, nil},
			{"sessions' ends", func() (int64, error) { return q.SeedSessionsFinish(ctx) }, nil},
		}
		if publish {
			steps = append(steps, seedStep{"publication", func() (int64, error) { return publishChunk(ctx, q) }, &c.published})
		}
		for _, s := range steps {
			t := time.Now()
			rows, err := s.run()
			if err != nil {
				return c, fmt.Errorf("%s: %w", s.name, err)
			}
			if s.into != nil {
				*s.into = rows
			}
			logger.Debug("seed step", "step", s.name, "rows", rows, "time", time.Since(t).Round(time.Millisecond))
		}
		return c, nil
	})
}

// olderWritersWait bounds how long a chunk waits for transactions older than its own to end
// before it moves the dispatcher past its events.
const olderWritersWait = 10 * time.Second

// publishChunk publishes the chunk's events, which must be the only ones not yet published:
// moving the dispatcher's cursor past this transaction's events would otherwise skip events
// of other writers for good. It returns how many it published.
func publishChunk(ctx context.Context, q *seeddb.Queries) (int64, error) {
	deadline := time.Now().Add(olderWritersWait)
	for {
		chk, err := q.SeedPublicationCheck(ctx)
		if err != nil {
			return 0, err
		}
		if chk.Unpublished > 0 {
			return 0, fmt.Errorf("%d events of other writers are not published yet, so the dispatcher cannot be moved past "+
				"the seeded ones: seed before ixnstore writes to this database, or seed with --publish=false", chk.Unpublished)
		}
		if chk.OlderWriters == 0 {
			last, err := q.SeedPublish(ctx, chk.LastPubSeq)
			if errors.Is(err, pgx.ErrNoRows) {
				return 0, errors.New("the dispatcher's position moved while the seed held it")
			}
			return last - chk.LastPubSeq, err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d transactions older than the seed's are still running on this database after %s and may "+
				"yet write events: seed while nothing else writes to it, or seed with --publish=false", chk.OlderWriters, olderWritersWait)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// holdDispatcherLock takes the lock of the one dispatcher of the database on a connection of
// its own, for as long as the seed runs, so that no dispatcher publishes while the seed moves
// its position. The returned function releases it (by closing the connection).
func holdDispatcherLock(ctx context.Context, pool *pgxpool.Pool) (func(), error) {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	release := func() { _ = conn.Close(context.WithoutCancel(ctx)) }
	got, err := db.New(conn).DispatcherTryLock(ctx)
	if err != nil {
		release()
		return nil, err
	}
	if !got {
		release()
		return nil, errors.New("an ixnstore is dispatching on this database: stop it first (seeded events are published " +
			"by the seed itself), or seed with --publish=false")
	}
	return release, nil
}

func roundUp(n, m int64) int64 { return (n + m - 1) / m * m }
