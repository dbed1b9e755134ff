package examples_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/client"
	"github.com/ixnstore/ixnstore/internal/natstest"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/internal/testserver"
)

// output is a process's log, with a signal for each line.
type output struct {
	mu    sync.Mutex
	b     strings.Builder
	wrote chan struct{}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(p)
	select {
	case o.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitFor waits until the log has want.
func (o *output) waitFor(t *testing.T, ctx context.Context, name, want string) {
	t.Helper()
	for !strings.Contains(o.String(), want) {
		select {
		case <-o.wrote:
		case <-ctx.Done():
			t.Fatalf("%s did not say %q:\n%s", name, want, o.String())
		}
	}
}

func start(t *testing.T, bin string, args ...string) (*exec.Cmd, *output, chan error) {
	t.Helper()
	out := &output{wrote: make(chan struct{}, 1)}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done, exited := make(chan error, 1), make(chan struct{})
	go func() {
		done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return cmd, out, done
}

// TestExamples builds and runs the examples against a real server: a media adapter, a
// routing node that handles calls (one with an action request the adapter answers) and is
// killed holding one, and a second node that claims the dead one's session, handles its
// interaction.restored and finishes the call.
//
// The nodes follow their events over the server's event stream, and again from NATS
// JetStream (serve --nats-url, routing-node --nats-url).
func TestExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"routing-node", "media-adapter"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./"+name)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, out)
		}
	}
	t.Run("event stream", func(t *testing.T) {
		t.Parallel()
		runExamples(t, dir, nil, nil)
	})
	t.Run("JetStream", func(t *testing.T) {
		t.Parallel()
		url := natstest.URL(t)
		stream, prefix := natstest.Unique("EXAMPLES"), natstest.Unique("ex")
		natstest.Client(t, url, stream) // deletes the stream when the test ends
		runExamples(t, dir, []string{"--nats-url", url, "--nats-stream", stream, "--nats-subject-prefix", prefix},
			[]string{"--nats-url", url, "--nats-stream", stream, "--nats-subject-prefix", prefix})
	})
}

func runExamples(t *testing.T, dir string, serveArgs, nodeArgs []string) {
	cl := testserver.NewCluster(t, testdb.URL(t))
	srv := cl.Start(serveArgs...)
	// Seconds on a quiet server; the bound is generous because publication waits for every
	// older transaction of the PostgreSQL server to end, other people's included.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	common := []string{"--url", srv.URL, "--token", cl.Token}
	node := append(append([]string{}, common...), nodeArgs...)

	_, adapter, _ := start(t, filepath.Join(dir, "media-adapter"), common...)
	nodeA, a, _ := start(t, filepath.Join(dir, "routing-node"), append(node, "--node", "node-a", "--lease", "1s", "--calls", "2", "--hold")...)
	a.waitFor(t, ctx, "node-a", "node-a: holding node-a-call2 in node-a-s2")
	if err := nodeA.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, b, bDone := start(t, filepath.Join(dir, "routing-node"), append(node, "--node", "node-b", "--lease", "1s", "--exit-after-restored", "1")...)
	select {
	case err := <-bDone:
		if err != nil {
			t.Fatalf("node-b: %v\n%s", err, b.String())
		}
	case <-ctx.Done():
		t.Fatalf("node-b did not finish:\n%s", b.String())
	}
	t.Logf("node-a:\n%s\nnode-b:\n%s\nmedia-adapter:\n%s", a.String(), b.String(), adapter.String())
	for _, want := range []string{"node-a: node-a-call1 answered interaction.accept.done", "node-a: node-a-call1 ended, session node-a-s1 ended",
		"node-a: node-a-call2 answered interaction.accept.done"} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("node-a did not say %q", want)
		}
	}
	for _, want := range []string{"node-b: claimed node-a-s2 from node-a (epoch 2)", "node-b: restored node-a-call2 in node-a-s2 (epoch 2)",
		"node-b: node-a-call2 ended, session node-a-s2 ended", "node-b: finished taken-over session node-a-s2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("node-b did not say %q", want)
		}
	}
	if !strings.Contains(adapter.String(), "media-adapter: accept node-a-call2-accept on node-a-call2 in node-a-s2: done") {
		t.Errorf("the adapter did not answer node-a-call2's request")
	}
	c, err := client.New(srv.URL, client.Config{Token: cl.Token})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.GetSessionWithResponse(ctx, "node-a-s2")
	if err != nil || s.JSON200.State != client.SessionLifecycleEnded || s.JSON200.OwnerNode != "node-b" {
		t.Fatalf("node-a-s2 at the end: %+v %v", s, err)
	}
}
