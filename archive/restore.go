package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ixnstore/ixnstore/internal/database"
)

// DayInfo is an archived day as List shows it.
type DayInfo struct {
	Day          string    `json:"day"`
	Sessions     int64     `json:"sessions"`
	Interactions int64     `json:"interactions"`
	Rows         int64     `json:"rows"`
	Bytes        int64     `json:"bytes"`
	Generation   int       `json:"generation"`
	WrittenAt    time.Time `json:"written_at"`
	// Restored is set while the day is restored: the archive loop leaves it in the database
	// until 'ixnstore archive run --day' archives it again.
	Restored *time.Time `json:"restored,omitempty"`
}

// List reads the manifests of every archived day in dir, oldest first. It needs no database.
func List(dir string) ([]DayInfo, error) {
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []DayInfo
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), dayPrefix)
		if !e.IsDir() || !ok {
			continue
		}
		d, err := ParseDay(name)
		if err != nil {
			continue // not one of ours
		}
		m, err := readManifest(dayDir(dir, d))
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue // a first write that stopped before its manifest: nothing was removed
		}
		info := DayInfo{Day: m.Day, Sessions: m.Sessions, Interactions: m.Interactions, Generation: m.Generation,
			WrittenAt: m.WrittenAt}
		for _, t := range m.Tables {
			info.Rows += t.Rows
			info.Bytes += t.Bytes
		}
		if h, err := readHold(dir, d); err == nil && h != nil {
			info.Restored = &h.RestoredAt
		}
		out = append(out, info)
	}
	return out, nil
}

type hold struct {
	RestoredAt time.Time `json:"restored_at"`
	Note       string    `json:"note"`
}

func readHold(dir string, d Day) (*hold, error) {
	b, err := os.ReadFile(filepath.Join(dayDir(dir, d), holdName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h hold
	return &h, json.Unmarshal(b, &h)
}

// held says whether a restore holds day d in the database: a file in its directory, so that
// whoever looks at the archive sees it too.
func held(dir string, d Day) bool {
	_, err := os.Stat(filepath.Join(dayDir(dir, d), holdName))
	return err == nil
}

// RestoreResult is what a restore did.
type RestoreResult struct {
	// Restored sessions were put back; Present ones were in the database already and were
	// left as they are.
	Restored, Present int64
}

// Restore puts day d's sessions back into the database, a batch of sessions per transaction.
// A session already in the database is left as it is, so a restore that stopped is finished
// by running it again, and restoring twice restores once. The day is held: the archive loop
// leaves it in the database until 'ixnstore archive run --day' archives it again.
func (a *Archiver) Restore(ctx context.Context, d Day) (RestoreResult, error) {
	var res RestoreResult
	dir := dayDir(a.cfg.Dir, d)
	m, err := readManifest(dir)
	if err != nil {
		return res, err
	}
	if m == nil {
		return res, fmt.Errorf("%s: %w (see 'ixnstore archive list')", d, ErrNoDay)
	}
	if err := a.sameColumns(ctx, m); err != nil {
		return res, err
	}
	err = a.locked(ctx, func(ctx context.Context) error {
		b, err := json.Marshal(hold{RestoredAt: time.Now().UTC(),
			Note: "restored: the archive loop leaves this day in the database until 'ixnstore archive run --day " + d.String() + "'"})
		if err != nil {
			return err
		}
		if err := writeFileAtomically(dir, holdName, b); err != nil {
			return err
		}
		r, err := openDay(dir, m)
		if err != nil {
			return err
		}
		defer r.close()
		var batch []*session
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			restored, err := a.q.ArchiveRestore(ctx, restoreRows(batch))
			if err != nil {
				return database.Translate(err)
			}
			res.Restored += int64(len(restored))
			res.Present += int64(len(batch) - len(restored))
			batch = batch[:0]
			return nil
		}
		for {
			s, err := r.next()
			if err != nil {
				return err
			}
			if s == nil {
				return flush()
			}
			if batch = append(batch, s); len(batch) == a.cfg.Batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	})
	return res, err
}

// restoreRows is the argument of ixn_archive_restore: by table, the array of the rows' lines
// (each line is a JSON object, so they are joined as they are).
func restoreRows(batch []*session) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for t, name := range Tables {
		if t > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + name + `":[`)
		first := true
		for _, s := range batch {
			for _, l := range s.lines[t] {
				if !first {
					b.WriteByte(',')
				}
				first = false
				b.WriteString(l)
			}
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// sameColumns refuses to restore files whose tables' columns are not the database's: a
// migration changed a table since the day was written, and its rows need converting first.
func (a *Archiver) sameColumns(ctx context.Context, m *Manifest) error {
	now, err := a.columns(ctx)
	if err != nil {
		return err
	}
	for _, t := range m.Tables {
		if !slices.Equal(t.Columns, now[t.Name]) {
			return fmt.Errorf("the archive of %s was written when %s had the columns %s; it has %s now: "+
				"restore it with the ixnstore that wrote it (%s) on a database of that schema, or convert the files",
				m.Day, t.Name, columnList(t.Columns), columnList(now[t.Name]), m.WrittenBy)
		}
	}
	return nil
}

func columnList(cs []Column) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + " " + c.Type
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
