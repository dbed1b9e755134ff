// Package benchcli is the ixnstore-bench command: the benchmarks (write path, publication,
// failover, reports) and the seed that fills a database for the reporting benchmarks. It is
// tooling, kept out of the product: ixnstore itself imports none of it.
package benchcli

import (
	"context"
	"fmt"
	"io"

	"github.com/ixnstore/ixnstore/internal/cli"
)

const usage = `ixnstore-bench measures ixnstore and fills databases for its reporting benchmarks.

Usage:
  ixnstore-bench [flags]         measure (the write path by default; --publish, --failover, --reports)
  ixnstore-bench seed [flags]    fill a database with past interactions for the reporting benchmarks
  ixnstore-bench streams [flags] what event streams cost: writes/s with idle streams, memory of streams catching up
  ixnstore-bench day [flags]     a contact centre's day: nodes and adapters over HTTP, a node failing over, every event checked
  ixnstore-bench otlp-sink       an OTLP endpoint that discards traces: to measure tracing with its exporter at work

Run 'ixnstore-bench --help', 'ixnstore-bench seed --help', 'ixnstore-bench streams --help' or
'ixnstore-bench day --help' for the flags.
`

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "seed":
			return cli.ExitCode("ixnstore-bench seed", runSeed(ctx, args[1:], stdout, stderr), stderr)
		case "streams":
			return cli.ExitCode("ixnstore-bench streams", runStreamsBench(ctx, args[1:], stdout, stderr), stderr)
		case "day":
			return cli.ExitCode("ixnstore-bench day", runDayBench(ctx, args[1:], stdout, stderr), stderr)
		case "otlp-sink":
			return cli.ExitCode("ixnstore-bench otlp-sink", runOTLPSink(ctx, args[1:], stdout, stderr), stderr)
		case "help":
			fmt.Fprint(stdout, usage)
			return 0
		}
	}
	return cli.ExitCode("ixnstore-bench", runBench(ctx, args, stdout, stderr), stderr)
}
