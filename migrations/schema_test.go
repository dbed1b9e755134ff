package migrations_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/migrations"
	sqlcode "github.com/ixnstore/ixnstore/sql"
)

// schemaFile is the checked-in schema that sqlc and people read.
const schemaFile = "../sql/schema.sql"

// TestSchemaSnapshotIsCurrent dumps a freshly migrated database and compares it with
// sql/schema.sql. To write the file anew after a migration or a code file changed:
//
//	UPDATE_SCHEMA=1 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//	    go test -count=1 -run TestSchemaSnapshotIsCurrent ./migrations
func TestSchemaSnapshotIsCurrent(t *testing.T) {
	pgDump := findPgDump(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := scratchDB(t)
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	conn := pool.Config().ConnConfig
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, pgDump, "--schema-only", "--no-owner", "--no-privileges",
		"--exclude-table=goose_db_version", "--exclude-table=goose_db_version_id_seq",
		// Bookkeeping of the code step, like goose's table: not the application's schema.
		"--exclude-table=schema_code",
		// The day partitions of publication: made for the days at hand (ixn_publication_days),
		// data rather than schema.
		"--exclude-table=publication_????????",
		"--host="+conn.Host, "--port="+strconv.Itoa(int(conn.Port)), "--username="+conn.User, "--dbname="+conn.Database)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+conn.Password)
	cmd.Stderr = &stderr
	dump, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", pgDump, err, stderr.String())
	}
	got := withoutBodies(t, normalizeDump(string(dump)))

	if os.Getenv("UPDATE_SCHEMA") != "" {
		if err := os.WriteFile(schemaFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", schemaFile)
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v: generate it with UPDATE_SCHEMA=1 go test -run TestSchemaSnapshotIsCurrent ./migrations", err)
	}
	if string(want) != got {
		t.Fatalf("sql/schema.sql is not the schema the migrations and sql/ make; first difference:\n%s\n"+
			"Regenerate it with UPDATE_SCHEMA=1 go test -count=1 -run TestSchemaSnapshotIsCurrent ./migrations, "+
			"then go tool sqlc generate.", firstDifference(string(want), got))
	}
}

var (
	// Session settings, and psql's \restrict lines whose key is random in every dump.
	dumpNoise = regexp.MustCompile(`(?m)^(SET |SELECT pg_catalog\.set_config\(|\\restrict |\\unrestrict |-- Dumped (from database|by pg_dump) version ).*\n`)
	publicRef = regexp.MustCompile(`\bpublic\.`)
	blankRuns = regexp.MustCompile(`\n{3,}`)
)

// normalizeDump makes a dump read by sqlc as it read the migrations, and independent of the
// version of pg_dump: no settings, no schema qualifiers, timestamptz as written in the
// migrations.
func normalizeDump(dump string) string {
	s := dumpNoise.ReplaceAllString(dump, "")
	s = publicRef.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "timestamp with time zone", "timestamptz")
	s = blankRuns.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s) + "\n"
}

// functionBody is a function's body as pg_dump writes it, after the function's LANGUAGE line:
// a dollar-quoted string, whatever its tag, up to the statement's end.
var (
	functionHead = regexp.MustCompile(`(?m)^CREATE FUNCTION (\w+)\(`)
	functionBody = regexp.MustCompile(`(?s)^(\n    AS )(\$\w*\$).*?(\$\w*\$);`)
	codeFunction = regexp.MustCompile(`(?m)^CREATE OR REPLACE FUNCTION (\w+)\(`)
)

// withoutBodies replaces each function's body in the dump by the path of the file of sql/ that
// holds it, so that a body is written in one place only: the snapshot keeps what sqlc and a
// reader need of a function, its signature.
func withoutBodies(t *testing.T, dump string) string {
	t.Helper()
	fileOf := map[string]string{}
	err := fs.WalkDir(sqlcode.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sqlcode.Files, path)
		for _, m := range codeFunction.FindAllStringSubmatch(string(b), -1) {
			fileOf[m[1]] = "sql/" + path
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rest := dump
	for {
		head := functionHead.FindStringSubmatchIndex(rest)
		if head == nil {
			out.WriteString(rest)
			return out.String()
		}
		name := rest[head[2]:head[3]]
		file, ok := fileOf[name]
		if !ok {
			t.Fatalf("function %s is in the database but in no file of sql/", name)
		}
		// The body starts after the signature and LANGUAGE lines: the first "\n    AS ".
		at := head[1] + strings.Index(rest[head[1]:], "\n    AS ")
		body := functionBody.FindStringSubmatchIndex(rest[at:])
		if body == nil {
			t.Fatalf("function %s: no body found in the dump", name)
		}
		out.WriteString(rest[:at])
		out.WriteString("\n    AS $$ -- the body: " + file + " $$;")
		rest = rest[at+body[1]:]
	}
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  sql/schema.sql: %s\n  the database:   %s", i+1, wl, gl)
		}
	}
	return "(none)"
}

// findPgDump finds pg_dump on PATH or in the PostgreSQL installation, the newest first. In
// CI a missing pg_dump fails the test; elsewhere it skips it.
func findPgDump(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pg_dump"); err == nil {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	sort.Slice(found, func(i, j int) bool { return pgMajor(found[i]) > pgMajor(found[j]) })
	if len(found) > 0 {
		return found[0]
	}
	msg := "pg_dump not found on PATH nor in /usr/lib/postgresql/*/bin: install the PostgreSQL client " +
		"of the server's major version to check sql/schema.sql"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// pgMajor is the major version in /usr/lib/postgresql/<major>/bin/pg_dump.
func pgMajor(path string) int {
	n := 0
	for _, c := range filepath.Base(filepath.Dir(filepath.Dir(path))) {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
