package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

// gatedWriter is a client that stops reading: its first write waits until the test opens
// the gate.
type gatedWriter struct {
	header http.Header
	gate   chan struct{}
	wrote  chan struct{} // closed at the first write
	mu     sync.Mutex
	body   bytes.Buffer
	writes int
}

func (w *gatedWriter) Header() http.Header { return w.header }
func (w *gatedWriter) WriteHeader(int)     {}
func (w *gatedWriter) Flush()              {}

func (w *gatedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	first := w.writes == 1
	w.mu.Unlock()
	if first {
		close(w.wrote)
		<-w.gate
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(b)
}

// memLog is publication in memory for the hub.
type memLog struct {
	mu     sync.Mutex
	events []service.PublishedEvent
	wake   chan struct{}
}

func (l *memLog) publish(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range n {
		seq := int64(len(l.events) + 1)
		l.events = append(l.events, service.PublishedEvent{PubSeq: seq, Event: service.Event{
			ID: seq, SessionID: "s1", Seq: seq, Name: "interaction.partystatechanged", Data: []byte(`{}`)}})
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

func (l *memLog) C() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wake
}

func (l *memLog) read(_ context.Context, _ service.PublishedFilter, after int64, limit int) ([]service.PublishedEvent, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	end := min(int(after)+limit, len(l.events))
	return append([]service.PublishedEvent(nil), l.events[min(int(after), end):end]...), nil
}

// A client that reads slower than events come is cut: the stream ends with a stream.cut
// event whose id and data say where to resume, and the events before it are all it missed
// nothing of.
func TestSlowClientIsCutWithTheCursor(t *testing.T) {
	l := &memLog{wake: make(chan struct{})}
	l.publish(6)
	signals := &streamhub.Signals{Read: make(chan int64, 100)}
	hub, err := streamhub.New(streamhub.Config{
		Read: l.read, Last: func(context.Context) (int64, error) { return 0, nil }, Wake: l.C,
		Window: 4, Page: 2, Poll: time.Hour, Signals: signals,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := make(chan struct{})
	go func() { defer close(running); hub.Run(ctx) }()
	defer func() { cancel(); <-running }()
	waitHub := func(hi int64) {
		t.Helper()
		if err := signals.WaitRead(hi, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	waitHub(6) // the window holds 3..6

	h := &handlers{opts: Options{Streams: hub, StreamKeepAlive: time.Hour, StreamPoll: time.Second}}
	w := &gatedWriter{header: http.Header{}, gate: make(chan struct{}), wrote: make(chan struct{})}
	c := echo.New().NewContext(httptest.NewRequest("GET", "/v1/events/stream?after=2", nil), w)
	ended := make(chan error, 1)
	go func() { ended <- h.stream(c) }()
	select {
	case <-w.wrote: // events 3 and 4 are being written, 5 and 6 wait
	case <-time.After(10 * time.Second):
		t.Fatal("nothing written within 10s")
	}
	l.publish(14)
	waitHub(20) // the window moved to 17..20, past the stream
	close(w.gate)
	select {
	case err := <-ended:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream was not cut within 10s")
	}
	w.mu.Lock()
	body := w.body.String()
	w.mu.Unlock()
	var ids []string
	for line := range strings.Lines(body) {
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			ids = append(ids, strings.TrimSpace(id))
		}
	}
	if fmt.Sprint(ids) != "[3 4 4]" || !strings.Contains(body, "event: stream.cut\ndata: {\"code\":\"slow_consumer\",") ||
		!strings.Contains(body, `"after":4}`) {
		t.Fatalf("ids %v, body:\n%s", ids, body)
	}
	if n := hub.Streams(); n != 0 {
		t.Errorf("%d streams after the cut, want 0", n)
	}
}
