package archive

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The archive's files. A day is a directory day=YYYY-MM-DD (the form DuckDB and Spark read as
// a column of the day) holding manifest.json and one gzip-compressed JSON Lines file per table,
// TABLE-gN.jsonl.gz, where N is the manifest's generation: a day written again (a session that
// was still there after a crash, say) is written to new files, then the manifest is replaced
// in one rename, and only then are the files of the generation before removed. The manifest
// names the files that are the day; any other file is a leftover of a run that stopped.

// Format and FormatVersion name what a manifest describes; a reader refuses a version it
// does not know.
const (
	Format        = "ixnstore-archive"
	FormatVersion = 1
	manifestName  = "manifest.json"
	holdName      = "restored.json"
	dayPrefix     = "day="
)

// Tables are the archived tables, in the order a session's rows are put back; ixn_archive_rows
// numbers them from 1 in this order.
var Tables = []string{"sessions", "interactions", "parties", "user_data", "interaction_resources",
	"interaction_origins", "action_requests", "session_checkpoints", "session_checkpoint_history"}

// Manifest describes one archived day.
type Manifest struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Day        string    `json:"day"`
	Generation int       `json:"generation"`
	WrittenAt  time.Time `json:"written_at"`
	WrittenBy  string    `json:"written_by"`
	// The sessions are those that ended within [EndedFrom, EndedBefore).
	EndedFrom    time.Time `json:"ended_from"`
	EndedBefore  time.Time `json:"ended_before"`
	Sessions     int64     `json:"sessions"`
	Interactions int64     `json:"interactions"`
	Tables       []Table   `json:"tables"`
}

// Table is one table's file of a day.
type Table struct {
	Name string `json:"name"`
	File string `json:"file"`
	Rows int64  `json:"rows"`
	// Bytes and SHA256 are of the compressed file, as `sha256sum` computes it.
	Bytes   int64    `json:"bytes"`
	SHA256  string   `json:"sha256"`
	Columns []Column `json:"columns"`
}

// Column is a column of a table as PostgreSQL names its type (format_type).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Day is a calendar day in UTC.
type Day struct{ t time.Time }

// ParseDay reads YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Day{}, fmt.Errorf("%q is not a day: want YYYY-MM-DD, such as 2026-09-01", s)
	}
	return Day{t}, nil
}

