package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ixnstore/ixnstore/migrations"
)

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := NewFlags("ixnstore migrate [flags] up|down|status",
		"up applies every pending migration and then the changed SQL code of sql/ (with --citus, then "+
			"distributes the schema on the Citus coordinator, once), down rolls back the latest "+
			"migration, status lists the migrations and the code files.", stderr)
	var (
		db                  DatabaseFlags
		logLevel, logFormat string
		citus               bool
	)
	db.Register(f)
	f.EnvString(&logLevel, "log-level", "IXNSTORE_LOG_LEVEL", "info", "debug, info, warn or error")
	f.EnvString(&logFormat, "log-format", "IXNSTORE_LOG_FORMAT", "text", "text or json")
	f.EnvBool(&citus, "citus", "IXNSTORE_CITUS", false,
		"with up: distribute the schema by session on the Citus coordinator of --database-url (sql/citus/layout.sql, docs/scale-out.md)")
	// The action may come before or after the flags.
	var action string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	if action == "" && f.NArg() == 1 {
		action = f.Arg(0)
	} else if f.NArg() != 0 || action == "" {
		f.Usage()
		return ErrUsage
	}
	if action != "up" && action != "down" && action != "status" {
		fmt.Fprintf(stderr, "ixnstore migrate: unknown action %q (want up, down or status)\n", action)
		return ErrUsage
	}
	logger, err := NewLogger(stderr, logLevel, logFormat)
	if err != nil {
		return err
	}
	pool, closeDB, err := db.Open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	m, err := migrations.NewMigrator(pool, logger)
	if err != nil {
		return err
	}
	defer m.Close()
	switch action {
	case "up":
		n, err := m.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
		if citus {
			distributed, err := migrations.ApplyCitusLayout(ctx, pool, logger)
			if err != nil {
				return err
			}
			if distributed {
				fmt.Fprintln(stdout, "distributed the schema on citus")
			} else {
				fmt.Fprintln(stdout, "the schema was already distributed on citus")
			}
		}
	case "down":
		return m.Down(ctx)
	case "status":
		status, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range status {
			applied := "pending"
			if !s.AppliedAt.IsZero() {
				applied = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(stdout, "%-6d %-44s %s\n", s.Source.Version, s.Source.Path, applied)
		}
		code, err := m.CodeStatus(ctx)
		if err != nil {
			return err
		}
		for _, c := range code {
			state := "pending"
			switch {
			case c.Current:
				state = "current, applied " + c.AppliedAt.Format("2006-01-02 15:04:05")
			case !c.AppliedAt.IsZero():
				state = "changed (applied " + c.AppliedAt.Format("2006-01-02 15:04:05") + ")"
			}
			fmt.Fprintf(stdout, "%-6s %-44s %s\n", "code", c.Path, state)
		}
	}
	return nil
}
