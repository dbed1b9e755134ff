package benchcli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/bench"
	"github.com/ixnstore/ixnstore/internal/cli"
	"github.com/ixnstore/ixnstore/migrations"
)

const streamsSynopsis = `Measures what event streams cost an ixnstore run as a user runs it: 'ixnstore serve' in a
process of its own (dispatcher on) on a scratch database, driven from this process.

1. Writes/s at --clients clients with each count of --streams idle streams open (streams of a
   node that writes nothing: they get no events, and used to poll the database anyway).
   Medians over --rounds rounds, each count in turn, and their ratio to the first count.
2. Memory of the serve process while --catchup-streams streams catch up from the beginning
   over --catchup-events published events (seeded first with 'ixnstore-bench seed'): its peak
   RSS (VmHWM of /proc/PID/status), and its RSS before, and --settle after, the streams close.

Each stream is a connection: this process and the serve process each need a file per stream,
so the open-files limit (ulimit -n) must exceed the larger count. Go programs raise their soft
limit to the hard one by themselves; raise the hard one (ulimit -Hn) if it is lower.`

func runStreamsBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := cli.NewFlags("ixnstore-bench streams [flags]", streamsSynopsis, stderr)
	var (
		dbURL, binary, streamList, serveArgs string
		clients, sessions, rounds            int
		catchUpStreams, catchUpEvents        int
		duration, settle                     time.Duration
	)
	f.EnvString(&dbURL, "database-url", "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres",
		"a PostgreSQL server where the bench may create and drop databases")
	f.StringVar(&binary, "ixnstore", "", "the ixnstore binary to run (empty: go build ./cmd/ixnstore, from the module's directory)")
	f.StringVar(&serveArgs, "serve-args", "--max-streams 2500", "more flags for 'ixnstore serve', space-separated")
	f.StringVar(&streamList, "streams", "0 200 2000", "idle stream counts to measure writes with, space-separated")
	f.IntVar(&clients, "clients", 16, "writing clients")
	f.IntVar(&sessions, "sessions", 10000, "sessions the writes are spread over")
	f.IntVar(&rounds, "rounds", 3, "rounds of the write measurements")
	f.DurationVar(&duration, "duration", 10*time.Second, "length of each write measurement")
	f.IntVar(&catchUpStreams, "catchup-streams", 2000, "streams catching up from the beginning (0: skip)")
	f.IntVar(&catchUpEvents, "catchup-events", 100000, "published events they catch up over (at least)")
	f.DurationVar(&settle, "settle", 30*time.Second, "how long after the streams close the serve process's RSS is read again")
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	var counts []int
	for _, s := range strings.Fields(streamList) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("--streams: %q is not a count", s)
		}
		counts = append(counts, n)
	}
	binary, remove, err := ixnstoreBinary(ctx, binary)
	if err != nil {
		return err
	}
	defer remove()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if len(counts) > 0 {
		if err := idleStreamsBench(ctx, stdout, stderr, binary, dbURL, strings.Fields(serveArgs), counts, clients, sessions, rounds, duration); err != nil {
			return err
		}
	}
	if catchUpStreams > 0 {
		return catchUpBench(ctx, stdout, stderr, logger, binary, dbURL, strings.Fields(serveArgs), catchUpStreams, catchUpEvents, settle)
	}
	return nil
}

func idleStreamsBench(ctx context.Context, stdout, stderr io.Writer, binary, dbURL string, serveArgs []string,
	counts []int, clients, sessions, rounds int, duration time.Duration) error {
	scratch, drop, err := scratchDatabase(ctx, dbURL, "ixn_bench_streams")
	if err != nil {
		return err
	}
	defer drop()
	srv, err := startServe(ctx, stderr, binary, scratch, serveArgs)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "seeding %d sessions through %s (serve pid %d)\n", sessions, srv.url, srv.pid)
	load := bench.NewLoad(srv.url, sessions)
	if err := load.Seed(ctx, 8); err != nil {
		return err
	}
	rates := map[int][]float64{}
	ratios := map[int][]float64{} // to the first count's rate in the same round: the machine's speed drifts between rounds
	for round := 1; round <= rounds; round++ {
		fmt.Fprintf(stdout, "-- round %d of %d\n", round, rounds)
		for _, n := range counts {
			streams, err := openStreams(ctx, srv.url, n, func(i int) string { return "?node_id=idle-" + strconv.Itoa(i%20) }, nil)
			if err != nil {
				return err
			}
			res, err := load.Run(ctx, clients, duration)
			gone := streams.close()
			if err != nil {
				return err
			}
			if gone > 0 {
				return fmt.Errorf("%d of %d idle streams ended before the measurement did", gone, n)
			}
			fmt.Fprintf(stdout, "%5d idle streams: %s\n", n, res)
			rates[n] = append(rates[n], res.PerSecond())
			ratios[n] = append(ratios[n], res.PerSecond()/rates[counts[0]][round-1])
		}
	}
	fmt.Fprintf(stdout, "-- medians of %d rounds of %s, %d clients\n", rounds, duration, clients)
	for _, n := range counts {
		fmt.Fprintf(stdout, "%5d idle streams: %6.0f writes/s   %.2f× of %d streams in the same round (median of %v)\n",
			n, median(rates[n]), median(ratios[n]), counts[0], roundTo(ratios[n]))
	}
	return nil
}

