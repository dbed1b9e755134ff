package api

import "sync"

// Signal wakes the streams of this process when something they wait for happened: events
// published, action requests made. It is a hint to look now; a stream also polls. Every
// waiter wakes at once, each time it is raised.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewSignal makes a Signal that no one has raised.
func NewSignal() *Signal { return &Signal{ch: make(chan struct{})} }

// C returns a channel closed at the next Raise. Take it before reading, so that a Raise
// between the read and the wait is not missed.
func (s *Signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *Signal) Raise() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}
