// Package tcpproxy is a TCP proxy on the loopback for tests of network faults: it forwards
// to one address and, when told, cuts, stalls or half-closes what goes through it. It is
// what a test puts between ixnstore and PostgreSQL to play a network that fails.
package tcpproxy

import (
	"net"
	"sync"
	"time"
)

// Mode is what the proxy does with the bytes of its connections.
type Mode int

const (
	// Pass forwards everything, both ways.
	Pass Mode = iota
	// Blackhole forwards nothing and closes nothing: every connection, old and new, stalls as
	// behind a network that drops every packet. Each side's writes fill the buffers and then
	// block. Back in Pass, what was held is forwarded, as TCP does when a partition heals.
	Blackhole
	// HalfOpen closes the client side of every open connection and keeps its server side
	// open forever, reading and dropping what the server sends: the server sees a live,
	// silent client (a partition after which the client's end is gone but the server's
	// stays). New connections stall as in Blackhole. Back in Pass, new connections pass; the
	// half-open ones stay so until the server ends them.
	HalfOpen
)

func (m Mode) String() string {
	return [...]string{"pass", "blackhole", "half-open"}[m]
}

// dialTimeout bounds the connection to the target.
const dialTimeout = 5 * time.Second

// Proxy forwards connections on a loopback port to a target address.
type Proxy struct {
	ln     net.Listener
	target string
	done   chan struct{} // closed by Close

	mu      sync.Mutex
	mode    Mode
	changed chan struct{} // closed at the next change of mode
	links   map[*link]struct{}
	wg      sync.WaitGroup
}

// link is one proxied connection: the client's and the server's ends.
type link struct {
	client, server net.Conn
	severed        bool // half-open: the client's end is closed, the server's kept
	closeOnce      sync.Once
	done           chan struct{}
}

// Start listens on a free loopback port and forwards what connects to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, done: make(chan struct{}), changed: make(chan struct{}),
		links: map[*link]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the host:port to connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set changes the mode; see each Mode for what happens to the connections already open.
func (p *Proxy) Set(mode Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mode == HalfOpen {
		for l := range p.links {
			if !l.severed {
				l.severed = true
				_ = l.client.Close()
			}
		}
	}
	p.mode = mode
	close(p.changed)
	p.changed = make(chan struct{})
}

// Cut closes both ends of every open connection, as a reset would. The mode stays.
func (p *Proxy) Cut() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		p.closeLink(l)
	}
}

// Open is how many connections the proxy holds, half-open ones included.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Close stops listening, closes every connection and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	close(p.done)
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.DialTimeout("tcp", p.target, dialTimeout)
		if err != nil {
			_ = client.Close()
			continue
		}
		l := &link{client: client, server: server, done: make(chan struct{})}
		p.mu.Lock()
		select {
		case <-p.done:
			p.mu.Unlock()
			_ = client.Close()
			_ = server.Close()
			return
		default:
		}
		p.links[l] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pump(l, l.client, l.server, false) })
		p.wg.Go(func() { p.pump(l, l.server, l.client, true) })
	}
}

// pump copies src to dst through the gate of the mode, until either end fails.
func (p *Proxy) pump(l *link, src, dst net.Conn, fromServer bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		forward, severed, alive := p.gate(l)
		if !alive {
			return
		}
		if severed && !fromServer {
			return // the client's end was closed on purpose; the server's stays
		}
		if forward && n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil && !severed {
				p.closeLink(l)
				return
			}
		}
		if err != nil {
			// The end closed (or failed): the other end hears it, unless the link is
			// half-open, whose client is gone already.
			p.closeLink(l)
			return
		}
	}
}

// gate waits until the link's bytes may move: forward is false for a half-open link, whose
// server's bytes are dropped; alive is false once the link or the proxy closed.
func (p *Proxy) gate(l *link) (forward, severed, alive bool) {
	for {
		p.mu.Lock()
		mode, changed, severed := p.mode, p.changed, l.severed
		p.mu.Unlock()
		switch {
		case severed:
			return false, true, true
		case mode == Pass:
			return true, false, true
		}
		select {
		case <-changed:
		case <-l.done:
			return false, false, false
		case <-p.done:
			return false, false, false
		}
	}
}

func (p *Proxy) closeLink(l *link) {
	l.closeOnce.Do(func() {
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
		close(l.done)
		_ = l.client.Close()
		_ = l.server.Close()
	})
}
