// Package signal wakes goroutines that wait for something to happen in this process: events
// published, action requests made. It is a hint to look now; whoever waits also polls.
package signal

import "sync"

// Signal wakes every waiter at once, each time it is raised.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func New() *Signal { return &Signal{ch: make(chan struct{})} }

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
