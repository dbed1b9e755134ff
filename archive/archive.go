// Package archive moves the sessions that ended long ago, with every row that belongs to them,
// out of PostgreSQL into files: a directory per day of compressed JSON Lines, one file per
// table, and a manifest that says what they hold (format.go). A day's files are written and
// synced to disk before any of its rows is removed, and a session's rows are removed (in
// short transactions of a batch of sessions, sql/functions/ixn_archive_remove.sql) only when
// they are, byte for byte, what the files hold of it: a crash at any point loses nothing, and
// the next run finishes the day without writing a session twice. A session that is active,
// or holds a live interaction or a pending request, is never written nor removed.
//
// One archiver works on a database at a time (an advisory lock): every instance may run the
// loop, and the archive directory is the same for all of them.
package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
)

// DefaultBatch is how many sessions one statement reads, removes or restores.
const DefaultBatch = 200

var (
	// ErrBusy: another archiver holds the lock.
	ErrBusy = errors.New("another ixnstore is archiving or restoring on this database; try again when it is done")
	// ErrNoDay: the archive has no such day.
	ErrNoDay = errors.New("the archive has no such day")
)

// Config is how an Archiver works.
type Config struct {
	// Dir is the archive's directory. It must exist: it is storage the operator chose, and a
	// mistyped path should fail, not archive to a new directory nobody backs up.
	Dir string
	// Batch is how many sessions one statement reads, removes or restores (DefaultBatch).
	Batch int
	// Page is how many session ids one statement lists (DefaultPage).
	Page int
	// WrittenBy is recorded in the manifests (the ixnstore version).
	WrittenBy string
	Logger    *slog.Logger
	// Written, when set, is called once a day's files and manifest are on disk and before any
	// of its rows is removed; an error stops the run there. Tests play a crash with it.
	Written func(Day) error
}

// Archiver archives and restores days.
type Archiver struct {
	pool *pgxpool.Pool
	q    *db.Queries
	cfg  Config
}

