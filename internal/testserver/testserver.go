// Package testserver runs the ixnstore server in the test's process, as `ixnstore serve`
// runs it (the same wiring: dispatcher, streams, access control), so that tests of what
// speaks to it over HTTP (the client, the CLI, the examples) can stop, restart and run
// several instances of it on one database.
package testserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/cli"
)

// Server is one running instance.
type Server struct {
	// URL is its base address, Token the admin token it takes.
	URL, Token string
	t          testing.TB
	addr       string
	args       []string
	log        *syncBuffer
	stop       context.CancelFunc
	done       chan int
}

// Cluster is the database and admin token instances share.
type Cluster struct {
	t                  testing.TB
	DatabaseURL, Token string
	tokenFile          string
}

// NewCluster prepares a database (the given URL) and an admin token for instances.
func NewCluster(t testing.TB, databaseURL string) *Cluster {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	token := "ixn_" + base64.RawURLEncoding.EncodeToString(secret)
	file := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Cluster{t: t, DatabaseURL: databaseURL, Token: token, tokenFile: file}
}

// Start runs an instance on a free port with extra serve flags; it is stopped when the test
// ends.
func (c *Cluster) Start(args ...string) *Server {
	c.t.Helper()
	s := &Server{t: c.t, Token: c.Token, addr: freeAddr(c.t), log: &syncBuffer{}}
	s.URL = "http://" + s.addr
	s.args = append([]string{"serve", "--addr", s.addr, "--database-url", c.DatabaseURL,
		"--admin-token-file", c.tokenFile, "--shutdown-grace", "2s"}, args...)
	s.run()
	c.t.Cleanup(s.Stop)
	return s
}

func (s *Server) run() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan int, 1)
	go func() { s.done <- cli.Main(ctx, s.args, s.log, s.log) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case code := <-s.done:
			s.t.Fatalf("ixnstore serve exited (%d) before it was ready:\n%s", code, s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("ixnstore serve not ready after 60s:\n%s", s.log.String())
		}
	}
}

// Stop shuts the instance down as SIGTERM would (streams end, requests finish) and waits.
func (s *Server) Stop() {
	if s.stop == nil {
		return
	}
	s.stop()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		// A stop that hangs is the server's bug to see, not a test run to hang on.
		s.t.Errorf("%s did not stop within 60s:\n%s", s, s.log.String())
	}
	s.stop = nil
}

// Restart stops the instance and starts it again on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.run()
}

// Log is what the instance logged.
func (s *Server) Log() string { return s.log.String() }

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// String names the instance in test messages.
func (s *Server) String() string { return fmt.Sprintf("ixnstore at %s", s.URL) }

// WaitLog waits until the instance has logged want (up to 60s).
func (s *Server) WaitLog(want string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.log.String(), want) {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s did not log %q in 60s:\n%s", s, want, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
