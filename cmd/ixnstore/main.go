// Command ixnstore is the persistent state service of a cluster of SCXML routing nodes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ixnstore/ixnstore/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
