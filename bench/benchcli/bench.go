package benchcli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/bench"
	"github.com/ixnstore/ixnstore/internal/cli"
	"github.com/ixnstore/ixnstore/migrations"
)

const benchSynopsis = `Measures state changes per second through the HTTP API: each client changes a party's
state (one interaction.partystatechanged event) as fast as it is answered.

By default it creates a scratch database (ixn_bench) on the server of --database-url, runs
the API in this process on a loopback port, seeds --sessions sessions, and drops the
database at the end. With --target it drives an ixnstore that is already running (seeded
with the same sessions first).

--ceiling runs shared/bench/commit-ceiling in each round, and --pgbench runs
'pgbench -c 16 -j 2 -T <duration> -N' on a scratch database, so that ixnstore's rate is
quoted as a ratio to the bare-SQL rate measured in the same run. Medians over --rounds.

--publish measures publication (see README), --failover the time from a routing node's last
heartbeat to its sessions restored on another node, --reports the reporting queries on a
database that ixnstore-bench seed filled (it is not a scratch database: give its URL).`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := cli.NewFlags("ixnstore-bench [flags]", benchSynopsis, stderr)
	var (
		dbURL, target, clientList, ceiling string
		sessions, rounds, maxConns         int
		duration                           time.Duration
		withPgbench, publish, failoverMode bool
		byNode, reports                    bool
		failoverSessions                   int
		nodeLease, assignInterval          time.Duration
		backlog                            int
		natsURL                            string
		pacedRates                         string
		cpuProfile                         string
		checkpointBytes                    int
		token                              string
		leaseEpoch                         int
		cpuOf                              int
		cpuDatabase                        string
	)
	f.EnvString(&dbURL, "database-url", "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres",
		"a PostgreSQL server where the bench may create and drop databases")
	f.EnvString(&target, "target", "IXNSTORE_BENCH_TARGET", "", "URL of a running ixnstore to drive instead")
	f.EnvString(&clientList, "clients", "IXNSTORE_BENCH_CLIENTS", "1 16", "client counts to measure, space-separated")
	f.EnvString(&ceiling, "ceiling", "IXNSTORE_BENCH_CEILING", "", "path of shared/bench/commit-ceiling, run in each round")
	f.EnvInt(&sessions, "sessions", "IXNSTORE_BENCH_SESSIONS", 10000, "sessions to spread the changes over")
	f.EnvInt(&rounds, "rounds", "IXNSTORE_BENCH_ROUNDS", 3, "rounds of every measurement")
	f.EnvInt(&maxConns, "db-max-conns", "IXNSTORE_DB_MAX_CONNS", 32, "most database connections of the in-process API")
	f.EnvDuration(&duration, "duration", "IXNSTORE_BENCH_DURATION", 10*time.Second, "length of each measurement")
	f.BoolVar(&withPgbench, "pgbench", false, "also run pgbench -N (TPC-B without branch updates) in each round")
	f.BoolVar(&publish, "publish", false, "measure publication instead: from a backlog, latency at a fixed rate, writers with the dispatcher on and off")
	f.EnvInt(&backlog, "backlog", "IXNSTORE_BENCH_BACKLOG", 200000, "with --publish: events in the backlog")
	f.EnvString(&natsURL, "nats-url", "IXNSTORE_BENCH_NATS_URL", "",
		"with --publish: also measure through a NATS JetStream bridge to this server (nats://127.0.0.1:4222), on a stream of the bench's own, deleted after")
	f.EnvString(&pacedRates, "rates", "IXNSTORE_BENCH_RATES", "500 1000 2000",
		"with --publish: events/s at which to measure commit → subscriber latency, space-separated")
	f.BoolVar(&failoverMode, "failover", false,
		"measure failover instead: time from a node's last heartbeat to its sessions restored on another node")
	f.EnvInt(&failoverSessions, "failover-sessions", "IXNSTORE_BENCH_FAILOVER_SESSIONS", 1000, "with --failover: sessions the dying node owns")
	f.EnvDuration(&nodeLease, "node-lease", "IXNSTORE_NODE_LEASE", 2*time.Second, "with --failover: the dying node's lease")
	f.EnvDuration(&assignInterval, "assign-interval", "IXNSTORE_ASSIGN_INTERVAL", 500*time.Millisecond,
		"with --failover: how often orphans are looked for")
	f.BoolVar(&reports, "reports", false,
		"measure the reporting queries instead, on the seeded database of --database-url (see ixnstore-bench seed), while writers run")
	f.BoolVar(&byNode, "claim-by-node", false, "with --failover: the surviving node claims orphans itself instead of ixnstore's assigner")
	f.IntVar(&checkpointBytes, "checkpoint-bytes", 0,
		"send a session checkpoint of about this many bytes of JSON with every change (0: none)")
	f.EnvString(&token, "token", "IXNSTORE_BENCH_TOKEN", "",
		"with --target: the bearer token to send (ixnstore token create --role node --node bench, with --lease-epoch 1)")
	f.IntVar(&leaseEpoch, "lease-epoch", 0, "with --target: send X-Lease-Epoch with every request, as a routing node must (0: none)")
	f.IntVar(&cpuOf, "cpu-of", 0, "with --target: the pid of the ixnstore serving it; each measurement then prints its CPU per change, "+
		"of that process and of the backends of --cpu-database (a figure that a busy machine disturbs less than a rate)")
	f.StringVar(&cpuDatabase, "cpu-database", "", "with --cpu-of: the database that ixnstore serves, on the server of --database-url")
	f.StringVar(&cpuProfile, "cpu-profile", "", "write a CPU profile of this process (API and clients) to this file")
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	if cpuProfile != "" {
		out, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var clients []int
	for _, s := range strings.Fields(clientList) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("--clients: %q is not a positive number", s)
		}
		clients = append(clients, n)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if reports {
		return benchReports(ctx, stdout, logger, dbURL, clients[len(clients)-1], duration)
	}
	if failoverMode {
		return benchFailover(ctx, stdout, logger, benchFailoverConfig{sessions: failoverSessions, lease: nodeLease,
			interval: assignInterval, rounds: rounds, byNode: byNode, dbURL: dbURL})
	}

	if cpuOf != 0 && (target == "" || cpuDatabase == "") {
		return fmt.Errorf("--cpu-of measures a running ixnstore: it takes --target and --cpu-database")
	}
	if publish && target != "" {
		return fmt.Errorf("--publish runs the API in this process; it does not take --target")
	}
	var inproc *inProcess
	if target == "" {
		scratch, drop, err := scratchDatabase(ctx, dbURL, "ixn_bench")
		if err != nil {
			return err
		}
		defer drop()
		cfg, err := pgxpool.ParseConfig(scratch)
		if err != nil {
			return err
		}
		cfg.MaxConns = int32(maxConns)
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer pool.Close()
		if _, err := migrations.Up(ctx, pool, nil); err != nil {
			return err
		}
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		hubCtx, stopHub := context.WithCancel(ctx)
		defer stopHub()
		inproc, err = newInProcess(hubCtx, pool, logger)
		if err != nil {
			return err
		}
		defer inproc.stopDispatcher()
		if publish {
			inproc.startDispatcher(ctx)
		}
		server := &http.Server{Handler: inproc.handler, ReadHeaderTimeout: 10 * time.Second}
		go server.Serve(listener) //nolint:errcheck // ends with Close below
		defer server.Close()
		target = "http://" + listener.Addr().String()
		inproc.url = target
	}
	fmt.Fprintf(stdout, "seeding %d sessions through %s\n", sessions, target)
	load := bench.NewLoad(target, sessions).WithCheckpoint(checkpointBytes).WithAuth(token, int64(leaseEpoch))
	if err := load.Seed(ctx, 8); err != nil {
		return err
	}

	if publish {
		return benchPublish(ctx, stdout, inproc, load, target, benchPublishConfig{
			backlog: backlog, rates: pacedRates, duration: duration, rounds: rounds, clients: clients[len(clients)-1],
			natsURL: natsURL,
		})
	}

	rates := map[string][]float64{} // "ixnstore 16", "ceiling 16", "pgbench 16" → per round
	for round := 1; round <= rounds; round++ {
		fmt.Fprintf(stdout, "-- round %d of %d\n", round, rounds)
		if ceiling != "" {
			out, err := runLogged(ctx, stdout, ceilingCommand(ctx, ceiling, dbURL, duration, clientList))
			if err != nil {
				return fmt.Errorf("commit-ceiling: %w", err)
			}
			for _, m := range ceilingLine.FindAllStringSubmatch(out, -1) {
				v, _ := strconv.ParseFloat(m[1], 64)
				rates["ceiling "+m[2]] = append(rates["ceiling "+m[2]], v)
			}
		}
		if withPgbench {
			tps, err := pgbenchN(ctx, stdout, dbURL, duration)
			if err != nil {
				return err
			}
			rates["pgbench 16"] = append(rates["pgbench 16"], tps)
		}
		for _, c := range clients {
			meter := &cpuMeter{servePID: cpuOf, dbURL: dbURL, database: cpuDatabase}
			var before cpuSample
			if cpuOf != 0 {
				var err error
				if before, err = meter.sample(ctx); err != nil {
					return err
				}
			}
			res, err := load.Run(ctx, c, duration)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, res)
			if cpuOf != 0 {
				after, err := meter.sample(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "cpu per change at %d clients: %s\n", c, perChange(before, after, res.Changes))
			}
			rates["ixnstore "+strconv.Itoa(c)] = append(rates["ixnstore "+strconv.Itoa(c)], res.PerSecond())
		}
	}

	fmt.Fprintf(stdout, "-- medians of %d rounds of %s\n", rounds, duration)
	for _, c := range clients {
		k := strconv.Itoa(c)
		line := fmt.Sprintf("%2d clients: ixnstore %6.0f/s", c, median(rates["ixnstore "+k]))
		if cl := median(rates["ceiling "+k]); cl > 0 {
			line += fmt.Sprintf("   commit ceiling %6.0f/s   ratio %.2f×", cl, median(rates["ixnstore "+k])/cl)
		}
		if pg := median(rates["pgbench "+k]); pg > 0 {
			line += fmt.Sprintf("   pgbench -N %6.0f tps", pg)
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}

var ceilingLine = regexp.MustCompile(`commit ceiling: (\d+) state changes/s at (\d+) clients`)

// scratchDatabase creates (anew) a database on the server of serverURL and returns its URL
// and a function that drops it.
func scratchDatabase(ctx context.Context, serverURL, name string) (string, func(), error) {
	cfg, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("--database-url: %w", err)
	}
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, err
	}
	ident := pgx.Identifier{name}.Sanitize()
	drop := func() {
		_, _ = admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		_ = admin.Close(context.WithoutCancel(ctx))
	}
	_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		drop()
		return "", nil, err
	}
	u := fmt.Sprintf("postgres://%s@%s:%d/%s", url.PathEscape(cfg.User), cfg.Host, cfg.Port, name)
	if cfg.Password != "" {
		u = fmt.Sprintf("postgres://%s:%s@%s:%d/%s", url.PathEscape(cfg.User), url.PathEscape(cfg.Password), cfg.Host, cfg.Port, name)
	}
	return u, drop, nil
}

