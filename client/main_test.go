package client_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/ixnstore/ixnstore/client"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/internal/testserver"
)

// newServer runs a server of its own for the test, on a fresh database, and a client of it
// with the admin token whose requests are recorded in calls.
func newServer(t *testing.T, args ...string) (*testserver.Cluster, *testserver.Server, *client.Client, *calls) {
	t.Helper()
	cl := testserver.NewCluster(t, testdb.URL(t))
	srv := cl.Start(args...)
	rec := &calls{}
	c, err := client.New(srv.URL, client.Config{Token: cl.Token, HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	return cl, srv, c, rec
}

// calls records the requests a client sent and the status of each answer.
type calls struct {
	mu   sync.Mutex
	sent []call
}

type call struct {
	req    *http.Request
	status int
}

func (c *calls) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.sent = append(c.sent, call{req: r, status: res.StatusCode})
		c.mu.Unlock()
	}
	return res, err
}
