package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/client"
)

// partition stalls the heartbeats it is told to (until their deadline) and counts the
// writes that reach the server.
type partition struct {
	cut    atomic.Bool
	writes atomic.Int64
}

func (p *partition) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.cut.Load() && strings.HasSuffix(r.URL.Path, "/heartbeat") {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	if r.Method != http.MethodGet {
		p.writes.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestNodeWhoseLeaseLapses: a node whose heartbeats stop getting through loses its lease:
// its heartbeat loop returns the lease-lost error, its next write fails with it at once
// without reaching the server, and once another node has claimed its session and it has
// registered again, the server refuses its stale epoch with the same kind of error.
func TestNodeWhoseLeaseLapses(t *testing.T) {
	t.Parallel()
	cl, srv, admin, _ := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	net := &partition{}
	c := must[*client.Client](t, "client")(client.New(srv.URL, client.Config{Token: cl.Token, HTTPClient: &http.Client{Transport: net}}))
	node := must[*client.Node](t, "node")(c.Node(client.NodeConfig{ID: "n1", Lease: time.Second}))
	must[*client.NodeInfo](t, "register")(node.Register(ctx))
	must[*client.Session](t, "session")(node.CreateSession(ctx, "s1"))

	loop := make(chan error, 1)
	go func() { loop <- node.Heartbeats(ctx) }()
	// A heartbeat or two gets through, then the network drops them. (The lease is long
	// enough for the add to get through on a loaded machine first.)
	must[*client.AddInteractionResponse](t, "add")(node.AddInteractionWithResponse(ctx, "s1", nil, client.NewInteraction{InteractionID: "i1", Media: "chat", Type: client.NewInteractionTypeInbound}))
	net.cut.Store(true)

	var err error
	select {
	case err = <-loop:
	case <-ctx.Done():
		t.Fatal("the heartbeat loop did not report the lapse")
	}
	if !errors.Is(err, client.ErrLeaseLost) {
		t.Fatalf("the heartbeat loop ended with %v", err)
	}
	select {
	case <-node.Lost():
	default:
		t.Fatal("Lost is not closed")
	}
	before := net.writes.Load()
	_, err = node.PresentInteractionWithResponse(ctx, "s1", "i1", nil)
	if !errors.Is(err, client.ErrLeaseLost) {
		t.Fatalf("a write after the lapse: %v", err)
	}
	if net.writes.Load() != before {
		t.Fatal("the write after the lapse reached the server")
	}

	// Another node takes the session; the first registers again and writes with its old epoch.
	n2 := must[*client.Node](t, "node 2")(admin.Node(client.NodeConfig{ID: "n2"}))
	must[*client.NodeInfo](t, "register 2")(n2.Register(ctx))
	for {
		_, err := n2.Claim(ctx, "s1")
		if err == nil {
			break
		}
		if !errors.Is(err, client.ErrLeaseHeld) {
			t.Fatal(err)
		}
		// The server sees the lease lapse by its own clock, a little after this process.
		time.Sleep(20 * time.Millisecond)
	}
	net.cut.Store(false)
	must[*client.NodeInfo](t, "register again")(node.Register(ctx))
	_, err = node.PresentInteractionWithResponse(ctx, "s1", "i1", nil)
	var e *client.Error
	if !errors.As(err, &e) || !errors.Is(err, client.ErrLeaseLost) || e.Status != http.StatusConflict {
		t.Fatalf("a write at the stale epoch: %v", err)
	}
	if _, ok := node.Epoch("s1"); ok {
		t.Fatal("the node still holds s1")
	}
}
