package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/archive"
	"github.com/ixnstore/ixnstore/migrations"
	"github.com/ixnstore/ixnstore/upkeep"
)

const archiveUsage = `Usage: ixnstore archive list|run|restore [flags]

Moves the sessions that ended long ago, with their interactions, parties, user data,
resources, origins, finished requests and checkpoints, out of PostgreSQL into files: one
directory per UTC day (day=YYYY-MM-DD) of gzip-compressed JSON Lines, a file per table, and a
manifest.json with the columns, row counts and checksums. DuckDB reads them as they are
(docs/operations.md, "The archive"). Active sessions, and ended ones that still hold a live
interaction or a pending request, are never archived. Reports cover only what is still in
the database.

  ixnstore archive list [--archive-dir DIR] [-o json]
      the archived days: sessions, interactions, rows, bytes; needs no database
  ixnstore archive run [--before DAY | --day DAY] [--archive-after DURATION]
      archives now: every day before DAY, or the one day DAY (even a restored one), or every
      day entirely older than --archive-after
  ixnstore archive restore DAY
      puts DAY's sessions back (those already in the database are left as they are; running
      it again finishes a restore that stopped); the day stays in the database until
      'ixnstore archive run --day DAY'

'ixnstore serve --archive-after 2160h --archive-dir DIR' archives every few minutes. Run
'ixnstore archive <action> --help' for the flags.
`

func archiveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runAction("archive", archiveUsage, args, stderr,
		action{"list", func(args []string) error { return archiveList(args, stdout, stderr) }},
		action{"run", func(args []string) error { return archiveRun(ctx, args, stdout, stderr) }},
		action{"restore", func(args []string) error { return archiveRestore(ctx, args, stdout, stderr) }},
	)
}

// archiveEvery is how often serve's archive loop looks for a day to archive: days come once a
// day, and a look that finds none is one read of an index.
const archiveEvery = 5 * time.Minute

// minArchiveAfter keeps the archive away from what just ended: --archive-after 1m (a month?
// no: a minute) would otherwise empty the database of yesterday.
const minArchiveAfter = 24 * time.Hour

// archiveFlags are serve's archive settings.
type archiveFlags struct {
	after time.Duration
	dir   string
}

func (a *archiveFlags) register(f *Flags) {
	f.EnvDuration(&a.after, "archive-after", "IXNSTORE_ARCHIVE_AFTER", 0,
		"archive the sessions that ended this long ago (whole UTC days; 2160h is 90 days) to --archive-dir and remove them from the database; 0, the default, keeps them")
	f.EnvString(&a.dir, "archive-dir", "IXNSTORE_ARCHIVE_DIR", "",
		"the directory of the archive (it must exist; the same for every instance)")
}

func (a *archiveFlags) validate() error {
	switch {
	case a.after < 0:
		return errors.New("--archive-after must be 0 (keep ended sessions) or more")
	case a.after == 0:
		return nil
	case a.after < minArchiveAfter:
		return fmt.Errorf("--archive-after %s is less than %s: the archive takes whole days long ended (90 days is 2160h)", a.after, minArchiveAfter)
	}
	if err := archive.CheckDir(a.dir); err != nil {
		return fmt.Errorf("--archive-after is set: %w", err)
	}
	return nil
}

// loop is serve's archive loop, nil when the archive is off.
func (a *archiveFlags) loop(pool *pgxpool.Pool, logger *slog.Logger) (*upkeep.Config, error) {
	if a.after == 0 {
		return nil, nil
	}
	arch, err := archive.New(pool, archive.Config{Dir: a.dir, WrittenBy: Version(), Logger: logger})
	if err != nil {
		return nil, err
	}
	cfg := upkeep.Archive(arch, a.after, archiveEvery, logger)
	return &cfg, nil
}

// archiveCLIFlags are what every archive action has.
type archiveCLIFlags struct {
	*Flags
	db                  DatabaseFlags
	dir                 string
	logLevel, logFormat string
	batch               int
}

func newArchiveFlags(usage, synopsis string, stderr io.Writer, database bool) *archiveCLIFlags {
	f := &archiveCLIFlags{Flags: NewFlags(usage, synopsis, stderr), db: DatabaseFlags{borrow: true}}
	f.EnvString(&f.dir, "archive-dir", "IXNSTORE_ARCHIVE_DIR", "", "the directory of the archive")
	if database {
		f.db.Register(f.Flags)
		f.EnvString(&f.logLevel, "log-level", "IXNSTORE_LOG_LEVEL", "warn", "debug, info, warn or error")
		f.EnvString(&f.logFormat, "log-format", "IXNSTORE_LOG_FORMAT", "text", "text or json")
		f.IntVar(&f.batch, "batch", archive.DefaultBatch, "sessions per statement (read, removal, restore)")
	}
	return f
}

// parse reads flags and positional arguments in any order and checks their number.
func (f *archiveCLIFlags) parse(args []string, want int) ([]string, error) {
	pos, err := f.ParsePositional(args)
	if err != nil {
		return nil, err
	}
	if len(pos) != want {
		f.Usage()
		return nil, ErrUsage
	}
	return pos, nil
}

