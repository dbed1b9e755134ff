package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/client"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/internal/testserver"
)

// serverURL and token are the server the examples run against, started by TestMain.
var serverURL, token string

func TestMain(m *testing.M) {
	var tb testdb.MainTB
	err := tb.Do(func(t testing.TB) {
		srv := testserver.NewCluster(t, testdb.URL(t)).Start()
		serverURL, token = srv.URL, srv.Token
	})
	code := 0
	switch {
	case err == nil:
		code = m.Run()
	case strings.HasPrefix(err.Error(), "skipped:"):
		fmt.Println(err)
	default:
		fmt.Println(err)
		code = 1
	}
	tb.Close()
	os.Exit(code)
}

// A routing node: it registers, keeps its lease, creates a session and handles a call in it.
// Every write carries the session's lease epoch without being told.
func ExampleNode() {
	ctx := context.Background()
	c, _ := client.New(serverURL, client.Config{Token: token})
	node, _ := c.Node(client.NodeConfig{ID: "example-node", Lease: 5 * time.Second})
	if _, err := node.Register(ctx); err != nil {
		fmt.Println(err)
		return
	}
	hb, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		if err := node.Heartbeats(hb); err != nil {
			fmt.Println("lease lost:", err) // writes fail with ErrLeaseLost from now on
		}
	}()

	s, _ := node.CreateSession(ctx, "example-s1")
	added, err := node.AddInteractionWithResponse(ctx, s.SessionID, nil, client.NewInteraction{
		InteractionID: "example-call", Media: "voice", Type: client.NewInteractionTypeInbound,
		Parties: []client.NewParty{{PartyID: "p1", Resource: "+15550001", State: client.Alerting}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ev, _ := added.JSON201.Events[0].Typed()
	fmt.Printf("%s %s\n", added.JSON201.Events[0].Name, ev.(client.InteractionAddedEvent).Data.Interactionid)

	_, err = node.ChangePartyStateWithResponse(ctx, s.SessionID, "example-call", "p1", nil,
		client.ChangePartyStateJSONRequestBody{State: client.Dialing}) // alerting to dialing: not allowed
	fmt.Println(errors.Is(err, client.ErrInvalidTransition))
	// Output:
	// interaction.added example-call
	// true
}

// Following the published events of one session, from the start; the loop would go on
// through reconnections and server restarts, each event once, until ctx ends.
func ExampleClient_Events() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _ := client.New(serverURL, client.Config{Token: token})
	_, _ = c.CreateSessionWithResponse(ctx, nil, client.NewSession{SessionID: "example-s2"})
	_, _ = c.AddInteractionWithResponse(ctx, "example-s2", nil, client.NewInteraction{
		InteractionID: "example-chat", Media: "chat", Type: client.NewInteractionTypeInbound})
	_, _ = c.PresentInteractionWithResponse(ctx, "example-s2", "example-chat", nil)

	for ev, err := range c.Events(ctx, client.StreamOptions{SessionID: "example-s2"}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.Seq, ev.Name) // record ev.PubSeq to resume from it later (StreamOptions.After)
		if ev.Name == "interaction.present" {
			break
		}
	}
	// Output:
	// 1 interaction.added
	// 2 interaction.present
}

// The media side: every pending action request answered.
func ExampleAdapter_Run() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _ := client.New(serverURL, client.Config{Token: token})
	_, _ = c.CreateSessionWithResponse(ctx, nil, client.NewSession{SessionID: "example-s3"})
	_, _ = c.AddInteractionWithResponse(ctx, "example-s3", nil, client.NewInteraction{
		InteractionID: "example-call-3", Media: "voice", Type: client.NewInteractionTypeInbound,
		Parties: []client.NewParty{{PartyID: "p1", Resource: "7001", State: client.Alerting}}})
	_, _ = c.CreateRequestWithResponse(ctx, "example-s3", nil, client.NewRequest{
		RequestID: "example-r1", Action: client.Accept, InteractionID: "example-call-3"})

	answered := make(chan string, 1)
	adapter := c.Adapter(client.AdapterOptions{Media: "voice"})
	go func() {
		_ = adapter.Run(ctx, func(ctx context.Context, r client.Request) client.RequestOutcome {
			answered <- r.Action + " " + r.RequestID
			return client.Done() // or client.Failed(client.RequestOutcomeErrorRemote, "busy")
		})
	}()
	fmt.Println(<-answered)
	// Output: accept example-r1
}

// Refusals are one type; errors.Is tells their kind, errors.As gives the details.
func ExampleError() {
	c, _ := client.New(serverURL, client.Config{Token: token})
	_, err := c.GetSessionWithResponse(context.Background(), "no-such-session")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, errors.Is(err, client.ErrNotFound))
	}
	// Output: 404 not_found true
}
