package main_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
)

var (
	binary string
	quiet  = slog.New(slog.NewTextHandler(io.Discard, nil))
	// adminToken is every test database's admin token: start hands it to serve as the
	// bootstrap token (--admin-token-file), and the tests' requests carry it.
	adminToken, adminTokenFile string
	// plainTransport sends what it is given; http.DefaultTransport adds adminToken.
	plainTransport = http.DefaultTransport
)

// withAdminToken adds the admin token to requests that carry no Authorization of their own.
type withAdminToken struct{}

func (withAdminToken) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+adminToken)
	}
	return plainTransport.RoundTrip(r)
}

// TestMain builds the binary once; the tests drive it as a user would, over HTTP.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ixnstore-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ixnstore")
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	adminToken = "ixn_" + base64.RawURLEncoding.EncodeToString(secret)
	adminTokenFile = filepath.Join(dir, "admin.token")
	if err := os.WriteFile(adminTokenFile, []byte(adminToken), 0o600); err != nil {
		panic(err)
	}
	http.DefaultTransport = withAdminToken{}
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ixnstore:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// progress lets a test wait on what its load generator (or a process) did rather than on the
// clock, which is too slow on a fast machine and too short on a slow one. The generator calls
// changed after each step it counts; wait checks its condition again at each change, so it
// returns as soon as the condition holds, and fails the test if it does not within
// waitDeadline. The zero value is ready to use.
type progress struct {
	mu sync.Mutex
	ch chan struct{} // closed at the next change
}

// waitDeadline bounds every wait on progress: generous, so that only a condition that never
// comes (the claim under test broken) fails, not a slow machine.
const waitDeadline = 30 * time.Second

func (p *progress) changed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil {
		close(p.ch)
		p.ch = nil
	}
}

func (p *progress) next() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil {
		p.ch = make(chan struct{})
	}
	return p.ch
}

// wait blocks until cond reports done; cond's status says, if it never does, where things
// stood. It must be called from the test's goroutine (it may end the test).
func (p *progress) wait(t *testing.T, what string, cond func() (done bool, status string)) {
	t.Helper()
	timeout := time.After(waitDeadline)
	for {
		// The channel is taken before the check: a change after the check closes it, so
		// none is missed between the two.
		next := p.next()
		done, status := cond()
		if done {
			return
		}
		select {
		case <-next:
		case <-timeout:
			t.Fatalf("waiting for %s: not so after %v; %s", what, waitDeadline, status)
		}
	}
}

// process is one running `ixnstore serve`.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	log  *syncBuffer
	done chan error
	// instance is its --instance name, when a test gave one and needs it.
	instance string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// grew lets a test wait for a line to be logged instead of guessing when it will be.
	grew progress
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.grew.changed()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func start(t *testing.T, args ...string) *process {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &process{t: t, base: "http://" + addr, log: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary, append([]string{"serve", "--addr", addr, "--admin-token-file", adminTokenFile}, args...)...)
	p.cmd.Env = append(os.Environ(), "DATABASE_URL=")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("ixnstore exited before it was ready: %v\n%s", err, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ixnstore not ready after 60s:\n%s", p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("ixnstore exited with %v:\n%s", err, p.log.String())
		}
	case <-time.After(60 * time.Second):
		p.t.Fatalf("ixnstore did not stop on SIGTERM:\n%s", p.log.String())
	}
}

// waitLog waits until the process has logged want.
func (p *process) waitLog(want string) {
	p.t.Helper()
	p.log.grew.wait(p.t, "the log to say "+want, func() (bool, string) {
		return strings.Contains(p.log.String(), want), "its log:\n" + p.log.String()
	})
}

func (p *process) kill() {
	p.t.Helper()
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *process) call(method, path, body string, want int) string {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		p.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	return string(raw)
}

// traffic writes a little of everything into session sid.
func traffic(p *process, sid string) {
	p.call("POST", "/v1/sessions", `{"session_id":"`+sid+`","owner_node":"n1"}`, 201)
	p.call("POST", "/v1/sessions/"+sid+"/interactions", `{"interaction_id":"`+sid+`-i1","media":"voice","type":"inbound",
		"parties":[{"party_id":"p1","resource":"+15550001","state":"alerting","role":"customer"}],"udata":{"lang":"en"}}`, 201)
	p.call("POST", "/v1/sessions/"+sid+"/interactions/"+sid+"-i1/present", "", 200)
	p.call("PATCH", "/v1/sessions/"+sid+"/interactions/"+sid+"-i1/parties/p1", `{"state":"established"}`, 200)
	p.call("POST", "/v1/sessions/"+sid+"/interactions/"+sid+"-i1/parties", `{"party_id":"p2","resource":"7001","state":"alerting"}`, 201)
	p.call("PATCH", "/v1/sessions/"+sid+"/interactions/"+sid+"-i1/udata", `{"origin":"media","data":{"vip":true}}`, 200)
}