// open checks the directory, opens the database, brings its schema up to date (the archive's
// functions may be newer than the last serve) and makes the archiver.
func (f *archiveCLIFlags) open(ctx context.Context, stderr io.Writer) (*archive.Archiver, func(), error) {
	if err := archive.CheckDir(f.dir); err != nil {
		return nil, nil, err
	}
	if f.batch < 1 {
		return nil, nil, errors.New("--batch must be 1 or more")
	}
	logger, err := NewLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return nil, nil, err
	}
	pool, closeDB, err := f.db.Open(ctx, logger)
	if err != nil {
		return nil, nil, err
	}
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		closeDB()
		return nil, nil, err
	}
	a, err := archive.New(pool, archive.Config{Dir: f.dir, Batch: f.batch, WrittenBy: Version(), Logger: logger})
	if err != nil {
		closeDB()
		return nil, nil, err
	}
	return a, closeDB, nil
}

func archiveList(args []string, stdout, stderr io.Writer) error {
	f := newArchiveFlags("ixnstore archive list [--archive-dir DIR] [-o json]",
		"Lists the archived days from their manifests (no database needed).", stderr, false)
	var output string
	f.StringVar(&output, "o", "text", "text (aligned, for people) or json (for scripts)")
	if _, err := f.parse(args, 0); err != nil {
		return err
	}
	if output != "text" && output != "json" {
		return fmt.Errorf("-o must be text or json, not %q", output)
	}
	days, err := archive.List(f.dir)
	if err != nil {
		return err
	}
	if output == "json" {
		if days == nil {
			days = []archive.DayInfo{}
		}
		return writeJSON(stdout, days)
	}
	if len(days) == 0 {
		fmt.Fprintf(stdout, "no day archived in %s\n", f.dir)
		return nil
	}
	w := table(stdout)
	fmt.Fprintln(w, "DAY\tSESSIONS\tINTERACTIONS\tROWS\tBYTES\tWRITTEN\tRESTORED")
	for _, d := range days {
		restored := "-"
		if d.Restored != nil {
			restored = when(*d.Restored)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\t%s\n", d.Day, d.Sessions, d.Interactions, d.Rows, d.Bytes, when(d.WrittenAt), restored)
	}
	return w.Flush()
}

func archiveRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newArchiveFlags("ixnstore archive run [--before DAY | --day DAY | --archive-after DURATION] [flags]",
		"Archives now: writes each day's sessions to the archive, syncs the files, then removes the sessions from the database in short transactions.", stderr, true)
	var (
		before, day string
		after       time.Duration
	)
	f.StringVar(&before, "before", "", "archive every day before this one (YYYY-MM-DD)")
	f.StringVar(&day, "day", "", "archive this one day (YYYY-MM-DD), even one that was restored")
	f.EnvDuration(&after, "archive-after", "IXNSTORE_ARCHIVE_AFTER", 0,
		"without --before or --day: archive every day entirely older than this (2160h is 90 days)")
	if _, err := f.parse(args, 0); err != nil {
		return err
	}
	var (
		until, one archive.Day
		err        error
	)
	switch {
	case before != "" && day != "":
		return errors.New("give --before or --day, not both")
	case day != "":
		if one, err = archive.ParseDay(day); err != nil {
			return fmt.Errorf("--day: %w", err)
		}
	case before != "":
		if until, err = archive.ParseDay(before); err != nil {
			return fmt.Errorf("--before: %w", err)
		}
	case after >= minArchiveAfter:
		until = archive.DayOf(time.Now().Add(-after))
	case after > 0:
		return fmt.Errorf("--archive-after %s is less than %s (90 days is 2160h)", after, minArchiveAfter)
	default:
		return errors.New("say which days: --before DAY, --day DAY or --archive-after DURATION")
	}
	if !until.IsZero() && until.Start().After(time.Now()) {
		return fmt.Errorf("--before %s is in the future: only days that are over are archived", until)
	}
	a, closeDB, err := f.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	var days []archive.DayResult
	if !one.IsZero() {
		r, err := a.RunDay(ctx, one)
		if err != nil {
			return err
		}
		days = []archive.DayResult{r}
	} else if days, err = a.Run(ctx, until, 0); err != nil {
		return err
	}
	if len(days) == 0 {
		fmt.Fprintln(stdout, "nothing to archive")
		return nil
	}
	w := table(stdout)
	fmt.Fprintln(w, "DAY\tSESSIONS REMOVED\tINTERACTIONS REMOVED\tSESSIONS ARCHIVED\tLEFT IN DATABASE")
	for _, d := range days {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", d.Day, d.Removed, d.Interactions, d.Archived, d.Left)
	}
	return w.Flush()
}

func archiveRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newArchiveFlags("ixnstore archive restore DAY [flags]",
		"Puts an archived day's sessions back into the database, a batch of sessions per transaction. "+
			"Sessions already there are left as they are, so running it again finishes a restore that stopped.", stderr, true)
	pos, err := f.parse(args, 1)
	if err != nil {
		return err
	}
	d, err := archive.ParseDay(pos[0])
	if err != nil {
		return err
	}
	a, closeDB, err := f.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	r, err := a.Restore(ctx, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d sessions restored, %d already in the database; the archive loop leaves the day there until 'ixnstore archive run --day %s'\n",
		d, r.Restored, r.Present, d)
	return nil
}
