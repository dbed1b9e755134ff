package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/console"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/auth"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server is what serve runs, in one process: the API with access on, its dispatcher and
// stream hub, the reports, and the console in front.
type server struct {
	t      *testing.T
	base   string
	tokens map[auth.Role]string
}

func newServer(t *testing.T) *server {
	t.Helper()
	pool := testdb.Pool(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	published := api.NewSignal()
	d := dispatcher.New(dispatcher.Config{
		ConnString: pool.Config().ConnString(), Instance: "console-test", PollInterval: 50 * time.Millisecond,
		Logger: logger, Published: func(int64) { published.Raise() },
	})
	wg.Go(func() { d.Run(ctx) })
	store := service.New(pool, service.Config{Written: d.Wake})
	hub, err := streamhub.New(streamhub.Config{Read: store.ListPublished, Last: store.LastPubSeq, Wake: published.C})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { hub.Run(ctx) })
	verifier := auth.NewVerifier(auth.VerifierConfig{Pool: pool, Logger: logger})
	wg.Go(func() { verifier.Run(ctx) })
	stopping := make(chan struct{})
	handler := api.New(store, logger, api.Options{Streams: hub, Stopping: stopping, Reports: reporting.New(pool),
		Access: &api.Access{Verifier: verifier, Limiter: auth.NewLimiter(nil, 0)}})
	srv := httptest.NewServer(console.New(handler, console.Config{Verifier: verifier}))
	t.Cleanup(func() {
		close(stopping)
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		wg.Wait()
	})
	s := &server{t: t, base: srv.URL, tokens: map[auth.Role]string{}}
	tokens := auth.NewStore(pool)
	for _, r := range []auth.Role{auth.RoleAdmin, auth.RoleReporting, auth.RoleAdapter} {
		secret, _, err := tokens.Create(context.Background(), auth.NewToken{Name: "console-" + string(r), Role: r})
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[r] = secret
	}
	return s
}

// call sends a request to the API as admin; it fails the test on an unexpected status.
func (s *server) call(method, path, body string, want int) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens[auth.RoleAdmin])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
}
