package benchcli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/internal/testserver"
)

func TestDayHelpExplainsTheMix(t *testing.T) {
	var out, errs bytes.Buffer
	if code := Main(context.Background(), []string{"day", "--help"}, &out, &errs); code != 0 {
		t.Fatalf("day --help exited %d", code)
	}
	for _, want := range []string{"abandon", "singlesteptransfer", "singlestepconference", "fails", "--seed", "exits 1"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("day --help does not say %q:\n%s", want, errs.String())
		}
	}
}

// The command end to end against a real serve: a short day, its report, exit 0.
func TestDayCommandRunsAShortDay(t *testing.T) {
	cl := testserver.NewCluster(t, testdb.URL(t))
	srv := cl.Start()
	var out, errs bytes.Buffer
	code := Main(context.Background(), []string{"day", "--target", srv.URL, "--token", cl.Token, "--nodes", "2", "--adapters", "1",
		"--duration", "3s", "--rate", "8", "--think", "30ms", "--lease", "2s", "--fail-at", "1s", "--request-timeout", "2s", "--seed", "3"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"changes:", "party state change", "failover:", "every event in place"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, out.String())
		}
	}
}
