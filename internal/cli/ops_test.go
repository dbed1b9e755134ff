package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/client"
	"github.com/ixnstore/ixnstore/internal/cli"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/internal/testserver"
)

// run runs the ixnstore command line and returns its exit code, stdout and stderr.
func run(args ...string) (int, string, string) {
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := cli.Main(ctx, args, &out, &errs)
	return code, out.String(), errs.String()
}

// errOf is the error of a call whose answer the test does not need.
func errOf[T any](_ T, err error) error { return err }

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOperatorCommands runs every operator command against a real server: its human output,
// its JSON and its exit codes.
func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	cl := testserver.NewCluster(t, testdb.URL(t))
	srv := cl.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.New(srv.URL, client.Config{Token: cl.Token})
	noErr(t, err)
	node, err := c.Node(client.NodeConfig{ID: "node-a", Address: "10.0.0.7:7000"})
	noErr(t, err)
	noErr(t, errOf(node.Register(ctx)))
	noErr(t, errOf(node.CreateSession(ctx, "s1")))
	noErr(t, errOf(node.AddInteractionWithResponse(ctx, "s1", nil, client.NewInteraction{InteractionID: "call-1", Media: "voice", Type: client.NewInteractionTypeInbound,
		Parties: []client.NewParty{{PartyID: "p1", Resource: "+15550001", State: client.Established, Role: client.NewPartyRoleCustomer},
			{PartyID: "p2", Resource: "7001", State: client.Alerting, Role: client.NewPartyRoleAgent}},
		Udata: map[string]any{"lang": "en", "vip": true}})))
	noErr(t, errOf(node.PresentInteractionWithResponse(ctx, "s1", "call-1", nil)))
	noErr(t, errOf(node.CreateRequestWithResponse(ctx, "s1", nil, client.NewRequest{RequestID: "r1", Action: client.Accept, InteractionID: "call-1", Timeout: "1h"})))

	flags := []string{"--url", srv.URL, "--token", cl.Token}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := run(append(args, flags...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		return out
	}
	has := func(out string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !regexp.MustCompile(l).MatchString(out) {
				t.Fatalf("no line matching %q in:\n%s", l, out)
			}
		}
	}

	out := ok("session", "s1")
	t.Logf("ixnstore session s1:\n%s", out)
	has(out, `(?m)^session +s1 +state +active$`, `(?m)^owner +node-a +epoch +1$`,
		`(?m)^call-1 +voice +inbound +present +yes +- `, `(?m)^  p1 +\+15550001 +customer +established `,
		`(?m)^  p2 +7001 +agent +alerting `, `(?m)^  lang +"en"$`, `(?m)^  vip +true$`)
	var state client.SessionState
	if err := json.Unmarshal([]byte(ok("session", "s1", "-o", "json")), &state); err != nil || state.LeaseEpoch != 1 || len(state.Interactions) != 1 {
		t.Fatalf("session -o json: %+v %v", state, err)
	}
	has(ok("sessions", "--node", "node-a"), `(?m)^SESSION +STATE +OWNER +EPOCH +LAST SEQ +UPDATED$`, `(?m)^s1 +active +node-a +1 +2 `)
	has(ok("nodes"), `(?m)^node-a +yes +1 +1000 +10s +\S+ \S+ +10\.0\.0\.7:7000$`)
	// The feed lists a request once every transaction older than its own has ended (on a
	// shared PostgreSQL, other people's too): wait for the stream to bring it.
	for r, err := range c.Adapter(client.AdapterOptions{}).Requests(ctx) {
		noErr(t, err)
		if r.RequestID == "r1" {
			break
		}
	}
	has(ok("requests", "--pending"), `(?m)^s1 +r1 +accept +call-1 +voice +node-a `)

	// tail --no-follow prints what is published: wait until both events are.
	for ev, err := range c.Events(ctx, client.StreamOptions{SessionID: "s1"}) {
		noErr(t, err)
		if ev.Seq == 2 {
			break
		}
	}
	out = ok("tail", "--session", "s1", "--no-follow")
	t.Logf("ixnstore tail --session s1 --no-follow:\n%s", out)
	has(out, `(?m)^\d+ +\S+ \S+ +s1 +1 +interaction\.added +\{"interactionid":"call-1"\}$`, `(?m)^\d+ +\S+ \S+ +s1 +2 +interaction\.present `)
	lines := strings.Split(strings.TrimSpace(ok("tail", "--session", "s1", "-n", "1", "-o", "json")), "\n")
	var ev client.PublishedEvent
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &ev) != nil || ev.Name != "interaction.added" {
		t.Fatalf("tail -n 1 -o json: %q", lines)
	}
	if got := ok("tail", "--session", "s1", "--after", ev.Cursor(), "--event", "interaction.present", "--no-follow"); strings.Count(got, "\n") != 1 {
		t.Fatalf("tail from a cursor, one name: %q", got)
	}

	// The node leaves: s1 is an orphan; an operator gives it to another node.
	noErr(t, node.Leave(ctx, ""))
	has(ok("orphans"), `(?m)^s1 +active +- +2 `)
	n2, err := c.Node(client.NodeConfig{ID: "node-b"})
	noErr(t, err)
	noErr(t, errOf(n2.Register(ctx)))
	has(ok("claim", "s1", "--node", "node-b"), `(?m)^claimed +s1$`, `(?m)^owner +node-b$`, `(?m)^epoch +3$`, `(?m)^restored +1 interactions$`)
	n3, err := c.Node(client.NodeConfig{ID: "node-c"})
	noErr(t, err)
	noErr(t, errOf(n3.Register(ctx)))
	if code, _, errs := run(append([]string{"claim", "s1", "--node", "node-c"}, flags...)...); code != 4 || !strings.Contains(errs, "lease_held") {
		t.Fatalf("a claim while the owner lives: exit %d: %s", code, errs)
	}
	has(ok("release", "s1", "--epoch", "3", "-o", "json"), `"lease_epoch": 4`)

	// Exit codes.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{append([]string{"session", "nope"}, flags...), 3},
		{append([]string{"release", "s1", "--epoch", "1"}, flags...), 4},           // stale epoch: lease_lost
		{[]string{"nodes", "--url", srv.URL, "--token", "ixn_not-a-token"}, 6},     // unknown token
		{[]string{"nodes", "--url", "http://127.0.0.1:1", "--token", cl.Token}, 5}, // nobody there
		{append([]string{"session"}, flags...), 2},                                 // no SID
		{append([]string{"sessions", "-o", "yaml", "--node", "n"}, flags...), 2},   // no such output
	} {
		if code, _, errs := run(tc.args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, errs)
		}
	}
}
