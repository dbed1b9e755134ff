package tcpproxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ixnstore/ixnstore/internal/tcpproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every read a test makes on a connection.
const wait = 5 * time.Second

// silence is how long a test listens to be sure that nothing comes: a stall is never proved,
// only not disproved; this is long enough for loopback.
const silence = 200 * time.Millisecond

// echo is a server that answers each line with the same line and reports each connection and
// each close it sees.
type echo struct {
	ln     net.Listener
	conns  chan net.Conn
	closed chan struct{}
}

func startEcho(t *testing.T) *echo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{ln: ln, conns: make(chan net.Conn, 16), closed: make(chan struct{}, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.conns <- c
			go func() {
				_, _ = io.Copy(c, c)
				_ = c.Close()
				e.closed <- struct{}{}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(e.conns)
		for c := range e.conns {
			c.Close()
		}
	})
	return e
}

func start(t *testing.T, target string) *tcpproxy.Proxy {
	t.Helper()
	p, err := tcpproxy.Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, p *tcpproxy.Proxy) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		c.t.Fatalf("writing %q: %v", line, err)
	}
}

// read reads a line within d; the error says why there was none.
func (c *client) read(d time.Duration) (string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	return c.r.ReadString('\n')
}

func (c *client) expect(want string) {
	c.t.Helper()
	got, err := c.read(wait)
	if err != nil || got != want+"\n" {
		c.t.Fatalf("read %q (%v), want %q", got, err, want)
	}
}

func (c *client) expectSilence() {
	c.t.Helper()
	if got, err := c.read(silence); !errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("read %q (%v), want nothing", got, err)
	}
}

func (c *client) expectClosed() {
	c.t.Helper()
	if got, err := c.read(wait); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		c.t.Fatalf("read %q (%v), want the connection closed", got, err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

func TestModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, e *echo, p *tcpproxy.Proxy)
	}{
		{"pass forwards both ways", func(t *testing.T, e *echo, p *tcpproxy.Proxy) {
			c := dial(t, p)
			c.send("hello")
			c.expect("hello")
		}},
		{"blackhole stalls old and new connections and loses nothing", func(t *testing.T, e *echo, p *tcpproxy.Proxy) {
			old := dial(t, p)
			old.send("before")
			old.expect("before")
			p.Set(tcpproxy.Blackhole)
			old.send("during")
			old.expectSilence()
			fresh := dial(t, p)
			fresh.send("new")
			fresh.expectSilence()
			p.Set(tcpproxy.Pass)
			old.expect("during")
			fresh.expect("new")
		}},
		{"cut closes both ends, then passes", func(t *testing.T, e *echo, p *tcpproxy.Proxy) {
			c := dial(t, p)
			c.send("x")
			c.expect("x")
			p.Cut()
			c.expectClosed()
			select {
			case <-e.closed:
			case <-time.After(wait):
				t.Fatal("the server's end was not closed")
			}
			again := dial(t, p)
			again.send("y")
			again.expect("y")
		}},
		{"half-open closes the client's end and keeps the server's", func(t *testing.T, e *echo, p *tcpproxy.Proxy) {
			c := dial(t, p)
			c.send("x")
			c.expect("x")
			p.Set(tcpproxy.HalfOpen)
			c.expectClosed()
			select {
			case <-e.closed:
				t.Fatal("the server's end was closed")
			case <-time.After(silence):
			}
			if p.Open() != 1 {
				t.Fatalf("%d connections held, want the half-open one", p.Open())
			}
			stalled := dial(t, p)
			stalled.send("y")
			stalled.expectSilence()
			p.Set(tcpproxy.Pass)
			stalled.expect("y")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEcho(t)
			tc.run(t, e, start(t, e.ln.Addr().String()))
		})
	}
}

// The server ending a half-open connection ends it in the proxy too.
func TestHalfOpenEndsWithTheServer(t *testing.T) {
	t.Parallel()
	e := startEcho(t)
	p := start(t, e.ln.Addr().String())
	c := dial(t, p)
	c.send("x")
	c.expect("x")
	var server net.Conn
	select {
	case server = <-e.conns:
	case <-time.After(wait):
		t.Fatal("no connection reached the server")
	}
	p.Set(tcpproxy.HalfOpen)
	c.expectClosed()
	server.Close()
	deadline := time.Now().Add(wait)
	for p.Open() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still held after the server closed", p.Open())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