type snapshot struct{ state, events string }

func (p *process) snapshot(sid string) snapshot {
	return snapshot{
		state:  p.call("GET", "/v1/sessions/"+sid, "", 200),
		events: p.call("GET", "/v1/sessions/"+sid+"/events?after=0", "", 200),
	}
}

func TestRestartKeepsStateAndEvents(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	p := start(t, "--database-url", url)
	traffic(p, "s1")
	before := p.snapshot("s1")
	p.stop()

	p = start(t, "--database-url", url)
	after := p.snapshot("s1")
	if after != before {
		t.Errorf("after a restart:\nstate  %s\nwas    %s\nevents %s\nwere   %s", after.state, before.state, after.events, before.events)
	}
	var page struct{ Events []struct{ Seq int64 } }
	if err := json.Unmarshal([]byte(after.events), &page); err != nil || len(page.Events) != 5 {
		t.Fatalf("events %s (%v)", after.events, err)
	}
	// And it goes on numbering where it stopped.
	res := p.call("DELETE", "/v1/sessions/s1/interactions/s1-i1/parties/p2", "", 200)
	if !strings.Contains(res, `"seq":6`) {
		t.Errorf("the next event after a restart: %s", res)
	}
	p.stop()
}

// kill -9 loses nothing that was acknowledged.
func TestKillKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	p := start(t, "--database-url", url)
	traffic(p, "s1")
	before := p.snapshot("s1")
	p.kill()

	p = start(t, "--database-url", url)
	if after := p.snapshot("s1"); after != before {
		t.Errorf("after kill -9:\n%+v\nwas\n%+v", after, before)
	}
	p.stop()
}

// With no database URL, serve runs an embedded PostgreSQL whose data outlives the process.
func TestEmbeddedDatabaseSurvivesRestart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	// Not t.TempDir: when the test runs as root, PostgreSQL runs as another user, who must be
	// able to reach the directory.
	dir, err := os.MkdirTemp("", "ixnstore-embedded-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := fmt.Sprint(freePort(t))
	data := filepath.Join(dir, "data")

	p := start(t, "--data-dir", data, "--embedded-port", port)
	traffic(p, "s1")
	before := p.snapshot("s1")
	p.stop()
	if !strings.Contains(p.log.String(), "embedded PostgreSQL stopped") {
		t.Errorf("the embedded PostgreSQL was not stopped:\n%s", p.log.String())
	}

	p = start(t, "--data-dir", data, "--embedded-port", port)
	if after := p.snapshot("s1"); after != before {
		t.Errorf("after a restart on the embedded database:\n%+v\nwas\n%+v", after, before)
	}
	// Killed, ixnstore leaves its PostgreSQL running; the next start finds and uses it.
	p.kill()
	p = start(t, "--data-dir", data, "--embedded-port", port)
	if !strings.Contains(p.log.String(), "already running") {
		t.Errorf("the running embedded PostgreSQL was not reused:\n%s", p.log.String())
	}
	if after := p.snapshot("s1"); after != before {
		t.Errorf("after kill -9 on the embedded database:\n%+v\nwas\n%+v", after, before)
	}
	p.stop()
}

// Run as root from a directory the PostgreSQL user cannot reach (a clone under /root, a 0700
// temporary folder), serve with no database URL still starts: the embedded PostgreSQL's data
// is kept where that user can reach it, and the log says where.
func TestEmbeddedDatabaseFromAnUnreachableDirectory(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	if os.Geteuid() != 0 {
		t.Skip("only root runs PostgreSQL as another user")
	}
	dir := t.TempDir() // 0700, root's
	port := fmt.Sprint(freePort(t))
	p := start(t, "--data-dir", filepath.Join(dir, "ixnstore-data"), "--embedded-port", port)
	p.call("GET", "/healthz", "", 200)
	log := p.log.String()
	i := strings.Index(log, "kept_in=")
	if i < 0 {
		t.Fatalf("the log does not say where the data is kept:\n%s", log)
	}
	kept := strings.Fields(log[i+len("kept_in="):])[0]
	t.Cleanup(func() { os.RemoveAll(kept) })
	if _, err := os.Stat(filepath.Join(kept, "PG_VERSION")); err != nil {
		t.Errorf("no PostgreSQL data where the log says: %v", err)
	}
	p.stop()
}