func catchUpBench(ctx context.Context, stdout, stderr io.Writer, logger *slog.Logger, binary, dbURL string, serveArgs []string,
	streams, events int, settle time.Duration) error {
	scratch, drop, err := scratchDatabase(ctx, dbURL, "ixn_bench_catchup")
	if err != nil {
		return err
	}
	defer drop()
	last, err := seedEvents(ctx, stdout, logger, scratch, events)
	if err != nil {
		return err
	}
	srv, err := startServe(ctx, stderr, binary, scratch, append([]string{"--retention", "0"}, serveArgs...))
	if err != nil {
		return err
	}
	defer srv.stop()
	before, err := procStatus(srv.pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d streams catching up from 0 over %d events (serve pid %d, RSS %d MB)\n", streams, last, srv.pid, before.rss>>20)
	started := time.Now()
	done := make(chan struct{}, streams)
	open, err := openStreams(ctx, srv.url, streams, func(int) string { return "?after=0" }, func(r io.Reader) error {
		err := readUntil(r, last)
		done <- struct{}{}
		return err
	})
	if err != nil {
		return err
	}
	var peakRSS int64
	tick := time.NewTicker(200 * time.Millisecond)
	for caughtUp := 0; caughtUp < streams; {
		select {
		case <-done:
			caughtUp++
		case <-tick.C:
			if st, err := procStatus(srv.pid); err == nil {
				peakRSS = max(peakRSS, st.rss)
			}
		case <-ctx.Done():
			tick.Stop()
			open.close()
			return ctx.Err()
		}
	}
	tick.Stop()
	took := time.Since(started)
	if failed := open.close(); failed > 0 {
		return fmt.Errorf("%d streams failed: %v", failed, open.firstErr())
	}
	atClose, err := procStatus(srv.pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "all caught up in %s: %.0f events/s delivered, serve CPU %s\n", took.Round(time.Millisecond),
		float64(streams)*float64(last)/took.Seconds(), (atClose.cpu - before.cpu).Round(10*time.Millisecond))
	time.Sleep(settle) // the measurement: what the process gives back by itself
	after, err := procStatus(srv.pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serve process: peak RSS (VmHWM) %d MB (sampled peak VmRSS %d MB); RSS %d MB before, %d MB when the streams closed, %d MB %s after\n",
		atClose.hwm>>20, peakRSS>>20, before.rss>>20, atClose.rss>>20, after.rss>>20, settle)
	return nil
}

func roundTo(xs []float64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return out
}

// seedEvents fills the database with at least events published events, as
// 'ixnstore-bench seed' does, and returns the last publication number.
func seedEvents(ctx context.Context, stdout io.Writer, logger *slog.Logger, dbURL string, events int) (int64, error) {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		return 0, err
	}
	// The seed writes about 8 events an interaction: 1/7 of the events is enough.
	n := int(roundUp(int64(events)/7+sessionBlock, sessionBlock))
	cfg := seedConfig{interactions: n, days: 1, nodes: 20, chunk: 50_000, seed: 1, prefix: "seed",
		end: time.Now().Truncate(time.Microsecond), publish: true}
	if err := seedDatabase(ctx, pool, cfg, io.Discard, logger); err != nil {
		return 0, err
	}
	var last int64
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(pub_seq), 0) FROM publication").Scan(&last); err != nil {
		return 0, err
	}
	if last < int64(events) {
		return 0, fmt.Errorf("the seed published %d events, fewer than %d", last, events)
	}
	fmt.Fprintf(stdout, "seeded %d published events\n", last)
	return last, nil
}