// New checks cfg and makes an Archiver on pool.
func New(pool *pgxpool.Pool, cfg Config) (*Archiver, error) {
	if err := CheckDir(cfg.Dir); err != nil {
		return nil, err
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Page <= 0 {
		cfg.Page = DefaultPage
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Archiver{pool: pool, q: db.New(pool), cfg: cfg}, nil
}

// CheckDir says what is wrong with dir as an archive directory.
func CheckDir(dir string) error {
	if dir == "" {
		return errors.New("no archive directory given (--archive-dir or $IXNSTORE_ARCHIVE_DIR)")
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("the archive directory %s does not exist: create it (on storage that is backed up, the same for every instance that archives)", dir)
	case err != nil:
		return fmt.Errorf("the archive directory: %w", err)
	case !st.IsDir():
		return fmt.Errorf("the archive directory %s is not a directory", dir)
	}
	return nil
}

// DayResult is what a run did to one day.
type DayResult struct {
	Day Day
	// Removed sessions (and their Interactions) left the database in this run.
	Removed, Interactions int64
	// Archived is how many sessions the day's archive holds after the run.
	Archived int64
	// Left is how many sessions of the archive are still in the database: changed, claimed or
	// restored after they were written, or locked past the statement's patience. The next run
	// writes them again.
	Left int64
}

// Run archives every day before before (a UTC midnight), oldest first, skipping the days a
// restore holds; it stops after maxDays days (0: no limit).
func (a *Archiver) Run(ctx context.Context, before Day, maxDays int) ([]DayResult, error) {
	var out []DayResult
	err := a.locked(ctx, func(ctx context.Context) error {
		from := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
		for maxDays == 0 || len(out) < maxDays {
			next, err := a.q.ArchiveNextEnded(ctx, db.ArchiveNextEndedParams{EndedFrom: from, EndedBefore: before.Start()})
			if err != nil {
				return database.Translate(err)
			}
			if len(next) == 0 || next[0] == nil {
				return nil
			}
			d := DayOf(*next[0])
			from = d.End()
			if held(a.cfg.Dir, d) {
				continue
			}
			r, err := a.day(ctx, d)
			if err != nil {
				return fmt.Errorf("archiving %s: %w", d, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// RunDay archives one day that is over, even one a restore holds (the hold goes).
func (a *Archiver) RunDay(ctx context.Context, d Day) (DayResult, error) {
	if d.End().After(time.Now()) {
		return DayResult{}, fmt.Errorf("%s is not over yet: only whole days are archived", d)
	}
	var r DayResult
	err := a.locked(ctx, func(ctx context.Context) error {
		if err := os.Remove(filepath.Join(dayDir(a.cfg.Dir, d), holdName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		var err error
		r, err = a.day(ctx, d)
		return err
	})
	return r, err
}

// writesPerDay bounds the generations one run writes of a day: a session that changes under
// every write is left for the next run rather than chased.
const writesPerDay = 3

// day archives day d. Each round finishes what the day's files started (their sessions still
// in the database are removed against them), then, when the database has sessions of the day
// that the files lack, or the files hold sessions still in the database (changed or reopened
// since they were written), writes the day again and goes round once more: at the end of a
// run the archive and the database do not both hold a session.
func (a *Archiver) day(ctx context.Context, d Day) (DayResult, error) {
	dir := dayDir(a.cfg.Dir, d)
	res := DayResult{Day: d}
	for writes := 0; ; writes++ {
		m, err := readManifest(dir)
		if err != nil {
			return res, err
		}
		if err := removeLeftovers(dir, m); err != nil {
			return res, err
		}
		var present map[string]bool
		if m != nil {
			rm, err := a.remove(ctx, dir, m)
			if err != nil {
				return res, err
			}
			res.Removed += rm.removed
			res.Interactions += rm.interactions
			res.Archived, present = m.Sessions, rm.present
		}
		res.Left = int64(len(present))
		ids, err := a.sessionIDs(ctx, d)
		if err != nil {
			return res, err
		}
		if len(ids) == 0 && len(present) == 0 {
			break
		}
		if writes == writesPerDay {
			a.cfg.Logger.Warn("sessions of the day changed under every write; left for the next run",
				"day", d.String(), "left", len(present), "not_written", len(ids))
			break
		}
		if _, err := a.write(ctx, d, m, present, ids); err != nil {
			return res, err
		}
		if a.cfg.Written != nil {
			if err := a.cfg.Written(d); err != nil {
				return res, err
			}
		}
	}
	if res.Removed > 0 {
		a.cfg.Logger.Info("archived a day", "day", d.String(), "sessions_removed", res.Removed,
			"interactions_removed", res.Interactions, "sessions_archived", res.Archived, "left", res.Left)
	}
	return res, nil
}

// DefaultPage is how many session ids one statement lists.
const DefaultPage = 10000

// sessionIDs are the ids of the sessions of day d to archive, sorted (bytes, as the C
// collation the ids have): the order the files are written in.
func (a *Archiver) sessionIDs(ctx context.Context, d Day) ([]string, error) {
	var ids []string
	after := db.ArchiveSessionIDsParams{EndedFrom: d.Start(), EndedBefore: d.End(), AfterEndedAt: d.Start().Add(-time.Microsecond), MaxRows: int32(a.cfg.Page)}
	for {
		rows, err := a.q.ArchiveSessionIDs(ctx, after)
		if err != nil {
			return nil, database.Translate(err)
		}
		for _, r := range rows {
			ids = append(ids, r.SessionID)
		}
		if len(rows) < a.cfg.Page {
			break
		}
		last := rows[len(rows)-1]
		after.AfterEndedAt, after.AfterID = last.EndedAt, last.SessionID
	}
	slices.Sort(ids)
	return ids, nil
}

// write writes the next generation of day d: the sessions of the old generation that are no
// longer in the database (present: those that are), and the sessions ids, read now, merged in
// id order. It returns the new manifest, on disk, with the old generation's files removed.
func (a *Archiver) write(ctx context.Context, d Day, old *Manifest, present map[string]bool, ids []string) (*Manifest, error) {
	dir := dayDir(a.cfg.Dir, d)
	columns, err := a.columns(ctx)
	if err != nil {
		return nil, err
	}
	generation := 1
	var kept *dayReader
	if old != nil {
		generation = old.Generation + 1
		if kept, err = openDay(dir, old); err != nil {
			return nil, err
		}
		defer kept.close()
	}
	w, err := newDayWriter(dir, generation)
	if err != nil {
		return nil, err
	}
	fresh := &dbReader{a: a, ids: ids}
	merged := mergeSessions(kept, present, fresh)
	for {
		s, err := merged(ctx)
		if err != nil {
			w.abandon()
			return nil, err
		}
		if s == nil {
			break
		}
		if err := w.add(s); err != nil {
			w.abandon()
			return nil, err
		}
	}
	m := &Manifest{Format: Format, Version: FormatVersion, Day: d.String(), WrittenAt: time.Now().UTC(),
		WrittenBy: a.cfg.WrittenBy, EndedFrom: d.Start(), EndedBefore: d.End()}
	if err := w.finish(m, columns); err != nil {
		return nil, err
	}
	if err := writeManifest(dir, m); err != nil {
		return nil, err
	}
	return m, removeLeftovers(dir, m)
}

// mergeSessions reads, in id order, the sessions of kept that are not present in the database
// and every session of fresh (read from the database now, which has the last word).
func mergeSessions(kept *dayReader, present map[string]bool, fresh *dbReader) func(context.Context) (*session, error) {
	var k, f *session
	var kDone, fDone bool
	return func(ctx context.Context) (*session, error) {
		var err error
		for k == nil && !kDone && kept != nil {
			if k, err = kept.next(); err != nil {
				return nil, err
			}
			kDone = k == nil
			if k != nil && present[k.id] {
				k = nil
			}
		}
		if f == nil && !fDone {
			if f, err = fresh.next(ctx); err != nil {
				return nil, err
			}
			fDone = f == nil
		}
		var s *session
		switch {
		case k == nil:
			s, f = f, nil
		case f == nil || k.id < f.id:
			s, k = k, nil
		case k.id == f.id: // the database's copy wins
			s, k, f = f, nil, nil
		default:
			s, f = f, nil
		}
		return s, nil
	}
}

// dbReader reads the rows of sessions from the database, a batch at a time, in id order.
type dbReader struct {
	a       *Archiver
	ids     []string
	pending []*session
}

func (r *dbReader) next(ctx context.Context) (*session, error) {
	if len(r.pending) == 0 && len(r.ids) > 0 {
		n := min(r.a.cfg.Batch, len(r.ids))
		batch := r.ids[:n]
		r.ids = r.ids[n:]
		rows, err := r.a.q.ArchiveRows(ctx, batch)
		if err != nil {
			return nil, database.Translate(err)
		}
		for _, row := range rows {
			if len(r.pending) == 0 || r.pending[len(r.pending)-1].id != row.SessionID {
				r.pending = append(r.pending, &session{id: row.SessionID})
			}
			if row.Tab < 1 || int(row.Tab) > len(Tables) {
				return nil, fmt.Errorf("archive: a row of table %d", row.Tab)
			}
			s := r.pending[len(r.pending)-1]
			s.lines[row.Tab-1] = append(s.lines[row.Tab-1], row.Line)
		}
	}
	if len(r.pending) == 0 {
		return nil, nil
	}
	s := r.pending[0]
	r.pending = r.pending[1:]
	return s, nil
}

type removal struct {
	removed, interactions int64
	// present are the sessions of the files still in the database after the removal.
	present map[string]bool
}

// remove removes, a batch at a time, the sessions of the day's files whose rows in the
// database are what the files hold of them.
func (a *Archiver) remove(ctx context.Context, dir string, m *Manifest) (removal, error) {
	out := removal{present: map[string]bool{}}
	r, err := openDay(dir, m)
	if err != nil {
		return out, err
	}
	defer r.close()
	var ids []string
	var digests [][]byte
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		rows, err := a.q.ArchiveRemove(ctx, db.ArchiveRemoveParams{SessionIds: ids, Digests: digests,
			EndedFrom: m.EndedFrom, EndedBefore: m.EndedBefore})
		if err != nil {
			return database.Translate(err)
		}
		gone := map[string]bool{}
		for _, row := range rows {
			out.removed++
			out.interactions += row.Interactions
			gone[row.SessionID] = true
		}
		if len(rows) < len(ids) {
			rest := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return gone[id] })
			there, err := a.q.ArchiveSessionsPresent(ctx, rest)
			if err != nil {
				return database.Translate(err)
			}
			for _, id := range there {
				out.present[id] = true
			}
		}
		ids, digests = ids[:0], digests[:0]
		return nil
	}
	for {
		s, err := r.next()
		if err != nil {
			return out, err
		}
		if s == nil {
			break
		}
		ids = append(ids, s.id)
		digests = append(digests, s.digest())
		if len(ids) == a.cfg.Batch {
			if err := flush(); err != nil {
				return out, err
			}
		}
	}
	return out, flush()
}

// columns are the archived tables' columns as the database has them now.
func (a *Archiver) columns(ctx context.Context) (map[string][]Column, error) {
	rows, err := a.q.ArchiveColumns(ctx, Tables)
	if err != nil {
		return nil, database.Translate(err)
	}
	out := map[string][]Column{}
	for _, r := range rows {
		out[r.TableName] = append(out[r.TableName], Column{Name: r.ColumnName, Type: r.ColumnType})
	}
	return out, nil
}

// removeLeftovers removes the files of the day that its manifest does not name: those of the
// generation before, and those of a run that stopped while writing.
func removeLeftovers(dir string, m *Manifest) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	keep := map[string]bool{manifestName: true, holdName: true}
	if m != nil {
		for _, t := range m.Tables {
			keep[t.File] = true
		}
	}
	for _, e := range entries {
		if keep[e.Name()] || e.IsDir() {
			continue
		}
		if strings.HasSuffix(e.Name(), ".jsonl.gz") || strings.HasSuffix(e.Name(), ".tmp") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// locked runs fn holding the archive's advisory lock on one connection of the pool.
func (a *Archiver) locked(ctx context.Context, fn func(context.Context) error) error {
	conn, err := a.pool.Acquire(ctx)
	if err != nil {
		return database.Translate(err)
	}
	defer conn.Release()
	q := db.New(conn)
	ok, err := q.ArchiveLock(ctx)
	if err != nil {
		return database.Translate(err)
	}
	if !ok {
		return ErrBusy
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := q.ArchiveUnlock(unlockCtx); err != nil {
			// A connection that may still hold the lock must not go back to the pool.
			_ = conn.Conn().Close(unlockCtx)
		}
	}()
	return fn(ctx)
}
