package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/internal/testdb"
)

// Bad input to 'ixnstore archive' is refused with a message that says what is wrong, before
// anything is opened or changed; good input on an empty archive says there is nothing.
func TestArchiveCommandLine(t *testing.T) {
	for _, env := range []string{"IXNSTORE_ARCHIVE_DIR", "IXNSTORE_ARCHIVE_AFTER"} {
		t.Setenv(env, "") // restored after the test
		if err := os.Unsetenv(env); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	url := testdb.URL(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no action", []string{"archive"}, 2, "", "Usage: ixnstore archive list|run|restore"},
		{"help", []string{"archive", "--help"}, 0, "", "DuckDB reads them"},
		{"unknown action", []string{"archive", "purge"}, 2, "", `unknown action "purge"`},
		{"list without a directory", []string{"archive", "list"}, 1, "", "no archive directory given (--archive-dir"},
		{"list a missing directory", []string{"archive", "list", "--archive-dir", missing}, 1, "", "nope does not exist: create it"},
		{"list a file", []string{"archive", "list", "--archive-dir", "/etc/hostname"}, 1, "", "is not a directory"},
		{"list an empty archive", []string{"archive", "list", "--archive-dir", dir}, 0, "no day archived in", ""},
		{"list, json", []string{"archive", "list", "--archive-dir", dir, "-o", "json"}, 0, "[]", ""},
		{"restore a bad day", []string{"archive", "restore", "2026-13-01", "--archive-dir", dir}, 1, "", `"2026-13-01" is not a day: want YYYY-MM-DD`},
		{"restore without a day", []string{"archive", "restore", "--archive-dir", dir}, 2, "", "Usage: ixnstore archive restore DAY"},
		{"restore two days", []string{"archive", "restore", "2026-01-01", "2026-01-02", "--archive-dir", dir}, 2, "", "Usage: ixnstore archive restore DAY"},
		{"restore to a missing directory", []string{"archive", "restore", "2026-01-01", "--archive-dir", missing}, 1, "", "does not exist"},
		{"restore a day not archived", []string{"archive", "restore", "2026-01-01", "--archive-dir", dir, "--database-url", url}, 1, "",
			"2026-01-01: the archive has no such day (see 'ixnstore archive list')"},
		{"run without days", []string{"archive", "run", "--archive-dir", dir}, 1, "", "say which days: --before DAY, --day DAY or --archive-after"},
		{"run a bad day", []string{"archive", "run", "--day", "yesterday", "--archive-dir", dir}, 1, "", `--day: "yesterday" is not a day`},
		{"run before a bad day", []string{"archive", "run", "--before", "2026-02-30", "--archive-dir", dir}, 1, "", `--before: "2026-02-30" is not a day`},
		{"run both", []string{"archive", "run", "--before", "2026-01-01", "--day", "2026-01-01", "--archive-dir", dir}, 1, "", "not both"},
		{"run a window too short", []string{"archive", "run", "--archive-after", "1m", "--archive-dir", dir}, 1, "", "less than 24h0m0s"},
		{"run before the future", []string{"archive", "run", "--before", "2999-01-01", "--archive-dir", dir}, 1, "", "is in the future"},
		{"run a day not over", []string{"archive", "run", "--day", "2999-01-01", "--archive-dir", dir, "--database-url", url}, 1, "", "is not over yet"},
		{"run, nothing there", []string{"archive", "run", "--before", "2026-01-01", "--archive-dir", dir, "--database-url", url}, 0, "nothing to archive", ""},
		{"serve with a window too short", []string{"serve", "--archive-after", "1m"}, 1, "", "--archive-after 1m0s is less than 24h0m0s"},
		{"serve without the directory", []string{"serve", "--archive-after", "2160h"}, 1, "", "--archive-after is set: no archive directory given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
