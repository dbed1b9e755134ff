// Package cli is the ixnstore command: its subcommands, their flags and the wiring of the
// parts. cmd/ixnstore only calls Main. Its flag and logging helpers are exported for the
// tooling's own command (cmd/ixnstore-bench), which the product never imports.
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
  ixnstore token   create|list|revoke manage the API's bearer tokens
  ixnstore help    [command]          show help for a command

Every flag can also be set by an environment variable, named in its help.
Run 'ixnstore <command> --help' for a command's flags. Benchmarks and the reporting seed
are a separate command: go run ./cmd/ixnstore-bench --help.
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
	case "token":
		err = token(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" {
			return Main(ctx, []string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage+opsUsage)
		return 0
	default:
		if isOpsCommand(cmd) {
			return operate(ctx, cmd, rest, stdout, stderr)
		}
		fmt.Fprintf(stderr, "ixnstore: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	return ExitCode("ixnstore "+cmd, err, stderr)
}

// ExitCode says how a command ended: 0 done (or help shown), 2 a wrong command line (already
// explained by the flag package), 1 a failure, which it prints after the command's name.
func ExitCode(command string, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", command, err)
		return 1
	}
}

// ErrUsage: the command line was wrong and the flag package already said how.
var ErrUsage = errors.New("usage")

// Flags is a flag set whose flags fall back to environment variables.
type Flags struct {
	*flag.FlagSet
}

// NewFlags makes the flags of one command; usage is how it is called ("ixnstore serve
// [flags]") and synopsis what it does.
func NewFlags(usage, synopsis string, stderr io.Writer) *Flags {
	fs := flag.NewFlagSet(usage, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &Flags{FlagSet: fs}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\n%s\n\nFlags:\n", usage, synopsis)
		fs.PrintDefaults()
	}
	return f
}

// EnvString is a string flag whose default is envVar's value when it is set.
func (f *Flags) EnvString(p *string, name, envVar, def, help string) {
	f.StringVar(p, name, envOr(envVar, def), help+" ($"+envVar+")")
}

// EnvInt is an int flag whose default is envVar's value when it is a number.
func (f *Flags) EnvInt(p *int, name, envVar string, def int, help string) {
	d := def
	if v, err := strconv.Atoi(os.Getenv(envVar)); err == nil {
		d = v
	}
	f.IntVar(p, name, d, help+" ($"+envVar+")")
}

// EnvBool is a bool flag whose default is envVar's value when it is a boolean.
func (f *Flags) EnvBool(p *bool, name, envVar string, def bool, help string) {
	d := def
	if v, err := strconv.ParseBool(os.Getenv(envVar)); err == nil {
		d = v
	}
	f.BoolVar(p, name, d, help+" ($"+envVar+")")
}

// EnvDuration is a duration flag whose default is envVar's value when it is a duration.
func (f *Flags) EnvDuration(p *time.Duration, name, envVar string, def time.Duration, help string) {
	d := def
	if v, err := time.ParseDuration(os.Getenv(envVar)); err == nil {
		d = v
	}
	f.DurationVar(p, name, d, help+" ($"+envVar+")")
}

// ParseArgs parses args; a wrong command line is ErrUsage once the flag package has said why.
func (f *Flags) ParseArgs(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	return nil
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// NewLogger makes the process logger: text or JSON on stderr at the given level.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
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
