// Package cli is the ixnstore command: its subcommands, their flags and the wiring of the
// parts. cmd/ixnstore only calls Main.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

const usage = `ixnstore keeps the state of SCXML routing sessions and their interactions in
PostgreSQL and publishes every change as the interaction events of the Genesys 8.1 SCXML
reference.

Usage:
  ixnstore serve   [flags]            run the HTTP API (applies migrations first)
  ixnstore migrate up|down|status     manage the database schema
  ixnstore bench   [flags]            measure state changes per second through the API
  ixnstore seed    [flags]            fill a database with past interactions for the reporting benchmarks
  ixnstore help    [command]          show help for a command

Every flag can also be set by an environment variable, named in its help.
Run 'ixnstore <command> --help' for a command's flags.
`

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, stderr)
	case "migrate":
		err = migrate(ctx, rest, stdout, stderr)
	case "bench":
		err = runBench(ctx, rest, stdout, stderr)
	case "seed":
		err = runSeed(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" {
			return Main(ctx, []string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ixnstore: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "ixnstore %s: %v\n", cmd, err)
		return 1
	}
}

// errUsage: the command line was wrong and the flag package already said how.
var errUsage = errors.New("usage")

// flags is a flag set whose flags fall back to environment variables.
type flags struct {
	*flag.FlagSet
}

func newFlags(name, synopsis string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flags{FlagSet: fs}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ixnstore %s\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return f
}

func (f *flags) string(p *string, name, envVar, def, help string) {
	f.StringVar(p, name, envOr(envVar, def), help+" ($"+envVar+")")
}

func (f *flags) int(p *int, name, envVar string, def int, help string) {
	d := def
	if v, err := strconv.Atoi(os.Getenv(envVar)); err == nil {
		d = v
	}
	f.IntVar(p, name, d, help+" ($"+envVar+")")
}

func (f *flags) bool(p *bool, name, envVar string, def bool, help string) {
	d := def
	if v, err := strconv.ParseBool(os.Getenv(envVar)); err == nil {
		d = v
	}
	f.BoolVar(p, name, d, help+" ($"+envVar+")")
}

func (f *flags) duration(p *time.Duration, name, envVar string, def time.Duration, help string) {
	d := def
	if v, err := time.ParseDuration(os.Getenv(envVar)); err == nil {
		d = v
	}
	f.DurationVar(p, name, d, help+" ($"+envVar+")")
}

func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// newLogger makes the process logger: text or JSON on stderr at the given level.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
	}
}
