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
	"runtime/debug"
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
  ixnstore archive list|run|restore   archive the sessions that ended long ago, list and restore days
  ixnstore rollups rebuild            compute the aggregates report's rollups again from the rows
  ixnstore help    [command]          show help for a command
  ixnstore version                    show the module version and VCS revision (also --version)

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
	case "archive":
		err = archiveCommand(ctx, rest, stdout, stderr)
	case "rollups":
		err = rollups(ctx, rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, Version())
		return 0
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

// Version is the module's version and the VCS revision it was built from, as the Go
// toolchain recorded them (a build outside a module or VCS says "(devel)" or "unknown").
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "ixnstore (no build information)"
	}
	setting := map[string]string{"vcs.revision": "unknown", "vcs.time": "", "vcs.modified": ""}
	for _, s := range info.Settings {
		setting[s.Key] = s.Value
	}
	v := fmt.Sprintf("ixnstore %s revision %s", info.Main.Version, setting["vcs.revision"])
	if setting["vcs.modified"] == "true" {
		v += " (modified)"
	}
	if setting["vcs.time"] != "" {
		v += " " + setting["vcs.time"]
	}
	return v + " " + info.GoVersion
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

// Flags is a flag set whose flags fall back to environment variables. An environment value
// that does not parse is kept, not dropped: ParseArgs refuses to start with it, naming the
// variable and what it expected, rather than running on the default the operator did not ask
// for.
type Flags struct {
	*flag.FlagSet
	envErrs map[string]error // by flag name
}

// NewFlags makes the flags of one command; usage is how it is called ("ixnstore serve
// [flags]") and synopsis what it does.
func NewFlags(usage, synopsis string, stderr io.Writer) *Flags {
	fs := flag.NewFlagSet(usage, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &Flags{FlagSet: fs}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\n%s\n\nFlags (each also set by the environment variable named in its help):\n", usage, synopsis)
		fs.PrintDefaults()
	}
	return f
}

// EnvString is a string flag whose default is envVar's value when it is set.
func (f *Flags) EnvString(p *string, name, envVar, def, help string) {
	f.StringVar(p, name, envOr(envVar, def), help+" ($"+envVar+")")
}

// EnvInt is an int flag whose default is envVar's value; a value that is not a whole number
// stops ParseArgs.
func (f *Flags) EnvInt(p *int, name, envVar string, def int, help string) {
	f.IntVar(p, name, envValue(f, name, envVar, def, "a whole number", strconv.Atoi), help+" ($"+envVar+")")
}

// EnvBool is a bool flag whose default is envVar's value; a value that is not a boolean stops
// ParseArgs.
func (f *Flags) EnvBool(p *bool, name, envVar string, def bool, help string) {
	f.BoolVar(p, name, envValue(f, name, envVar, def, "true or false", strconv.ParseBool), help+" ($"+envVar+")")
}

// EnvDuration is a duration flag whose default is envVar's value; a value that is not a
// duration with its unit stops ParseArgs.
func (f *Flags) EnvDuration(p *time.Duration, name, envVar string, def time.Duration, help string) {
	f.DurationVar(p, name, envValue(f, name, envVar, def, "a duration with its unit, such as 500ms, 30s or 2m", time.ParseDuration), help+" ($"+envVar+")")
}

// envValue is envVar's value parsed, def when it is unset; one that does not parse is noted
// for ParseArgs, which refuses to start with it.
func envValue[T any](f *Flags, name, envVar string, def T, expected string, parse func(string) (T, error)) T {
	raw, ok := os.LookupEnv(envVar)
	if !ok {
		return def
	}
	v, err := parse(strings.TrimSpace(raw))
	if err != nil {
		if f.envErrs == nil {
			f.envErrs = map[string]error{}
		}
		f.envErrs[name] = fmt.Errorf("$%s is %q: expected %s", envVar, raw, expected)
		return def
	}
	return v
}

// ParseArgs parses args; a wrong command line is ErrUsage once the flag package has said why.
// An environment value that did not parse is an error naming the variable, unless the command
// line sets its flag (the flag wins, and was parsed on its own).
func (f *Flags) ParseArgs(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var errs []error
	f.VisitAll(func(fl *flag.Flag) { // in the order of the names: the same message every time
		if err, bad := f.envErrs[fl.Name]; bad && !set[fl.Name] {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// ParsePositional is ParseArgs for commands that take positional arguments: flags and
// arguments may come in any order, and the arguments are returned in theirs.
func (f *Flags) ParsePositional(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.ParseArgs(args); err != nil {
			return nil, err
		}
		if f.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, f.Arg(0))
		args = f.Args()[1:]
	}
}

// action is one action of a command that has several (ixnstore token create, ...).
type action struct {
	name string
	run  func(args []string) error
}

// runAction runs the action args[0] names with the rest of args; with no action, or a flag
// first, it prints the command's usage (asked for with -h, it is no error).
func runAction(command, usage string, args []string, stderr io.Writer, actions ...action) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return nil
		}
		return ErrUsage
	}
	names := make([]string, len(actions))
	for i, a := range actions {
		if a.name == args[0] {
			return a.run(args[1:])
		}
		names[i] = a.name
	}
	want := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	fmt.Fprintf(stderr, "ixnstore %s: unknown action %q (want %s)\n\n%s", command, args[0], want, usage)
	return ErrUsage
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