// pgbenchN runs pgbench's -N script (TPC-B without the branch and teller updates) with 16
// clients on a scratch database of the same server.
func pgbenchN(ctx context.Context, stdout io.Writer, serverURL string, duration time.Duration) (float64, error) {
	scratch, drop, err := scratchDatabase(ctx, serverURL, "ixn_pgbench")
	if err != nil {
		return 0, err
	}
	defer drop()
	if _, err := runLogged(ctx, io.Discard, exec.CommandContext(ctx, "pgbench", "-q", "-i", "-s", "16", scratch)); err != nil {
		return 0, fmt.Errorf("pgbench -i: %w", err)
	}
	out, err := runLogged(ctx, io.Discard, exec.CommandContext(ctx, "pgbench", "-n", "-c", "16", "-j", "2",
		"-T", strconv.Itoa(int(duration.Seconds())), "-N", scratch))
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w", err)
	}
	m := regexp.MustCompile(`tps = ([\d.]+)`).FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(m[1], 64)
	fmt.Fprintf(stdout, "pgbench -c 16 -j 2 -T %d -N: %.0f tps\n", int(duration.Seconds()), tps)
	return tps, nil
}

// ceilingCommand runs the commit-ceiling script on the same server, with the same TLS mode as
// ixnstore's connections: the script keeps only the URL's host part, so a sslmode in the URL
// is passed on as PGSSLMODE.
func ceilingCommand(ctx context.Context, script, dbURL string, duration time.Duration, clients string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, script, "-T", strconv.Itoa(int(duration.Seconds())), "-c", clients, dbURL)
	if u, err := url.Parse(dbURL); err == nil {
		if mode := u.Query().Get("sslmode"); mode != "" {
			cmd.Env = append(os.Environ(), "PGSSLMODE="+mode)
		}
	}
	return cmd
}

func runLogged(ctx context.Context, stdout io.Writer, cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%w\n%s", err, out)
	}
	fmt.Fprint(stdout, string(out))
	return string(out), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
