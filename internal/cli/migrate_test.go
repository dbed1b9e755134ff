package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
)

// migrate up --citus migrates, then refuses to lay out a database that has no Citus, with a
// message that says what to do, and fails the command.
func TestMigrateCitusWantsCitus(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, []string{"migrate", "up", "--citus", "--database-url", url, "--log-level", "error"}, &stdout, &stderr)
	if code == 0 {
		t.Fatalf("migrate up --citus on plain PostgreSQL succeeded: %s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "citus extension is not installed") {
		t.Fatalf("exit %d, stderr %q: want the missing extension named", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "applied 0 migration(s)") {
		t.Fatalf("stdout %q: want the migrations applied first", stdout.String())
	}
}
