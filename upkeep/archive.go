package upkeep

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ixnstore/ixnstore/archive"
)

// archiveDaysPerCall is how many days one call of the archive loop's work archives at most:
// a pass calls it again while days keep coming, so a backlog (the first run on a database of
// a year) is worked off a few days at a time, each day in batches of short transactions.
const archiveDaysPerCall = 7

// Archive moves the sessions that ended more than after ago (whole UTC days: a day goes once
// it is entirely older than after) to the archive, with everything that belongs to them.
// When another instance holds the archive's lock the pass does nothing: that one is on it.
func Archive(a *archive.Archiver, after, every time.Duration, logger *slog.Logger) Config {
	return Config{Name: "archive", Interval: every, Batch: archiveDaysPerCall, Logger: logger,
		Work: func(ctx context.Context, limit int) (int, error) {
			days, err := a.Run(ctx, archive.DayOf(time.Now().Add(-after)), limit)
			if errors.Is(err, archive.ErrBusy) {
				return 0, nil
			}
			// Days that removed nothing (all left for the next run) do not count, so that a
			// pass ends rather than going over them again.
			n := 0
			for _, d := range days {
				if d.Removed > 0 {
					n++
				}
			}
			return n, err
		}}
}