// DayOf is the UTC day t falls on.
func DayOf(t time.Time) Day {
	y, m, d := t.UTC().Date()
	return Day{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

func (d Day) String() string   { return d.t.Format(time.DateOnly) }
func (d Day) Start() time.Time { return d.t }
func (d Day) End() time.Time   { return d.t.AddDate(0, 0, 1) }
func (d Day) Next() Day        { return Day{d.End()} }
func (d Day) IsZero() bool     { return d.t.IsZero() }

func dayDir(root string, d Day) string { return filepath.Join(root, dayPrefix+d.String()) }

func tableFile(table string, generation int) string {
	return table + "-g" + strconv.Itoa(generation) + ".jsonl.gz"
}

// session is one archived session: its rows' lines by table, each as ixn_archive_rows wrote it.
type session struct {
	id    string
	lines [9][]string
}

// digest is what ixn_archive_remove compares: SHA-256 of every line, as "tab line", in table
// order and then in the order of the lines' bytes (the order they are written in), joined by
// newlines.
func (s *session) digest() []byte {
	h := sha256.New()
	first := true
	for t, lines := range s.lines {
		prefix := strconv.Itoa(t+1) + " "
		for _, l := range lines {
			if !first {
				_, _ = io.WriteString(h, "\n")
			}
			first = false
			_, _ = io.WriteString(h, prefix)
			_, _ = io.WriteString(h, l)
		}
	}
	return h.Sum(nil)
}

// sessionIDOf is the session_id of a line. Every archived table has session_id as its first
// column, and ids are ixn_id (no character JSON escapes), so the line starts with it; a line
// that does not is read as JSON.
func sessionIDOf(line string) (string, error) {
	const prefix = `{"session_id":"`
	if rest, ok := strings.CutPrefix(line, prefix); ok {
		if end := strings.IndexByte(rest, '"'); end > 0 && !strings.Contains(rest[:end], `\`) {
			return rest[:end], nil
		}
	}
	var row struct {
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal([]byte(line), &row); err != nil || row.SessionID == "" {
		return "", fmt.Errorf("a line without a session_id: %.80s", line)
	}
	return row.SessionID, nil
}

// fileWriter writes one table's file: lines into gzip into the file, hashed as written.
type fileWriter struct {
	f    *os.File
	buf  *bufio.Writer
	gz   *gzip.Writer
	sum  hash.Hash
	n    countWriter
	rows int64
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func createFile(path string) (*fileWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	w := &fileWriter{f: f, sum: sha256.New()}
	w.buf = bufio.NewWriterSize(io.MultiWriter(f, w.sum, &w.n), 256<<10)
	w.gz, _ = gzip.NewWriterLevel(w.buf, gzip.DefaultCompression)
	return w, nil
}

func (w *fileWriter) line(l string) error {
	w.rows++
	if _, err := io.WriteString(w.gz, l); err != nil {
		return err
	}
	_, err := w.gz.Write([]byte{'\n'})
	return err
}

// finish closes the stream and syncs the file to disk: after it returns, the file survives a
// crash of the machine.
func (w *fileWriter) finish() error {
	err := errors.Join(w.gz.Close(), w.buf.Flush())
	if err == nil {
		err = w.f.Sync()
	}
	return errors.Join(err, w.f.Close())
}

func (w *fileWriter) abandon() { _ = w.f.Close() }

// dayWriter writes a generation of a day: sessions in ascending id order.
type dayWriter struct {
	dir          string
	generation   int
	files        []*fileWriter
	sessions     int64
	interactions int64
	last         string
}

func newDayWriter(dir string, generation int) (*dayWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	w := &dayWriter{dir: dir, generation: generation}
	for _, t := range Tables {
		f, err := createFile(filepath.Join(dir, tableFile(t, generation)))
		if err != nil {
			w.abandon()
			return nil, err
		}
		w.files = append(w.files, f)
	}
	return w, nil
}

func (w *dayWriter) add(s *session) error {
	if s.id <= w.last && w.sessions > 0 {
		return fmt.Errorf("archive: session %q written after %q: out of order", s.id, w.last)
	}
	w.last = s.id
	w.sessions++
	w.interactions += int64(len(s.lines[1]))
	for t, lines := range s.lines {
		for _, l := range lines {
			if err := w.files[t].line(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish syncs every file and fills m's tables; the manifest itself is written by commit.
func (w *dayWriter) finish(m *Manifest, columns map[string][]Column) error {
	var errs []error
	for i, f := range w.files {
		if err := f.finish(); err != nil {
			errs = append(errs, err)
			continue
		}
		m.Tables = append(m.Tables, Table{Name: Tables[i], File: tableFile(Tables[i], w.generation), Rows: f.rows,
			Bytes: f.n.n, SHA256: hex.EncodeToString(f.sum.Sum(nil)), Columns: columns[Tables[i]]})
	}
	m.Sessions, m.Interactions, m.Generation = w.sessions, w.interactions, w.generation
	return errors.Join(errs...)
}

func (w *dayWriter) abandon() {
	for _, f := range w.files {
		f.abandon()
	}
}

// writeManifest replaces the day's manifest in one rename and syncs the directory, so that
// after it returns the day is the new generation, on disk.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomically(dir, manifestName, append(b, '\n'))
}

func writeFileAtomically(dir, name string, b []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// readManifest reads a day's manifest; (nil, nil) when the day has none.
func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: not a manifest: %w", filepath.Join(dir, manifestName), err)
	}
	if m.Format != Format || m.Version != FormatVersion {
		return nil, fmt.Errorf("%s: format %q version %d; this ixnstore reads %s version %d",
			filepath.Join(dir, manifestName), m.Format, m.Version, Format, FormatVersion)
	}
	if len(m.Tables) != len(Tables) {
		return nil, fmt.Errorf("%s: %d tables, want %d", filepath.Join(dir, manifestName), len(m.Tables), len(Tables))
	}
	for i, t := range m.Tables {
		if t.Name != Tables[i] {
			return nil, fmt.Errorf("%s: table %d is %q, want %q", filepath.Join(dir, manifestName), i+1, t.Name, Tables[i])
		}
	}
	return &m, nil
}

// fileReader reads one table's file, checking its checksum and row count at the end.
type fileReader struct {
	table Table
	f     *os.File
	gz    *gzip.Reader
	r     *bufio.Reader
	sum   hash.Hash
	rows  int64
	next  string // the line read ahead, "" at the end
	nextS string // its session
}

func openFile(dir string, t Table) (*fileReader, error) {
	f, err := os.Open(filepath.Join(dir, t.File))
	if err != nil {
		return nil, err
	}
	r := &fileReader{table: t, f: f, sum: sha256.New()}
	r.gz, err = gzip.NewReader(bufio.NewReaderSize(io.TeeReader(f, r.sum), 256<<10))
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", t.File, err)
	}
	r.r = bufio.NewReaderSize(r.gz, 256<<10)
	return r, r.advance()
}

// advance reads the next line ahead; at the end of the file it checks what the manifest says
// of it.
func (r *fileReader) advance() error {
	line, err := r.r.ReadString('\n')
	switch {
	case err == io.EOF && line == "":
		r.next, r.nextS = "", ""
		// Drain what gzip leaves unread so that the checksum covers the whole file.
		if _, err := io.Copy(io.Discard, io.TeeReader(r.f, r.sum)); err != nil {
			return err
		}
		if r.rows != r.table.Rows {
			return fmt.Errorf("%s: %d rows, the manifest says %d", r.table.File, r.rows, r.table.Rows)
		}
		if got := hex.EncodeToString(r.sum.Sum(nil)); got != r.table.SHA256 {
			return fmt.Errorf("%s: sha256 %s, the manifest says %s: the file is damaged", r.table.File, got, r.table.SHA256)
		}
		return nil
	case err == io.EOF:
		return fmt.Errorf("%s: the last line is cut short: the file is damaged", r.table.File)
	case err != nil:
		return fmt.Errorf("%s: %w", r.table.File, err)
	}
	r.rows++
	r.next = strings.TrimSuffix(line, "\n")
	r.nextS, err = sessionIDOf(r.next)
	if err != nil {
		return fmt.Errorf("%s line %d: %w", r.table.File, r.rows, err)
	}
	return nil
}

func (r *fileReader) close() { _ = r.f.Close() }

func verifyFile(dir string, t Table) error {
	f, err := os.Open(filepath.Join(dir, t.File))
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("%s: %w", t.File, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != t.Bytes || got != t.SHA256 {
		return fmt.Errorf("%s: %d bytes with sha256 %s, the manifest says %d bytes with %s: the file is damaged",
			t.File, n, got, t.Bytes, t.SHA256)
	}
	return nil
}

// dayReader reads a day's sessions in the order they were written, every table's file in step.
type dayReader struct {
	files []*fileReader
}

// openDay checks every file of the day against its manifest (size and SHA-256) before it
// reads any: rows are removed against a day only when all of it is sound.
func openDay(dir string, m *Manifest) (*dayReader, error) {
	for _, t := range m.Tables {
		if err := verifyFile(dir, t); err != nil {
			return nil, err
		}
	}
	d := &dayReader{}
	for _, t := range m.Tables {
		f, err := openFile(dir, t)
		if err != nil {
			d.close()
			return nil, err
		}
		d.files = append(d.files, f)
	}
	return d, nil
}

// next returns the next session, nil at the end (every file checked).
func (d *dayReader) next() (*session, error) {
	sessions := d.files[0]
	if sessions.next == "" {
		for _, f := range d.files[1:] {
			if f.next != "" {
				return nil, fmt.Errorf("%s: a row of session %q, which is not in %s", f.table.File, f.nextS, sessions.table.File)
			}
		}
		return nil, nil
	}
	s := &session{id: sessions.nextS}
	for t, f := range d.files {
		for f.next != "" && f.nextS == s.id {
			s.lines[t] = append(s.lines[t], f.next)
			if err := f.advance(); err != nil {
				return nil, err
			}
		}
		if f.next != "" && f.nextS < s.id {
			return nil, fmt.Errorf("%s: a row of session %q out of order (before %q)", f.table.File, f.nextS, s.id)
		}
	}
	if len(s.lines[0]) != 1 {
		return nil, fmt.Errorf("%s: session %q has %d rows", sessions.table.File, s.id, len(s.lines[0]))
	}
	return s, nil
}

func (d *dayReader) close() {
	for _, f := range d.files {
		f.close()
	}
}
