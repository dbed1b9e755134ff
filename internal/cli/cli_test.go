package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// A value in the environment that does not parse stops the command, naming the variable and
// what it expected; before, it was dropped for the default without a word.
func TestBadEnvironmentValuesRefuseToStart(t *testing.T) {
	tests := []struct{ env, value, want string }{
		{"IXNSTORE_DB_MAX_CONNS", "abc", "$IXNSTORE_DB_MAX_CONNS is \"abc\": expected a whole number"},
		{"IXNSTORE_REQUEST_TIMEOUT", "5", "$IXNSTORE_REQUEST_TIMEOUT is \"5\": expected a duration"},
		{"IXNSTORE_DISPATCHER", "nope", "$IXNSTORE_DISPATCHER is \"nope\": expected true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			var stderr bytes.Buffer
			// Refused before it opens anything: no database is needed to see it.
			code := Main(context.Background(), []string{"serve"}, &bytes.Buffer{}, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

// The command line wins over a bad environment value: its flag is what is used.
func TestFlagOverridesBadEnvironmentValue(t *testing.T) {
	t.Setenv("IXNSTORE_X_WAIT", "soon")
	f := NewFlags("x", "x", &bytes.Buffer{})
	var d time.Duration
	f.EnvDuration(&d, "wait", "IXNSTORE_X_WAIT", time.Second, "how long")
	if err := f.ParseArgs([]string{"--wait", "2s"}); err != nil || d != 2*time.Second {
		t.Fatalf("ParseArgs: %v, wait %s; want no error and 2s", err, d)
	}
	f = NewFlags("x", "x", &bytes.Buffer{})
	f.EnvDuration(&d, "wait", "IXNSTORE_X_WAIT", time.Second, "how long")
	if err := f.ParseArgs(nil); err == nil || !strings.Contains(err.Error(), "IXNSTORE_X_WAIT") {
		t.Fatalf("ParseArgs: %v; want the variable named", err)
	}
}

// Every flag of serve names its environment variable in --help.
func TestHelpNamesEveryEnvironmentVariable(t *testing.T) {
	var stderr bytes.Buffer
	if code := Main(context.Background(), []string{"serve", "--help"}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := stderr.String()
	for _, env := range []string{"DATABASE_URL", "IXNSTORE_DB_MAX_CONNS", "IXNSTORE_METRICS", "IXNSTORE_METRICS_ADDR",
		"IXNSTORE_TRACING", "OTEL_EXPORTER_OTLP_ENDPOINT", "IXNSTORE_SHUTDOWN_GRACE"} {
		if !strings.Contains(help, env) {
			t.Errorf("serve --help does not name $%s", env)
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := Main(context.Background(), []string{"--version"}, &stdout, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(stdout.String(), "ixnstore ") || !strings.Contains(stdout.String(), "revision") {
		t.Fatalf("--version said %q", stdout.String())
	}
}