// ixnstoreBinary is the ixnstore binary to run: given, or (given empty) the module's in the
// current directory built into a temporary directory, which remove deletes.
func ixnstoreBinary(ctx context.Context, given string) (binary string, remove func(), err error) {
	if given != "" {
		return given, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "ixnstore-bench-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { _ = os.RemoveAll(dir) }
	binary = filepath.Join(dir, "ixnstore")
	if _, err := runLogged(ctx, io.Discard, exec.CommandContext(ctx, "go", "build", "-o", binary, "./cmd/ixnstore")); err != nil {
		remove()
		return "", nil, fmt.Errorf("building ixnstore (run from the module's directory, or give --ixnstore): %w", err)
	}
	return binary, remove, nil
}

// serveProc is 'ixnstore serve' running in its own process.
type serveProc struct {
	url  string
	pid  int
	cmd  *exec.Cmd
	done chan struct{}
}

func startServe(ctx context.Context, stderr io.Writer, binary, dbURL string, extra []string) (*serveProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	// Access off: this bench measures streams, and its clients carry no token (the cost of
	// access is measured apart: docs/benchmarks.md, "Auth"). extra may turn it back on.
	args := append([]string{"serve", "--database-url", dbURL, "--addr", addr, "--log-level", "warn", "--auth=off"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serveProc{url: "http://" + addr, pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("ixnstore serve ended at start: %v", cmd.ProcessState)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("ixnstore serve was not ready within 60s")
		}
	}
}

// stop ends the process with SIGTERM, or SIGKILL if it has not ended 15s later.
func (p *serveProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

type status struct {
	hwm, rss int64
	cpu      time.Duration // user and system time so far
}

// procStatus reads a process's peak and current resident set size, in bytes, and its CPU
// time.
func procStatus(pid int) (status, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return status{}, err
	}
	var st status
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return status{}, err
	}
	// Fields after the command's closing parenthesis; utime and stime are the 12th and 13th,
	// in clock ticks (100 a second on Linux).
	if _, rest, ok := bytes.Cut(stat, []byte(") ")); ok {
		if f := strings.Fields(string(rest)); len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			st.cpu = time.Duration(u+s) * 10 * time.Millisecond
		}
	}
	for line := range strings.Lines(string(raw)) {
		name, value, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case err != nil:
		case name == "VmHWM":
			st.hwm = kb << 10
		case name == "VmRSS":
			st.rss = kb << 10
		}
	}
	return st, nil
}

// openStreamSet is a set of open streams.
type openStreamSet struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// openStreams opens n event streams (query(i) is the i-th's query string), 50 at a time, and
// returns once each has answered 200. Each one's body goes to read (nil: discarded) until
// the set is closed.
func openStreams(ctx context.Context, base string, n int, query func(int) string, read func(io.Reader) error) (*openStreamSet, error) {
	ctx, cancel := context.WithCancel(ctx)
	set := &openStreamSet{cancel: cancel}
	if read == nil {
		read = func(r io.Reader) error {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			return io.ErrUnexpectedEOF // the server ended it
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}}
	opened := make(chan error, n)
	slots := make(chan struct{}, 50)
	for i := range n {
		set.wg.Go(func() {
			slots <- struct{}{}
			req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/events/stream"+query(i), nil)
			if err != nil {
				<-slots
				opened <- err
				return
			}
			res, err := client.Do(req)
			<-slots
			if err == nil && res.StatusCode != http.StatusOK {
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				err = fmt.Errorf("stream %d: status %d: %s", i, res.StatusCode, body)
			}
			opened <- err
			if err != nil {
				return
			}
			defer res.Body.Close()
			if err := read(res.Body); err != nil && ctx.Err() == nil {
				set.mu.Lock()
				set.errs = append(set.errs, err)
				set.mu.Unlock()
			}
		})
	}
	for range n {
		if err := <-opened; err != nil {
			set.close()
			return nil, err
		}
	}
	return set, nil
}

// close ends the streams and returns how many had ended by themselves with an error.
func (s *openStreamSet) close() int {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.errs)
}

func (s *openStreamSet) firstErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		return nil
	}
	return s.errs[0]
}

// readUntil reads a stream until the event whose id is last; a stream that ends before it,
// or is cut, is an error.
func readUntil(r io.Reader, last int64) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("the stream ended before event %d: %w", last, err)
		}
		if id, ok := bytes.CutPrefix(line, []byte("id: ")); ok {
			n, _ := strconv.ParseInt(string(bytes.TrimSpace(id)), 10, 64)
			if n >= last {
				return nil
			}
		}
		if bytes.HasPrefix(line, []byte("event: stream.cut")) {
			return errors.New("the stream was cut")
		}
	}
}
