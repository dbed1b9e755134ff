// Command ixnstore-bench measures ixnstore (write path, publication, failover, reports) and
// seeds databases for the reporting benchmarks. It is tooling, apart from the product.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ixnstore/ixnstore/bench/benchcli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := benchcli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
