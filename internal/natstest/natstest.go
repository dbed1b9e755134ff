// Package natstest gives tests a NATS server with JetStream: the one every test machine runs
// (URL), or one of the test's own that it can stop and start again (Server), and reads what
// the bridge stored (Consume).
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ixnstore/ixnstore/service"
)

// Within bounds the waits of Consume: generous, so that only a claim that is broken fails,
// not a busy machine.
const Within = 60 * time.Second

// URL is the NATS server with JetStream that every test machine runs (NATS_URL, or
// 127.0.0.1:4222). A test that needs it fails under CI=true when it does not answer, and is
// skipped otherwise.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("NATS with JetStream at %s: %v (.ci/run starts it)", url, err)
		}
		t.Skipf("no NATS at %s (%v): start nats-server -js, or set NATS_URL", url, err)
	}
	nc.Close()
	return url
}

// Unique is a name no other test uses: streams and their subjects share the server with
// other tests and other runs.
func Unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Client connects to url, reconnecting by itself, and deletes the stream when the test ends.
func Client(t testing.TB, url, stream string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, stream)
		nc.Close()
	})
	return js
}

// Server is a NATS server with JetStream kept in files, run in the test's process, which the
// test may shut down and start again on the same port and folder.
type Server struct {
	opts *server.Options
	s    *server.Server
}

// StartServer starts a server on a free port of ports (the test's own range) with its
// JetStream files in dir, and shuts it down when the test ends.
func StartServer(t testing.TB, dir string, ports [2]int) *Server {
	t.Helper()
	port := 0
	for p := ports[0]; p <= ports[1] && port == 0; p++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			port = p
		}
	}
	if port == 0 {
		t.Fatalf("no free port in %d-%d", ports[0], ports[1])
	}
	s := &Server{opts: &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true, ServerName: "natstest"}}
	s.Start(t)
	t.Cleanup(s.Shutdown)
	return s
}

// URL is where the server listens.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Start starts the server (again).
func (s *Server) Start(t testing.TB) {
	t.Helper()
	ns, err := server.NewServer(s.opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		t.Fatal("the NATS server was not ready after 30s")
	}
	s.s = ns
}

// Shutdown stops the server, as a crash would for its clients; its files stay.
func (s *Server) Shutdown() {
	if s.s != nil {
		s.s.Shutdown()
		s.s.WaitForShutdown()
		s.s = nil
	}
}

// Received is one message as a consumer got it.
type Received struct {
	Subject, MsgID string
	StreamSeq      uint64
	Event          service.PublishedEvent
}

// Consume reads n messages of the stream that filter lets through with an ordered consumer,
// and fails the test if fewer come within Within, or more.
func Consume(t testing.TB, js jetstream.JetStream, stream, filter string, n int) []Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Within)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatal(err)
	}
	var got []Received
	for len(got) <= n {
		// A short wait: once all n are in, the next fetch's wait is what checks that no more
		// come, and every consume pays it.
		batch, err := c.Fetch(min(500, n+1-len(got)), jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for m := range batch.Messages() {
			count++
			meta, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			r := Received{Subject: m.Subject(), MsgID: m.Headers().Get(jetstream.MsgIDHeader), StreamSeq: meta.Sequence.Stream}
			if err := json.Unmarshal(m.Data(), &r.Event); err != nil {
				t.Fatalf("message %d: %v: %s", meta.Sequence.Stream, err, m.Data())
			}
			got = append(got, r)
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of %d messages on %s after %s", len(got), n, filter, Within)
		}
		if count == 0 && len(got) == n {
			return got // and nothing more came within the wait
		}
	}
	// Say which: a message delivered twice (the same stream sequence) is the consumer's doing,
	// an event stored twice (the same pub_seq) the publisher's.
	bySeq, byPub := map[uint64]int{}, map[int64]int{}
	for _, r := range got {
		bySeq[r.StreamSeq]++
		byPub[r.Event.PubSeq]++
	}
	var twice []string
	for _, r := range got {
		if bySeq[r.StreamSeq] > 1 || byPub[r.Event.PubSeq] > 1 {
			twice = append(twice, fmt.Sprintf("stream seq %d (pub_seq %d)", r.StreamSeq, r.Event.PubSeq))
		}
	}
	t.Fatalf("more than %d messages on %s (%d); twice: %v", n, filter, len(got), twice)
	return nil
}
